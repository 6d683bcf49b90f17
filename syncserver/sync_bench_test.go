package syncserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// quietSyncEnv is a sync server logging at info level to nowhere, with
// no rate limits.
func quietSyncEnv(b *testing.B) *syncEnv {
	return newSyncEnv(b, func(c *syncserver.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c.Sync.PushRate = syncserver.Rate{Burst: -1}
		c.Sync.MaxConnsPerAccount = 1000
	})
}

// rawConn dials the sync endpoint, says hello and reads until caught up.
func (e *syncEnv) rawConn(b *testing.B, token string) *websocket.Conn {
	b.Helper()
	ws, _, err := websocket.Dial(b.Context(), e.wsURL, e.dialOpts(token))
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	hello, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "bench", Cursor: 0})
	if err := ws.Write(b.Context(), websocket.MessageText, hello); err != nil {
		b.Fatal(err)
	}
	for {
		_, m, err := ws.Read(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(m, []byte(`"caught_up":true`)) {
			break
		}
	}
	b.Cleanup(func() { ws.CloseNow() })
	return ws
}

// startRelay starts the baseline: a bare coder/websocket server, with
// the same TLS certificate, that forwards every message of each of its
// two connections to the other.
func startRelay(b *testing.B, e *syncEnv) (string, <-chan struct{}) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var conns []*websocket.Conn
	joined := make(chan struct{}, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{syncproto.SyncSubprotocol}, CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		ws.SetReadLimit(syncproto.MaxFrameSize)
		mu.Lock()
		conns = append(conns, ws)
		mu.Unlock()
		joined <- struct{}{}
		for {
			_, m, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			mu.Lock()
			to := conns[0]
			if to == ws {
				to = conns[1]
			}
			mu.Unlock()
			if err := to.Write(context.Background(), websocket.MessageText, m); err != nil {
				return
			}
		}
	}), TLSConfig: e.srvTLS()}
	go srv.ServeTLS(ln, "", "")
	b.Cleanup(func() { srv.Close() })
	return "wss://" + ln.Addr().String() + "/relay", joined
}

// srvTLS returns a TLS config with the server's certificate.
func (e *syncEnv) srvTLS() *tls.Config {
	cert, err := syncserver.DevCertificate(filepath.Dir(e.dbPath), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// BenchmarkSyncPushToOtherConnection measures, on loopback TLS, the time
// from a push on connection A to the change arriving on connection B of
// the same account (the push is committed durably, with its fsync, before
// B is poked), beside a bare coder/websocket relay forwarding the same
// push frames from A to B, and beside the floor a durable push cannot go
// under: one bbolt transaction writing one small value (two fdatasyncs).
// It reports p50 and p99 in microseconds.
func BenchmarkSyncPushToOtherConnection(b *testing.B) {
	e := quietSyncEnv(b)
	_, token := e.account(true)
	pushFrame := func(i int) ([]byte, string) {
		op := newOp(fmt.Sprintf("r%d", i), 200, "name", "url")
		f, _ := syncproto.EncodeFrame(&syncproto.Push{Ops: []model.Op{op}})
		return f, string(op.OpID)
	}
	b.Run("courier", func(b *testing.B) {
		a, c := e.rawConn(b, token), e.rawConn(b, token)
		go drain(a)
		measureRelay(b, a, c, pushFrame)
	})
	b.Run("relay", func(b *testing.B) {
		url, joined := startRelay(b, e)
		opts := e.dialOpts("")
		a, _, err := websocket.Dial(b.Context(), url, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer a.CloseNow()
		c, _, err := websocket.Dial(b.Context(), url, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(syncproto.MaxFrameSize)
		<-joined
		<-joined
		measureRelay(b, a, c, pushFrame)
	})
	b.Run("commit-floor", func(b *testing.B) {
		db, err := bbolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		lat := make([]time.Duration, 0, b.N)
		for i := range b.N {
			start := time.Now()
			err := db.Update(func(tx *bbolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("ops"))
				if err != nil {
					return err
				}
				return bk.Put(fmt.Append(nil, i), bytes.Repeat([]byte{1}, 300))
			})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		reportPercentiles(b, lat)
	})
}

func drain(ws *websocket.Conn) {
	for {
		if _, _, err := ws.Read(context.Background()); err != nil {
			return
		}
	}
}

// measureRelay sends b.N frames on a and times each until c reads a
// message holding its op id.
func measureRelay(b *testing.B, a, c *websocket.Conn, frame func(int) ([]byte, string)) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		f, id := frame(i)
		start := time.Now()
		if err := a.Write(b.Context(), websocket.MessageText, f); err != nil {
			b.Fatal(err)
		}
		for {
			_, m, err := c.Read(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(m, []byte(id)) {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSyncDurablePushes measures durable acknowledgements with 64
// concurrent pushers (16 accounts, 4 connections each), each pushing one
// op at a time (and, as a client flushing its outbox would, 16) and
// waiting for its op ids to come back (the ack, sent once the ops are
// fsynced). Beside it, the baseline: the same number of goroutines
// writing one small value per bbolt transaction, one fsync each, as a
// store without group commit would.
func BenchmarkSyncDurablePushes(b *testing.B) {
	const accounts, perAccount = 16, 4
	for _, batch := range []int{1, 16} {
		name := "courier"
		if batch > 1 {
			name = fmt.Sprintf("courier-%d-op-pushes", batch)
		}
		b.Run(name, func(b *testing.B) { benchDurablePushes(b, accounts, perAccount, batch) })
	}
	b.Run("baseline", func(b *testing.B) {
		db, err := bbolt.Open(filepath.Join(b.TempDir(), "base.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		runWorkers(b, b.N, accounts*perAccount, func(w, i int) {
			err := db.Update(func(tx *bbolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("ops"))
				if err != nil {
					return err
				}
				return bk.Put(fmt.Appendf(nil, "%d-%d", w, i), bytes.Repeat([]byte{1}, 140))
			})
			if err != nil {
				b.Error(err)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	})
}

// benchDurablePushes runs b.N pushes of batch ops each over
// accounts*perAccount connections and reports ops/s.
func benchDurablePushes(b *testing.B, accounts, perAccount, batch int) {
	e := quietSyncEnv(b)
	var conns []*websocket.Conn
	for range accounts {
		acct, token := e.account(true)
		conns = append(conns, e.rawConn(b, token))
		for range perAccount - 1 {
			conns = append(conns, e.rawConn(b, e.session(acct)))
		}
	}
	pushes := b.N // ns/op is per push
	groups0, writes0 := e.store.CommitStats()
	start := time.Now()
	runWorkers(b, pushes, len(conns), func(w, i int) {
		ops := make([]model.Op, batch)
		for j := range ops {
			ops[j] = newOp(fmt.Sprintf("r%d-%d-%d", w, i, j), 100)
		}
		f, _ := syncproto.EncodeFrame(&syncproto.Push{Ops: ops})
		ws := conns[w]
		if err := ws.Write(context.Background(), websocket.MessageText, f); err != nil {
			b.Error(err)
			return
		}
		last := []byte(ops[batch-1].OpID)
		for { // the other connections' ops of this account arrive too
			_, m, err := ws.Read(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			if bytes.Contains(m, last) {
				return
			}
		}
	})
	b.ReportMetric(float64(pushes*batch)/time.Since(start).Seconds(), "ops/s")
	reportGroups(b, e, groups0, writes0)
}

// reportGroups reports the mean number of writes per group commit since
// the store had committed groups0 groups of writes0 writes.
func reportGroups(b *testing.B, e *syncEnv, groups0, writes0 int64) {
	groups, writes := e.store.CommitStats()
	if groups > groups0 {
		b.ReportMetric(float64(writes-writes0)/float64(groups-groups0), "writes/group")
	}
}

// runWorkers runs total calls of fn spread over n goroutines; fn gets
// the worker and its call number.
func runWorkers(b *testing.B, total, n int, fn func(w, i int)) {
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range n {
		calls := total / n
		if w < total%n {
			calls++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				fn(w, i)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
}
