package httprun

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
)

func TestRedirects(t *testing.T) {
	srv := newHTTPBin(t)
	tests := []struct {
		name       string
		opts       Options
		path       string
		wantStatus int
		wantKind   string
	}{
		{"not followed by default: the 3xx comes back", Options{}, "/redirect/2", http.StatusFound, ""},
		{"followed to the end", Options{FollowRedirects: true}, "/redirect/3", http.StatusOK, ""},
		{"followed up to the limit", Options{FollowRedirects: true, MaxRedirects: 3}, "/absolute-redirect/3", http.StatusOK, ""},
		{"one more than the limit fails", Options{FollowRedirects: true, MaxRedirects: 2}, "/relative-redirect/3", 0, KindTooManyRedirects},
		{"the default limit is 10", Options{FollowRedirects: true}, "/redirect/11", 0, KindTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := model.Request{URL: srv.URL + tt.path}
			if tt.wantKind != "" {
				e := sendErr(t, tt.opts, req)
				if e.Kind != tt.wantKind || !errors.Is(e, model.ErrUnavailable) {
					t.Fatalf("error %s %v", e.Kind, e)
				}
				return
			}
			res := send(t, tt.opts, req, Scope{})
			wantEqual(t, "status", res.Response.Status, tt.wantStatus)
			if tt.wantStatus == http.StatusOK && !strings.HasSuffix(res.FinalURL, "/get") {
				t.Fatalf("final URL %q", res.FinalURL)
			}
			if tt.wantStatus == http.StatusFound && res.FinalURL != res.ResolvedURL {
				t.Fatalf("final URL %q moved without following", res.FinalURL)
			}
		})
	}
	t.Run("307 keeps the method and the body", func(t *testing.T) {
		req := model.Request{Method: "PUT", URL: srv.URL + "/redirect-to?status_code=307&url=/put",
			Body: model.Body{Mode: model.BodyRaw, Raw: "again"}}
		res := send(t, Options{FollowRedirects: true}, req, Scope{})
		if res.Response.Status != 200 || !bytes.Contains(res.Body, []byte(`"data": "again"`)) && !bytes.Contains(res.Body, []byte(`"data":"again"`)) {
			t.Fatalf("status %d body %s", res.Response.Status, res.Body)
		}
	})
}

func TestCookies(t *testing.T) {
	srv := newHTTPBin(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{CookieJar: jar, FollowRedirects: true})
	res, err := r.Send(t.Context(), model.Request{URL: srv.URL + "/response-headers?Set-Cookie=k%3Dv%3B%20Path%3D%2F"}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cookies) != 1 || res.Cookies[0].Name != "k" || res.Cookies[0].Value != "v" {
		t.Fatalf("cookies %v", res.Cookies)
	}
	res, err = r.Send(t.Context(), model.Request{URL: srv.URL + "/cookies"}, Scope{})
	if err != nil || !bytes.Contains(res.Body, []byte(`"k": "v"`)) && !bytes.Contains(res.Body, []byte(`"k":"v"`)) {
		t.Fatalf("the jar did not send the cookie back: %s %v", res.Body, err)
	}
	// Without a jar nothing is kept.
	res = send(t, Options{}, model.Request{URL: srv.URL + "/cookies"}, Scope{})
	if bytes.Contains(res.Body, []byte(`"k"`)) {
		t.Fatalf("cookie sent without a jar: %s", res.Body)
	}
}

func TestCompressedBodies(t *testing.T) {
	text := strings.Repeat("compress me please ", 2000)
	var acceptEncoding atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Type", "text/plain")
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, text)
			_ = zw.Close()
		case "/raw-deflate":
			w.Header().Set("Content-Encoding", "deflate")
			zw, _ := flate.NewWriter(w, flate.BestSpeed)
			_, _ = io.WriteString(zw, text)
			_ = zw.Close()
		case "/corrupt":
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, "\x1f\x8bnot gzip at all")
		case "/empty":
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	bin := newHTTPBin(t)
	for _, path := range []string{"/gzip", "/raw-deflate"} {
		t.Run("decodes "+path, func(t *testing.T) {
			res := send(t, Options{}, model.Request{URL: srv.URL + path}, Scope{})
			if string(res.Body) != text || res.Response.Size != int64(len(text)) {
				t.Fatalf("body %d bytes, size %d, want %d", len(res.Body), res.Response.Size, len(text))
			}
			if res.WireSize <= 0 || res.WireSize >= res.Response.Size/10 {
				t.Fatalf("wire size %d for %d decoded bytes", res.WireSize, res.Response.Size)
			}
			if !hasHeader(res.Response.Headers, "Content-Encoding") {
				t.Fatalf("the server's Content-Encoding is not shown: %v", res.Response.Headers)
			}
			wantEqual(t, "accept-encoding sent", acceptEncoding.Load(), any("gzip, deflate"))
		})
	}
	t.Run("httpbin gzip and deflate", func(t *testing.T) {
		for p, field := range map[string]string{"/gzip": `"gzipped": true`, "/deflate": `"deflated": true`} {
			res := send(t, Options{}, model.Request{URL: bin.URL + p}, Scope{})
			if !bytes.Contains(res.Body, []byte(field)) {
				t.Fatalf("%s body %q", p, res.Body)
			}
		}
	})
	t.Run("an empty body with an encoding is empty", func(t *testing.T) {
		res := send(t, Options{}, model.Request{URL: srv.URL + "/empty"}, Scope{})
		if res.Response.Status != 204 || len(res.Body) != 0 {
			t.Fatalf("status %d body %q", res.Response.Status, res.Body)
		}
	})
	t.Run("a corrupt body is a decode error", func(t *testing.T) {
		e := sendErr(t, Options{}, model.Request{URL: srv.URL + "/corrupt"})
		if e.Kind != KindDecode || !strings.Contains(e.Error(), "corrupt") {
			t.Fatalf("error %s %v", e.Kind, e)
		}
	})
	t.Run("the user's Accept-Encoding is kept", func(t *testing.T) {
		send(t, Options{}, model.Request{URL: srv.URL + "/gzip", Headers: []model.KV{{Key: "Accept-Encoding", Value: "identity"}}}, Scope{})
		wantEqual(t, "accept-encoding sent", acceptEncoding.Load(), any("identity"))
	})
}

func hasHeader(h []model.KV, name string) bool {
	for _, kv := range h {
		if kv.Key == name {
			return true
		}
	}
	return false
}

// slowBody serves size bytes, writing the first chunk at once and then
// waiting for release before the rest.
func slowBody(t *testing.T, size int, release <-chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(make([]byte, size))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Run("a slow server times out", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		e := sendErr(t, Options{Timeout: 100 * time.Millisecond, TimeoutFrom: "the time-out in Settings"}, model.Request{URL: srv.URL})
		if e.Kind != KindTimeout || e.Error() != "no complete response within 100ms (the time-out in Settings)" {
			t.Fatalf("error %s %q", e.Kind, e)
		}
		e = sendErr(t, Options{Timeout: 100 * time.Millisecond}, model.Request{URL: srv.URL})
		if e.Kind != KindTimeout || e.Error() != "no complete response within 100ms" {
			t.Fatalf("error without TimeoutFrom: %s %q", e.Kind, e)
		}
	})
	t.Run("the time-out covers the body", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := slowBody(t, 1000, release)
		e := sendErr(t, Options{Timeout: 200 * time.Millisecond}, model.Request{URL: srv.URL})
		if e.Kind != KindTimeout {
			t.Fatalf("error %s %v", e.Kind, e)
		}
	})
	t.Run("canceling mid-body stops reading and leaves no file", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := slowBody(t, 200<<10, release)
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := New(Options{BodyDir: dir, MaxMemoryBody: 64 << 10}).Send(ctx, model.Request{URL: srv.URL}, Scope{})
			done <- err
		}()
		// The body spills to a file once 64 KiB are in: then cancel.
		waitFor(t, "the body file", func() bool { entries, _ := os.ReadDir(dir); return len(entries) > 0 })
		cancel()
		err := <-done
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindCanceled || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want canceled wrapping context.Canceled", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("partial body file left behind: %v", entries)
		}
	})
	t.Run("canceled before sending", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := New(Options{}).Send(ctx, model.Request{URL: "http://127.0.0.1:9/"}, Scope{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestLargeBodies(t *testing.T) {
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	t.Run("a body over MaxMemoryBody goes to a private file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "responses")
		res := send(t, Options{BodyDir: dir, MaxMemoryBody: 100 << 10}, model.Request{URL: srv.URL}, Scope{})
		if res.BodyFile == "" || res.Response.BodyFile != res.BodyFile || filepath.Dir(res.BodyFile) != dir {
			t.Fatalf("body file %q (response %q) not in %q", res.BodyFile, res.Response.BodyFile, dir)
		}
		got, err := os.ReadFile(res.BodyFile)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("file holds %d bytes (%v), want the %d sent", len(got), err, len(data))
		}
		fi, _ := os.Stat(res.BodyFile)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("file mode %v, want 0600", fi.Mode())
		}
		if !bytes.Equal(res.Body, data[:PreviewSize]) || !bytes.Equal(res.Response.Body, data[:model.HistoryBodyLimit]) || !res.Response.Truncated {
			t.Fatalf("preview %d bytes, history body %d bytes, truncated %v", len(res.Body), len(res.Response.Body), res.Response.Truncated)
		}
		if res.Response.Size != int64(len(data)) || !res.Binary {
			t.Fatalf("size %d binary %v", res.Response.Size, res.Binary)
		}
	})
	t.Run("a body in memory over the history limit is truncated for history only", func(t *testing.T) {
		res := send(t, Options{}, model.Request{URL: srv.URL}, Scope{})
		if res.BodyFile != "" || !bytes.Equal(res.Body, data) || len(res.Response.Body) != model.HistoryBodyLimit || !res.Response.Truncated {
			t.Fatalf("file %q body %d history %d truncated %v", res.BodyFile, len(res.Body), len(res.Response.Body), res.Response.Truncated)
		}
	})
	t.Run("a body file that cannot be written is a body_file error", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(blocker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		e := sendErr(t, Options{BodyDir: filepath.Join(blocker, "sub"), MaxMemoryBody: 1 << 10}, model.Request{URL: srv.URL})
		if e.Kind != KindBodyFile || !strings.Contains(e.Error(), "cannot save the response body") {
			t.Fatalf("error %s %v", e.Kind, e)
		}
	})
}

func TestReal12MiBBody(t *testing.T) {
	const size = 12 << 20
	data := make([]byte, size)
	_, _ = rand.Read(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data[:n])
	}))
	defer srv.Close()
	dir := t.TempDir()
	res := send(t, Options{BodyDir: dir}, model.Request{URL: srv.URL + "/?n=12582912"}, Scope{})
	got, err := os.ReadFile(res.BodyFile)
	if err != nil || !bytes.Equal(got, data) || res.Response.Size != size || !bytes.Equal(res.Body, data[:PreviewSize]) {
		t.Fatalf("file %q (%v) holds %d bytes, size %d, preview %d", res.BodyFile, err, len(got), res.Response.Size, len(res.Body))
	}
	res = send(t, Options{BodyDir: dir}, model.Request{URL: srv.URL + "/?n=10485760"}, Scope{})
	if res.BodyFile != "" || !bytes.Equal(res.Body, data[:10<<20]) {
		t.Fatalf("exactly 10 MiB should stay in memory: file %q, body %d", res.BodyFile, len(res.Body))
	}
}

func TestBinaryDetection(t *testing.T) {
	srv := newHTTPBin(t)
	tests := []struct {
		path   string
		binary bool
		ctype  string
	}{
		{"/image/png", true, "image/png"},
		{"/image/svg", false, "image/svg+xml"},
		{"/bytes/2048", true, "application/octet-stream"},
		{"/json", false, "application/json"},
		{"/html", false, "text/html"},
		{"/xml", false, "application/xml"},
		{"/encoding/utf8", false, "text/html"},
		{"/base64/SGVsbG8gd29ybGQ=", false, "text/plain"},
		{"/response-headers?Content-Type=application/octet-stream", false, "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := send(t, Options{}, model.Request{URL: srv.URL + tt.path}, Scope{})
			if res.Binary != tt.binary || res.Response.ContentType != tt.ctype {
				t.Fatalf("binary %v type %q, want %v %q", res.Binary, res.Response.ContentType, tt.binary, tt.ctype)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		ctype  string
		body   []byte
		binary bool
	}{
		{"no type, text", "", []byte("hello"), false},
		{"no type, PDF", "", []byte("%PDF-1.7 ..."), true},
		{"no type, control bytes", "", []byte{'a', 0, 1, 2}, true},
		{"no type, invalid UTF-8", "", []byte("abc\xff\xfe"), true},
		{"no type, UTF-8 cut at the end", "", append(bytes.Repeat([]byte("é"), 256), 0xc3), false},
		{"problem+json", "application/problem+json", []byte{0}, false},
		{"audio", "audio/mpeg", []byte("ID3"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := isBinary(mediaType(tt.ctype), tt.body); got != tt.binary {
				t.Fatalf("isBinary = %v", got)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	_ = ln.Close()
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer hangup.Close()
	tests := []struct {
		name, url, kind, says string
	}{
		{"unknown host", "http://nope.invalid/", KindDNS, `cannot resolve host "nope.invalid"`},
		{"connection refused", "http://" + closedAddr + "/", KindConnect, "cannot connect to " + closedAddr + ": "},
		{"server hangs up", hangup.URL, KindConnect, "closed the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sendErr(t, Options{Proxy: "direct"}, model.Request{URL: tt.url})
			if e.Kind != tt.kind || !strings.Contains(e.Error(), tt.says) || strings.Contains(e.Error(), "\n") {
				t.Fatalf("error %s %q, want %s saying %q", e.Kind, e, tt.kind, tt.says)
			}
			if !errors.Is(e, model.ErrUnavailable) || errors.Unwrap(e) == nil {
				t.Fatalf("%v: not ErrUnavailable, or no cause", e)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure "+r.Proto)
	}))
	defer srv.Close()
	req := model.Request{URL: srv.URL}
	t.Run("verification on rejects an unknown authority", func(t *testing.T) {
		e := sendErr(t, Options{}, req)
		want := "TLS: certificate signed by unknown authority (trust its CA certificates in Settings, or turn verification off there)"
		if e.Kind != KindTLS || e.Error() != want {
			t.Fatalf("error %s %q", e.Kind, e)
		}
	})
	t.Run("verification off accepts it", func(t *testing.T) {
		res := send(t, Options{InsecureSkipVerify: true}, req, Scope{})
		if string(res.Body) != "secure HTTP/1.1" || res.Response.Timings.TLS <= 0 {
			t.Fatalf("body %q timings %+v", res.Body, res.Response.Timings)
		}
	})
	t.Run("a trusted root verifies", func(t *testing.T) {
		pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		send(t, Options{RootCAs: pool}, req, Scope{})
	})
	t.Run("a wrong host name is refused", func(t *testing.T) {
		// The test certificate is for 127.0.0.1 and example.com, not localhost.
		pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		e := sendErr(t, Options{RootCAs: pool}, model.Request{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)})
		if e.Kind != KindTLS || !strings.Contains(e.Error(), `not valid for "localhost"`) {
			t.Fatalf("error %s %v", e.Kind, e)
		}
	})
	t.Run("https to a plain http server says so", func(t *testing.T) {
		plain := httptest.NewServer(http.NotFoundHandler())
		defer plain.Close()
		e := sendErr(t, Options{}, model.Request{URL: strings.Replace(plain.URL, "http:", "https:", 1)})
		if e.Kind != KindTLS || !strings.Contains(e.Error(), "did not answer with TLS") {
			t.Fatalf("error %s %q", e.Kind, e)
		}
	})
	t.Run("HTTP/2 when the server offers it", func(t *testing.T) {
		h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) }))
		h2.EnableHTTP2 = true
		h2.StartTLS()
		defer h2.Close()
		res := send(t, Options{InsecureSkipVerify: true}, model.Request{URL: h2.URL}, Scope{})
		if string(res.Body) != "HTTP/2.0" || res.Response.Proto != "HTTP/2.0" {
			t.Fatalf("body %q proto %q", res.Body, res.Response.Proto)
		}
	})
}

func TestProxy(t *testing.T) {
	t.Run("an explicit proxy sees the request", func(t *testing.T) {
		var seen atomic.Value
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.Store(r.Method + " " + r.URL.String())
			_, _ = io.WriteString(w, "from the proxy")
		}))
		defer proxy.Close()
		res := send(t, Options{Proxy: strings.TrimPrefix(proxy.URL, "http://")}, model.Request{Method: "PATCH", URL: "http://api.example.test/v1?x=1"}, Scope{})
		if string(res.Body) != "from the proxy" || seen.Load() != "PATCH http://api.example.test/v1?x=1" {
			t.Fatalf("body %q, proxy saw %v", res.Body, seen.Load())
		}
	})
	t.Run("HTTPS_PROXY is honoured with CONNECT for an https target", func(t *testing.T) {
		target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "tunnelled to "+r.Host)
		}))
		defer target.Close()
		var connects atomic.Value
		proxy := httptest.NewServer(connectProxy(t, target.Listener.Addr().String(), &connects))
		defer proxy.Close()
		t.Setenv("HTTPS_PROXY", proxy.URL)
		t.Setenv("HTTP_PROXY", "")
		t.Setenv("NO_PROXY", "")
		// example.com is in the test certificate; only the proxy knows where
		// it is, so an answer proves the proxy was used.
		res := send(t, Options{InsecureSkipVerify: true}, model.Request{URL: "https://www.example.com/"}, Scope{})
		if string(res.Body) != "tunnelled to www.example.com" || connects.Load() != "www.example.com:443" {
			t.Fatalf("body %q, proxy saw CONNECT %v", res.Body, connects.Load())
		}
		// "direct" ignores the environment.
		e := sendErr(t, Options{Proxy: "direct", InsecureSkipVerify: true}, model.Request{URL: "https://nope.invalid/"})
		if e.Kind != KindDNS {
			t.Fatalf("direct went through the proxy? %s %v", e.Kind, e)
		}
	})
	t.Run("a proxy refusing CONNECT is a proxy error", func(t *testing.T) {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusForbidden)
		}))
		defer proxy.Close()
		e := sendErr(t, Options{Proxy: proxy.URL}, model.Request{URL: "https://www.example.com/"})
		if e.Kind != KindProxy || !strings.Contains(e.Error(), "refused the connection: 403 Forbidden") {
			t.Fatalf("error %s %q", e.Kind, e)
		}
	})
	t.Run("an unreachable proxy is a proxy error", func(t *testing.T) {
		e := sendErr(t, Options{Proxy: "http://127.0.0.1:9"}, model.Request{URL: "http://www.example.com/"})
		if e.Kind != KindProxy || e.Error() != "cannot connect to the proxy 127.0.0.1:9: connection refused" {
			t.Fatalf("error %s %q", e.Kind, e)
		}
	})
}

// connectProxy tunnels every CONNECT to addr, recording the requested host.
func connectProxy(t *testing.T, addr string, seen *atomic.Value) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		seen.Store(r.Host)
		upstream, err := net.Dial("tcp", addr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		w.WriteHeader(http.StatusOK)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		go func() { _, _ = io.Copy(upstream, bufioReader(rw)) }()
		_, _ = io.Copy(conn, upstream)
	})
}

func bufioReader(rw *bufio.ReadWriter) io.Reader {
	_ = rw.Flush()
	return rw.Reader
}

func TestKeepAliveAndConcurrency(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Query().Get("i"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	r := New(Options{})
	defer r.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	first, err := r.Send(t.Context(), model.Request{URL: url + "/?i=first"}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if tm := first.Response.Timings; tm.DNS <= 0 || tm.Connect <= 0 {
		t.Fatalf("first request timings %+v: want DNS and connect", tm)
	}
	for range 5 {
		res, err := r.Send(t.Context(), model.Request{URL: url + "/?i=again"}, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if tm := res.Response.Timings; tm.DNS != 0 || tm.Connect != 0 || tm.FirstByte <= 0 {
			t.Fatalf("reused connection timings %+v", tm)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 6 sequential requests, want 1 (keep-alive)", n)
	}
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			want := strconv.Itoa(i)
			res, err := r.Send(t.Context(), model.Request{URL: url + "/?i=" + want}, Scope{})
			if err == nil && string(res.Body) != want {
				err = errors.New("body " + string(res.Body) + ", want " + want)
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
