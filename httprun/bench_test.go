package httprun

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// BenchmarkLocalGET sends one GET of a 1 KiB JSON body to a loopback server
// over a kept-alive connection: through a Runner (variables, trace, body
// reading, result) and, as the baseline, through a plain http.Client that
// reads the body.
func BenchmarkLocalGET(b *testing.B) {
	body := `{"items": "` + strings.Repeat("x", 1000) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()

	b.Run("httprun", func(b *testing.B) {
		r := New(Options{Proxy: "direct"})
		defer r.Close()
		req := model.Request{Method: "GET", URL: "{{base}}/items?page=1", Headers: []model.KV{{Key: "Accept", Value: "application/json"}}}
		scope := Scope{Environment: map[string]string{"base": srv.URL}}
		ctx := b.Context()
		for b.Loop() {
			res, err := r.Send(ctx, req, scope)
			if err != nil || len(res.Body) != len(body) {
				b.Fatalf("Send: %v", err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		client := &http.Client{Transport: tr}
		defer tr.CloseIdleConnections()
		for b.Loop() {
			req, err := http.NewRequestWithContext(b.Context(), "GET", srv.URL+"/items?page=1", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil || len(got) != len(body) {
				b.Fatalf("read: %v", err)
			}
		}
	})
}
