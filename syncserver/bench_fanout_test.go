package syncserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// fanoutAccounts and fanoutRate shape BenchmarkSyncFanout: two devices per
// account, changes per second over all accounts.
const (
	fanoutAccounts = 500
	fanoutRate     = 1000
)

// fanoutLoad is a set of device pairs (one pair per account) and the
// latencies measured so far.
type fanoutLoad struct {
	pairs [][2]*websocket.Conn
	mu    sync.Mutex
	sent  map[string]fanoutSend // op id -> push
	lat   []time.Duration
}

type fanoutSend struct {
	at   time.Time
	from *websocket.Conn
}

// read records, for every change of another device's op that conn
// receives, the time since that op was pushed. parse turns a message into
// its op ids.
func (l *fanoutLoad) read(conn *websocket.Conn, parse func([]byte) []string) {
	for {
		_, m, err := conn.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		for _, id := range parse(m) {
			l.mu.Lock()
			if s, ok := l.sent[id]; ok && s.from != conn {
				l.lat = append(l.lat, now.Sub(s.at))
				delete(l.sent, id)
			}
			l.mu.Unlock()
		}
	}
}

// run pushes n changes at fanoutRate per second, round robin over the
// accounts and alternating their devices, and waits until each arrived
// on the other device (or 10 s passed).
func (l *fanoutLoad) run(b *testing.B, n int, frame func(opID string) []byte) {
	l.mu.Lock()
	l.sent, l.lat = map[string]fanoutSend{}, l.lat[:0]
	l.mu.Unlock()
	start := time.Now()
	b.ResetTimer()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / fanoutRate)))
		pair := l.pairs[i%len(l.pairs)]
		from := pair[(i/len(l.pairs))%2]
		id := string(model.NewID())
		f := frame(id)
		l.mu.Lock()
		l.sent[id] = fanoutSend{at: time.Now(), from: from}
		l.mu.Unlock()
		if err := from.Write(context.Background(), websocket.MessageText, f); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		left := len(l.sent)
		l.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d changes not delivered within 10 s", left, n)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	l.mu.Lock()
	defer l.mu.Unlock()
	reportMillis(b, l.lat)
}

func reportMillis(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkSyncFanout measures push-to-delivery latency with 1,000
// devices connected over 500 accounts (two each, light protocol clients
// on coder/websocket, not full engines) while 1,000 changes per second
// are pushed, round robin over the accounts: the time from a device
// writing a push to the change arriving on the account's other device
// (.../courier: durable commit, poke, pull, send), beside a bare
// coder/websocket relay forwarding the same frames between the same
// number of connection pairs (.../baseline). One op is one change; run
// with -benchtime 3000x for three seconds of load. It reports p50, p99 and
// max in milliseconds.
func BenchmarkSyncFanout(b *testing.B) {
	frame := func(id string) []byte {
		op := newOp("r-"+id, 100, "name", "url")
		op.OpID = model.ID(id)
		f, _ := syncproto.EncodeFrame(&syncproto.Push{Ops: []model.Op{op}})
		return f
	}
	b.Run("courier", func(b *testing.B) {
		e := quietSyncEnv(b)
		l := &fanoutLoad{}
		for range fanoutAccounts {
			acct, token := e.account(true)
			l.pairs = append(l.pairs, [2]*websocket.Conn{e.rawConn(b, token), e.rawConn(b, e.session(acct))})
		}
		for _, p := range l.pairs {
			for _, c := range p {
				go l.read(c, changeOpIDs)
			}
		}
		groups0, writes0 := e.store.CommitStats()
		l.run(b, b.N, frame)
		reportGroups(b, e, groups0, writes0)
	})
	b.Run("baseline", func(b *testing.B) {
		e := quietSyncEnv(b)
		url := startPairRelay(b, e)
		l := &fanoutLoad{}
		opts := e.dialOpts("")
		for i := range fanoutAccounts {
			var p [2]*websocket.Conn
			for side := range p {
				ws, _, err := websocket.Dial(b.Context(), fmt.Sprintf("%s?pair=%d&side=%d", url, i, side), opts)
				if err != nil {
					b.Fatal(err)
				}
				ws.SetReadLimit(syncproto.MaxFrameSize)
				b.Cleanup(func() { ws.CloseNow() })
				p[side] = ws
			}
			l.pairs = append(l.pairs, p)
		}
		for _, p := range l.pairs {
			for _, c := range p {
				go l.read(c, pushOpIDs)
			}
		}
		l.run(b, b.N, frame)
	})
}

// changeOpIDs returns the op ids of a changes frame.
func changeOpIDs(m []byte) []string {
	f, err := syncproto.DecodeServerFrame(m)
	if err != nil {
		return nil
	}
	ch, ok := f.(*syncproto.Changes)
	if !ok {
		return nil
	}
	var ids []string
	for _, c := range ch.Changes {
		if c.OpID != "" {
			ids = append(ids, string(c.OpID))
		}
	}
	return ids
}

// pushOpIDs returns the op ids of a push frame (what the relay forwards).
func pushOpIDs(m []byte) []string {
	f, err := syncproto.DecodeClientFrame(m)
	if err != nil {
		return nil
	}
	p, ok := f.(*syncproto.Push)
	if !ok {
		return nil
	}
	var ids []string
	for _, op := range p.Ops {
		ids = append(ids, string(op.OpID))
	}
	return ids
}

// startPairRelay starts a bare coder/websocket server with the sync
// server's certificate that forwards each message of connection
// (pair, side) to connection (pair, 1-side).
func startPairRelay(b *testing.B, e *syncEnv) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[[2]int]*websocket.Conn{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pair, _ := strconv.Atoi(r.URL.Query().Get("pair"))
		side, _ := strconv.Atoi(r.URL.Query().Get("side"))
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{syncproto.SyncSubprotocol}, CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		ws.SetReadLimit(syncproto.MaxFrameSize)
		mu.Lock()
		conns[[2]int{pair, side}] = ws
		mu.Unlock()
		for {
			_, m, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			mu.Lock()
			to := conns[[2]int{pair, 1 - side}]
			mu.Unlock()
			if to != nil {
				_ = to.Write(context.Background(), websocket.MessageText, m)
			}
		}
	}), TLSConfig: e.srvTLS()}
	go srv.ServeTLS(ln, "", "")
	b.Cleanup(func() { srv.Close() })
	return "wss://" + ln.Addr().String() + "/relay"
}
