package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// BenchmarkSend compares a whole App.Send (variables, auth, httprun, and the
// history entry written to a real bbolt file with fsync) with a bare
// net/http GET of the same 1 KiB response on loopback.
func BenchmarkSend(b *testing.B) {
	body := make([]byte, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	for _, v := range []struct {
		name   string
		nosync bool
	}{{"courier", false}, {"courier-nosync", true}} {
		b.Run(v.name, func(b *testing.B) { benchCourier(b, srv.URL, v.nosync) })
	}
	b.Run("baseline", func(b *testing.B) {
		client := &http.Client{}
		for b.Loop() {
			resp, err := client.Get(srv.URL + "/x")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

// benchCourier sends with a whole App; nosync skips fsync in the store, to
// tell the disk's share from the code's.
func benchCourier(b *testing.B, url string, nosync bool) {
	ctx := context.Background()
	{
		db, err := store.Open(ctx, b.TempDir(), store.Options{NoSync: nosync})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		a, err := app.New(db, app.Options{})
		if err != nil {
			b.Fatal(err)
		}
		req := model.Request{Method: "GET", URL: url + "/x"}
		b.ResetTimer()
		for b.Loop() {
			res, err := a.Send(ctx, req)
			if err != nil || res.HistoryErr != nil {
				b.Fatal(err, res.HistoryErr)
			}
		}
	}
}
