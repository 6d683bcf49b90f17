package app_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// linkServer serves /c/TOKEN as a collection link does: JSON when asked
// for it, else an HTML page; /big a file larger than the tests' cap;
// /away a redirect to a plain-http host that is not loopback.
func linkServer(t *testing.T, collection []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(linkMux(collection))
	t.Cleanup(srv.Close)
	return srv
}

// linkMux is the handler of linkServer.
func linkMux(collection []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/c/{token}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("token") {
		case "tok":
		case "revoked": // as courier-server answers
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"this link does not exist: it was revoked,\u001b[31m it expired, or it was mistyped"}}`)
			return
		default:
			http.NotFound(w, r)
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Open this link in Courier</body></html>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(collection)))
		_, _ = w.Write(collection)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 2<<20))
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.invalid/c/tok", http.StatusFound)
	})
	return mux
}

// A link of the account's own server is fetched trusting the CA file given
// at sign-in (a self-hosted or dev server's); another server's is not.
func TestImportURLTrustsTheAccountServersCA(t *testing.T) {
	srv := httptest.NewTLSServer(linkMux(genImportCollection(2)))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, server string
		ok           bool
	}{
		{"the account's server", srv.URL, true},
		{"the same server named localhost", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), true},
		{"another server", "https://127.0.0.1:1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newApp(t, app.Options{})
			if err := db.SetSetting(context.Background(), "app.account", app.Account{ServerURL: tt.server, CAFile: caFile}); err != nil {
				t.Fatal(err)
			}
			_, err := a.ImportURL(context.Background(), srv.URL+"/c/tok", app.ImportOptions{})
			if tt.ok && err != nil {
				t.Fatalf("import from the account's server: %v", err)
			}
			if !tt.ok && (!errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "unknown authority")) {
				t.Fatalf("import trusting another server's CA: err = %v, want an untrusted certificate", err)
			}
		})
	}
}

// The CA certificates that requests trust (Settings, or the import's own
// CAFile) serve links too: a profile never signed in can open a link of a
// server with a private CA.
func TestImportURLTrustsTheCAOfTheSettings(t *testing.T) {
	srv := httptest.NewTLSServer(linkMux(genImportCollection(2)))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, db := newApp(t, app.Options{})
	if _, err := a.ImportURL(ctx, srv.URL+"/c/tok", app.ImportOptions{CAFile: caFile}); err != nil {
		t.Fatalf("import with the CA given: %v", err)
	}
	s, err := a.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.CAFile = caFile
	if err := a.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ImportURL(ctx, srv.URL+"/c/tok", app.ImportOptions{}); err != nil {
		t.Fatalf("import with the CA of the settings: %v", err)
	}
	if c := counts(t, db); c[model.KindCollection] != 2 {
		t.Fatalf("%d collections, want 2", c[model.KindCollection])
	}
	_, err = a.ImportURL(ctx, srv.URL+"/c/tok", app.ImportOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")})
	if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("import with a missing CA file: %v, want it named", err)
	}
}

func TestImportURLFetchesALinkAsJSON(t *testing.T) {
	srv := linkServer(t, genImportCollection(10))
	a, _ := newApp(t, app.Options{})
	var last, total int64
	s, err := a.ImportURL(context.Background(), srv.URL+"/c/tok", app.ImportOptions{Progress: func(r, tot int64) { last, total = r, tot }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Lines(), ""); got != `collection "Generated": 1 folder, 10 requests, 1 variable` {
		t.Errorf("summary %q", got)
	}
	if last == 0 || last != total {
		t.Errorf("progress ended at %d of %d", last, total)
	}
}

func TestImportURLRefusesWhatItMustNotFetch(t *testing.T) {
	srv := linkServer(t, genImportCollection(1))
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, url string
		opts      app.ImportOptions
		want      error
		says      string
	}{
		{"plain http to another host", "http://example.invalid/c/tok", app.ImportOptions{}, model.ErrInvalid, "only https"},
		{"a redirect to plain http", srv.URL + "/away", app.ImportOptions{}, model.ErrInvalid, "only https"},
		{"another scheme", "file:///etc/passwd", app.ImportOptions{}, model.ErrInvalid, "only https"},
		{"not a URL", "petstore.json", app.ImportOptions{}, model.ErrInvalid, "not a URL"},
		{"an unknown link", srv.URL + "/c/nope", app.ImportOptions{}, model.ErrNotFound, "404"},
		{"a revoked link, in the server's words", srv.URL + "/c/revoked", app.ImportOptions{}, model.ErrNotFound, "404 Not Found (this link does not exist: it was revoked,[31m it expired, or it was mistyped)"},
		{"more than the cap", srv.URL + "/big", app.ImportOptions{MaxSize: 1 << 20}, model.ErrTooLarge, "larger than"},
		{"a server of an unknown CA", untrusted.URL + "/c/tok", app.ImportOptions{}, model.ErrUnavailable, ": TLS: certificate signed by unknown authority"},
		{"nothing listening", closed.URL + "/c/tok", app.ImportOptions{}, model.ErrUnavailable, ": cannot connect to " + strings.TrimPrefix(closed.URL, "http://") + ": connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newApp(t, app.Options{})
			_, err := a.ImportURL(context.Background(), tt.url, tt.opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.want, tt.says)
			}
			if c := counts(t, db); c[model.KindCollection] != 0 {
				t.Errorf("%d collections stored", c[model.KindCollection])
			}
		})
	}
}
