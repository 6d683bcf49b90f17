package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	mux := http.NewServeMux()
	mux.HandleFunc("/c/{token}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("token") != "tok" {
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
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
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
