package httprun

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestSendBodyModes(t *testing.T) {
	srv := newHTTPBin(t)
	dir := t.TempDir()
	filePath := filepath.Join(dir, "photo.png")
	fileData := []byte("\x89PNG\r\n\x1a\nnot really a picture")
	if err := os.WriteFile(filePath, fileData, 0o600); err != nil {
		t.Fatal(err)
	}
	scope := Scope{Environment: map[string]string{"name": "Ada", "file": filePath}}
	tests := []struct {
		name   string
		body   model.Body
		header []model.KV
		check  func(t *testing.T, e echo)
	}{
		{"no body", model.Body{}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "data", e.Data, "")
			wantEqual(t, "content-type", e.Headers["Content-Type"], []string(nil))
		}},
		{"raw JSON gets a JSON content type", model.Body{Mode: model.BodyRaw, Language: model.LangJSON, Raw: `{"name": "{{name}}"}`}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "content-type", e.Headers["Content-Type"], []string{"application/json"})
			wantEqual[any](t, "json", e.JSON, map[string]any{"name": "Ada"})
		}},
		{"raw text gets text/plain", model.Body{Mode: model.BodyRaw, Language: model.LangText, Raw: "hi {{name}}"}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "content-type", e.Headers["Content-Type"], []string{"text/plain"})
			wantEqual(t, "data", e.Data, "hi Ada")
		}},
		{"raw XML keeps the user's content type", model.Body{Mode: model.BodyRaw, Language: model.LangXML, Raw: "<a/>"},
			[]model.KV{{Key: "content-type", Value: "text/html"}}, func(t *testing.T, e echo) {
				wantEqual(t, "content-type", e.Headers["Content-Type"], []string{"text/html"})
				wantEqual(t, "data", e.Data, "<a/>")
			}},
		{"urlencoded in order, disabled rows left out", model.Body{Mode: model.BodyURLEncoded, URLEncoded: []model.KV{
			{Key: "b", Value: "x y&z"}, {Key: "off", Value: "1", Disabled: true}, {Key: "a", Value: "{{name}}"}}}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "content-type", e.Headers["Content-Type"], []string{"application/x-www-form-urlencoded"})
			wantEqual(t, "form", e.Form, map[string][]string{"a": {"Ada"}, "b": {"x y&z"}})
		}},
		{"multipart with text and file parts", model.Body{Mode: model.BodyFormData, FormData: []model.KV{
			{Key: "who", Value: "{{name}}"},
			{Key: "meta", Value: `{"a":1}`, ContentType: "application/json"},
			{Key: "off", Value: "1", Disabled: true},
			{Key: "pic", Type: "file", Src: "{{file}}"}}}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "form", e.Form, map[string][]string{"who": {"Ada"}, "meta": {`{"a":1}`}})
			wantEqual(t, "files", e.Files, map[string][]string{"pic": {strings.ToValidUTF8(string(fileData), "\uFFFD")}}) // JSON cannot carry the 0x89
			if !strings.HasPrefix(e.Headers["Content-Type"][0], "multipart/form-data; boundary=") {
				t.Fatalf("content type %v", e.Headers["Content-Type"])
			}
		}},
		{"binary file with its type by extension", model.Body{Mode: model.BodyFile, File: filePath}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "content-type", e.Headers["Content-Type"], []string{"image/png"})
			wantEqual(t, "data", e.Data, "data:image/png;base64,"+base64.URLEncoding.EncodeToString(fileData))
		}},
		{"GraphQL as JSON with variables", model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{
			Query: "query($n: String) { user(name: $n) { id } }", Variables: `{"n": "{{name}}"}`}}, nil, func(t *testing.T, e echo) {
			wantEqual[any](t, "json", e.JSON, map[string]any{"query": "query($n: String) { user(name: $n) { id } }", "variables": map[string]any{"n": "Ada"}})
		}},
		{"a disabled body is not sent", model.Body{Mode: model.BodyRaw, Raw: "secret", Disabled: true}, nil, func(t *testing.T, e echo) {
			wantEqual(t, "data", e.Data, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := model.Request{Method: "POST", URL: srv.URL + "/anything", Body: tt.body, Headers: tt.header}
			_, e := sendEcho(t, req, scope)
			wantEqual(t, "method", e.Method, "POST")
			tt.check(t, e)
		})
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func TestSendBodyFileErrors(t *testing.T) {
	srv := newHTTPBin(t)
	missing := filepath.Join(t.TempDir(), "gone.bin")
	tests := []struct {
		name string
		body model.Body
		kind string
		says string
	}{
		{"missing binary file", model.Body{Mode: model.BodyFile, File: missing}, KindBodyFile, "cannot read the body file"},
		{"a folder as binary file", model.Body{Mode: model.BodyFile, File: t.TempDir()}, KindBodyFile, "not a regular file"},
		{"missing form file", model.Body{Mode: model.BodyFormData, FormData: []model.KV{{Key: "f", Type: "file", Src: missing}}}, KindBodyFile, `form field "f"`},
		{"form file not chosen", model.Body{Mode: model.BodyFormData, FormData: []model.KV{{Key: "f", Type: "file"}}}, KindBodyFile, "no file chosen"},
		{"GraphQL variables not JSON", model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{Query: "{a}", Variables: "{x"}}, KindInvalidBody, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sendErr(t, Options{}, model.Request{Method: "POST", URL: srv.URL + "/anything", Body: tt.body})
			if e.Kind != tt.kind || !strings.Contains(e.Error(), tt.says) {
				t.Fatalf("error %s %q, want %s saying %q", e.Kind, e, tt.kind, tt.says)
			}
		})
	}
}

func TestSendAuth(t *testing.T) {
	srv := newHTTPBin(t)
	scope := Scope{Environment: map[string]string{"tok": "s3cret", "user": "ada"}}
	tests := []struct {
		name  string
		auth  model.Auth
		check func(t *testing.T, e echo)
	}{
		{"inherit is sent as none", model.Auth{}, func(t *testing.T, e echo) {
			wantEqual(t, "authorization", e.Headers["Authorization"], []string(nil))
		}},
		{"noauth", auth(model.AuthNone), func(t *testing.T, e echo) {
			wantEqual(t, "authorization", e.Headers["Authorization"], []string(nil))
		}},
		{"bearer token with a variable", auth(model.AuthBearer, "token", "{{tok}}"), func(t *testing.T, e echo) {
			wantEqual(t, "authorization", e.Headers["Authorization"], []string{"Bearer s3cret"})
		}},
		{"basic", auth(model.AuthBasic, "username", "{{user}}", "password", "p:w"), func(t *testing.T, e echo) {
			wantEqual(t, "authorization", e.Headers["Authorization"], []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("ada:p:w"))})
		}},
		{"API key in a header by default", auth(model.AuthAPIKey, "key", "X-Api-Key", "value", "{{tok}}"), func(t *testing.T, e echo) {
			wantEqual(t, "api key", e.Headers["X-Api-Key"], []string{"s3cret"})
		}},
		{"API key in the query", auth(model.AuthAPIKey, "key", "api key", "value", "a&b", "in", "query"), func(t *testing.T, e echo) {
			wantEqual(t, "args", e.Args, map[string][]string{"x": {"1"}, "api key": {"a&b"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := model.Request{Method: "GET", URL: srv.URL + "/anything?x=1", Auth: tt.auth}
			_, e := sendEcho(t, req, scope)
			tt.check(t, e)
		})
	}
	t.Run("httpbin accepts the bearer and basic credentials", func(t *testing.T) {
		res := send(t, Options{}, model.Request{URL: srv.URL + "/bearer", Auth: auth(model.AuthBearer, "token", "{{tok}}")}, scope)
		wantEqual(t, "bearer status", res.Response.Status, 200)
		res = send(t, Options{}, model.Request{URL: srv.URL + "/basic-auth/ada/pw", Auth: auth(model.AuthBasic, "username", "ada", "password", "pw")}, scope)
		wantEqual(t, "basic status", res.Response.Status, 200)
		res = send(t, Options{}, model.Request{URL: srv.URL + "/basic-auth/ada/pw", Auth: auth(model.AuthBasic, "username", "ada", "password", "no")}, scope)
		wantEqual(t, "wrong basic status", res.Response.Status, 401)
	})
	t.Run("an unsupported type is sent without auth and warned about", func(t *testing.T) {
		res := send(t, Options{}, model.Request{URL: srv.URL + "/get", Auth: auth("digest", "username", "a")}, scope)
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"digest" is not supported`) {
			t.Fatalf("warnings %v", res.Warnings)
		}
	})
}

func TestSendMethodsHeadersAndURL(t *testing.T) {
	srv := newHTTPBin(t)
	scope := Scope{Environment: map[string]string{"base": srv.URL, "v": "two words", "h": "X-From-Var"}}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "PURGE", "report"} {
		t.Run("method "+m, func(t *testing.T) {
			_, e := sendEcho(t, model.Request{Method: m, URL: "{{base}}/anything"}, scope)
			wantEqual(t, "method", e.Method, m)
		})
	}
	t.Run("HEAD reads no body", func(t *testing.T) {
		res := send(t, Options{}, model.Request{Method: "HEAD", URL: srv.URL + "/get"}, scope)
		if res.Response.Status != 200 || len(res.Body) != 0 || res.Response.Size != 0 {
			t.Fatalf("status %d body %q", res.Response.Status, res.Body)
		}
	})
	t.Run("headers resolved, disabled and empty rows left out, defaults added", func(t *testing.T) {
		res, e := sendEcho(t, model.Request{Method: "GET", URL: "{{base}}/anything?q={{v}}&r=a|b#frag", Headers: []model.KV{
			{Key: "{{h}}", Value: "{{v}}"},
			{Key: "X-Multi", Value: "1"}, {Key: "x-multi", Value: "2"},
			{Key: "X-Off", Value: "1", Disabled: true},
			{Key: "", Value: "orphan"},
		}}, scope)
		wantEqual(t, "var header", e.Headers["X-From-Var"], []string{"two words"})
		wantEqual(t, "multi header", e.Headers["X-Multi"], []string{"1", "2"})
		wantEqual(t, "disabled header", e.Headers["X-Off"], []string(nil))
		wantEqual(t, "user agent", e.Headers["User-Agent"], []string{"Courier"})
		wantEqual(t, "args", e.Args, map[string][]string{"q": {"two words"}, "r": {"a|b"}})
		wantEqual(t, "resolved URL", res.ResolvedURL, srv.URL+"/anything?q=two%20words&r=a%7Cb")
	})
	t.Run("the user's User-Agent and Host win", func(t *testing.T) {
		_, e := sendEcho(t, model.Request{URL: srv.URL + "/anything", Headers: []model.KV{
			{Key: "User-Agent", Value: "mine/1"}, {Key: "Host", Value: "virtual.test"}}}, scope)
		wantEqual(t, "user agent", e.Headers["User-Agent"], []string{"mine/1"})
		if !strings.Contains(e.URL, "virtual.test") {
			t.Fatalf("host not sent: url %q", e.URL)
		}
	})
	t.Run("a URL without scheme is http", func(t *testing.T) {
		res := send(t, Options{}, model.Request{URL: strings.TrimPrefix(srv.URL, "http://") + "/get"}, scope)
		wantEqual(t, "status", res.Response.Status, 200)
	})
}

func TestSendInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		req  model.Request
		kind string
		says string
	}{
		{"empty URL", model.Request{URL: "  "}, KindInvalidURL, "the URL is empty"},
		{"unsupported scheme", model.Request{URL: "ftp://files.test/a"}, KindUnsupportedScheme, `unsupported scheme "ftp"`},
		{"no host", model.Request{URL: "http:///path"}, KindInvalidURL, "has no host"},
		{"unresolved host", model.Request{URL: "http://{{host}}/x"}, KindInvalidURL, `invalid URL "http://{{host}}/x"`},
		{"bad port", model.Request{URL: "http://localhost:99999/"}, KindInvalidURL, `invalid port "99999"`},
		{"bad method", model.Request{Method: "GE T", URL: "http://localhost/"}, KindInvalidMethod, `invalid method "GE T"`},
		{"bad header name", model.Request{URL: "http://localhost/", Headers: []model.KV{{Key: "Bad Name", Value: "v"}}}, KindInvalidHeader, `cannot send header "Bad Name"`},
		{"line break in a header", model.Request{URL: "http://localhost/", Headers: []model.KV{{Key: "X", Value: "a{{nl}}b"}}}, KindInvalidHeader, "line break"},
		{"cyclic variable", model.Request{URL: "http://localhost/{{a}}"}, KindVariable, `URL: variable "a" refers to itself`},
		{"line break in a bearer token", model.Request{URL: "http://localhost/", Auth: auth(model.AuthBearer, "token", "a\nb")}, KindInvalidHeader, `auth header "Authorization"`},
		{"invalid proxy", model.Request{URL: "http://localhost/"}, KindProxy, "unsupported proxy scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Proxy: "direct"}
			if tt.kind == KindProxy {
				opts.Proxy = "ftp://proxy.test"
			}
			res, err := New(opts).Send(t.Context(), tt.req, Scope{Environment: map[string]string{"a": "{{a}}", "nl": "\n"}})
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || !strings.Contains(e.Error(), tt.says) {
				t.Fatalf("Send = %v, %v; want %s saying %q", res, err, tt.kind, tt.says)
			}
			if tt.kind != KindProxy && !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("%v does not match model.ErrInvalid", err)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	srv := newHTTPBin(t)
	res := send(t, Options{}, model.Request{URL: srv.URL + "/json"}, Scope{})
	if res.Binary || res.Response.ContentType != "application/json" || res.Response.Truncated {
		t.Fatalf("binary %v type %q truncated %v", res.Binary, res.Response.ContentType, res.Response.Truncated)
	}
	if !json.Valid(res.Body) || int64(len(res.Body)) != res.Response.Size || string(res.Response.Body) != string(res.Body) {
		t.Fatalf("body %d bytes, size %d", len(res.Body), res.Response.Size)
	}
	if res.Response.StatusText != "OK" || res.Response.Proto != "HTTP/1.1" {
		t.Fatalf("status text %q proto %q", res.Response.StatusText, res.Response.Proto)
	}
	tm := res.Response.Timings
	if tm.Connect <= 0 || tm.FirstByte < tm.Connect || tm.Total < tm.FirstByte || tm.DNS != 0 || tm.TLS != 0 {
		t.Fatalf("timings %+v", tm)
	}
}

func TestSendMultipartParts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, `we"ird.json`) // a type Go knows without /etc/mime.types
	if err := os.WriteFile(path, []byte(`{"a": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	type part struct{ name, file, ctype, data string }
	var got []part
	var length int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		length = r.ContentLength
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			got = append(got, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
		}
	}))
	defer srv.Close()
	res := send(t, Options{}, model.Request{Method: "POST", URL: srv.URL, Body: model.Body{Mode: model.BodyFormData, FormData: []model.KV{
		{Key: "text", Value: "plain"},
		{Key: "typed", Value: "<x/>", ContentType: "application/xml"},
		{Key: "upload", Type: "file", Src: path},
		{Key: "upload2", Type: "file", Src: path, ContentType: "text/plain"},
	}}, Headers: []model.KV{{Key: "Content-Type", Value: "multipart/form-data"}}}, Scope{})
	want := []part{
		{"text", "", "", "plain"},
		{"typed", "", "application/xml", "<x/>"},
		{"upload", `we"ird.json`, "application/json", `{"a": 1}`},
		{"upload2", `we"ird.json`, "text/plain", `{"a": 1}`},
	}
	wantEqual(t, "parts", got, want)
	if length <= 0 {
		t.Fatalf("no Content-Length sent (%d): the multipart length is known in advance", length)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "boundary") {
		t.Fatalf("warnings %v, want one about the replaced Content-Type", res.Warnings)
	}
}

func TestSendOptions(t *testing.T) {
	var method string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method = r.Method
		w.Header().Set("Allow", "GET, OPTIONS")
	}))
	defer srv.Close()
	res := send(t, Options{}, model.Request{Method: "OPTIONS", URL: srv.URL}, Scope{})
	wantEqual(t, "method", method, "OPTIONS")
	wantEqual(t, "allow", res.Response.Headers[0], model.KV{Key: "Allow", Value: "GET, OPTIONS"})
}
