package syncserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// benchSnapshot is a collection of n requests in folders of ten.
func benchSnapshot(n int) json.RawMessage {
	var folders []any
	for f := 0; f < n/10; f++ {
		var items []any
		for r := 0; r < 10; r++ {
			items = append(items, map[string]any{"name": fmt.Sprint("request ", f*10+r), "request": map[string]any{
				"method": "POST", "url": map[string]any{"raw": fmt.Sprintf("https://api.example.com/v1/things/%d?expand=all", r)},
				"header": []any{map[string]any{"key": "Content-Type", "value": "application/json"}},
				"body":   map[string]any{"mode": "raw", "raw": `{"name": "{{name}}", "count": 3}`}}})
		}
		folders = append(folders, map[string]any{"name": fmt.Sprint("folder ", f), "item": items})
	}
	b, _ := json.Marshal(map[string]any{"info": map[string]any{"name": "Bench", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": folders})
	return b
}

// BenchmarkPublicLink serves a 200-request link in-process (handler only,
// no TLS) as JSON and as the HTML page, beside a bare handler writing the
// same bytes: the difference is the token hash, the rate limiter, the
// bbolt read and, for the page, parsing and rendering.
func BenchmarkPublicLink(b *testing.B) {
	e, tok := linkEnv(b, func(c *syncserver.Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	snap := benchSnapshot(200)
	info, perr := call[syncproto.LinkInfo](e, "POST", syncproto.PathLinks, tok["ann"], syncproto.CreateLinkRequest{Collection: snap})
	mustOK(b, "create", perr)
	h := e.srv.Handler()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(snap)
	})
	serve := func(b *testing.B, h http.Handler, accept string) {
		b.ReportAllocs()
		b.SetBytes(int64(len(snap)))
		for b.Loop() {
			req := httptest.NewRequest("GET", "https://localhost/c/"+info.Token, nil)
			req.Header.Set("Accept", accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	}
	b.Run("json/courier", func(b *testing.B) { serve(b, h, "application/json") })
	b.Run("json/baseline", func(b *testing.B) { serve(b, bare, "application/json") })
	b.Run("html/courier", func(b *testing.B) { serve(b, h, browserAccept) })
	b.Run("html/baseline", func(b *testing.B) { serve(b, bare, browserAccept) })
}
