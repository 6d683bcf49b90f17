package syncclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// BenchmarkSyncLatency measures an edit's trip from one device's store to
// another's through the real server (courier: local commit, seal, push,
// server commit, poke, pull, open, remote commit) against a bare
// WebSocket relay on loopback TLS carrying one small message from one
// client to another (baseline).
func BenchmarkSyncLatency(b *testing.B) {
	b.Run("courier", benchCourierLatency)
	b.Run("baseline", benchRelayLatency)
}

func benchCourierLatency(b *testing.B) {
	ctx := context.Background()
	srv := startSyncServer(b)
	acct := newAccount(b, srv, "bench")
	a, c := newDevice(b, acct, "a"), newDevice(b, acct, "b")
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := model.NewID()
		a.apply(reqOp(id, "latency"))
		for got := range seen {
			if got == id {
				break
			}
		}
	}
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := from.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _, err := to.Read(rctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	from.CloseNow()
	to.CloseNow()
}
