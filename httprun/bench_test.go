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
// reads the body. Besides the time, each reports cpu-ns/op: the CPU time of
// the whole process (client and server) per request, which a busy machine
// disturbs less than the wall-clock time.
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
		defer reportCPU(b)()
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
		defer reportCPU(b)()
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

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per iteration.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if used := processCPU() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
