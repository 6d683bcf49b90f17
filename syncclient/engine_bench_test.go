package syncclient_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver/servertest"
)

// BenchmarkSyncLatency measures an edit's trip from one device's store to
// another's through the real server (courier: local commit, seal, push,
// server commit, poke, pull, open, remote commit; all three commits
// fsynced; each device reaches the server through a loopback TCP relay) against a bare
// WebSocket relay on loopback TLS carrying one small message from one
// client to another (baseline).
func BenchmarkSyncLatency(b *testing.B) {
	b.Run("courier", benchCourierLatency)
	b.Run("baseline", benchRelayLatency)
}

func benchCourierLatency(b *testing.B) {
	ctx := context.Background()
	acct := servertest.Start(b, servertest.Options{}).NewAccount(b, "bench")
	// Both stores fsync every commit, as the app's do.
	a, c := newDurableDevice(b, acct, "a"), newDurableDevice(b, acct, "b")
	seen := make(chan model.ID, 1)
	stop := c.db.Subscribe(func(ch app.Changes) {
		if ch.Remote {
			for _, k := range ch.Keys {
				seen <- k.ID
			}
		}
	})
	defer stop()
	for _, d := range []*device{a, c} {
		if err := d.sync.Start(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := model.NewID()
		start := time.Now()
		a.apply(reqOp(id, "latency"))
		for got := range seen {
			if got == id {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// reportPercentiles adds the p50 and p99 of lat to b's metrics.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func benchRelayLatency(b *testing.B) {
	ctx := context.Background()
	conns := make(chan *websocket.Conn, 2)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conns <- ws
		<-r.Context().Done()
	}))
	defer srv.Close()
	dial := func() *websocket.Conn {
		ws, _, err := websocket.Dial(ctx, "wss"+srv.URL[len("https"):], &websocket.DialOptions{HTTPClient: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		return ws
	}
	from, to := dial(), dial()
	in, out := <-conns, <-conns
	relay := func(src, dst *websocket.Conn) {
		for {
			_, msg, err := src.Read(ctx)
			if err != nil {
				return
			}
			if err := dst.Write(ctx, websocket.MessageText, msg); err != nil {
				return
			}
		}
	}
	// Both ways, so the order the server accepted them in does not matter.
	go relay(in, out)
	go relay(out, in)
	msg := make([]byte, 300)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := from.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _, err := to.Read(rctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
	from.CloseNow()
	to.CloseNow()
}

// BenchmarkPushOutbox measures pushing a merged outbox (the first sync of
// a profile with local work) per op: seal, push in batches, server
// commit, echo, apply (courier); against the same number of frames of the
// same size sent one way over a bare WebSocket on loopback TLS and
// answered once at the end (baseline).
func BenchmarkPushOutbox(b *testing.B) {
	op := reqOp(model.NewID(), "a request of ordinary size")
	op.Fields["url"] = []byte(`"https://api.example.com/v1/things/{{id}}?expand=owner"`)
	op.Fields["headers"] = []byte(`[{"key":"Accept","value":"application/json"},{"key":"Authorization","value":"Bearer {{token}}"}]`)
	b.Run("courier", func(b *testing.B) {
		ctx := context.Background()
		acct := servertest.Start(b, servertest.Options{}).NewAccount(b, "push")
		d := newDevice(b, acct, "a")
		ops := make([]model.Op, b.N)
		for i := range ops {
			ops[i] = model.Op{OpID: model.NewID(), Kind: op.Kind, ID: model.NewID(), Fields: op.Fields}
		}
		if err := d.db.Apply(ctx, ops...); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		sum, err := d.sync.Once(ctx)
		if err != nil || sum.Pushed != b.N {
			b.Fatalf("Once = %+v, %v", sum, err)
		}
	})
	b.Run("baseline", func(b *testing.B) {
		sealedSize := 0
		for k, v := range op.Fields {
			sealedSize += len(k) + (len(v)+41)*4/3 + 8
		}
		benchOneWay(b, sealedSize+80)
	})
}

func benchOneWay(b *testing.B, size int) {
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ws.SetReadLimit(-1)
		for n := 0; ; n++ {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if string(msg) == "done" {
				_ = ws.Write(ctx, websocket.MessageText, []byte(fmt.Sprint(n)))
			}
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.Dial(ctx, "wss"+srv.URL[len("https"):], &websocket.DialOptions{HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	msg := make([]byte, size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte("done")); err != nil {
		b.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		b.Fatal(err)
	}
}
