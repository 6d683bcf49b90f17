package pgstore_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

// cutProxy forwards TCP connections to a database; cut drops every
// connection and refuses new ones until restore, as a database restart
// or a network partition would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { io.Copy(dst, src); dst.Close(); src.Close(); done <- struct{}{} }
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// viaProxy returns url with its host replaced by a proxy to that host.
func viaProxy(t testing.TB, raw string) (string, *cutProxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	return u.String(), p
}

func health(r *replica) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + r.addr + syncproto.PathHealth)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDatabaseOutageFailsPushesRetryablyThenConverges(t *testing.T) {
	url, proxy := viaProxy(t, pgtest.URL(t))
	r1, r2 := startReplica(t, url, pgstore.Options{}), startReplica(t, url, pgstore.Options{})
	token := newAccount(t, r1.db, 1)
	d1, d2 := connect(t, r1, token), connect(t, r2, token)
	d1.push("req-1")
	d2.waitSeq(1, "replica 2 hears replica 1 before the outage")
	d1.waitSeq(1, "the pusher gets its op back before the outage")
	if got := health(r1); got != http.StatusOK {
		t.Fatalf("healthz before the outage = %d", got)
	}

	proxy.cut()
	waitFor(t, 10*time.Second, "healthz says 503 while the database is away", func() bool { return health(r1) == http.StatusServiceUnavailable })
	if err := d1.lastErr(); err != nil {
		t.Fatalf("the outage alone closed an idle connection: %v (%+v)", err, d1.errFrame)
	}
	d1.push("req-2")
	waitFor(t, 10*time.Second, "the push during the outage ends the connection", func() bool { return d1.lastErr() != nil })
	if st := websocket.CloseStatus(d1.lastErr()); st != websocket.StatusGoingAway {
		t.Fatalf("close status of a push during the outage = %d (%v), want 1001 (reconnect)", st, d1.lastErr())
	}
	// The database's address, user and driver messages stay in the log.
	said := d1.lastErr().Error()
	d1.mu.Lock()
	if d1.errFrame != nil {
		said += " " + d1.errFrame.Message
	}
	d1.mu.Unlock()
	for _, secret := range []string{"postgres", "user=", proxy.ln.Addr().String()} {
		if strings.Contains(said, secret) {
			t.Fatalf("the client was told %q, which names the database (%q)", said, secret)
		}
	}

	proxy.restore()
	waitFor(t, 15*time.Second, "healthz says 200 once the database is back", func() bool { return health(r1) == http.StatusOK })
	waitFor(t, 15*time.Second, "both replicas listen again", func() bool { return r1.db.Listening() && r2.db.Listening() })
	d1 = connect(t, r1, token) // the app reconnects after 1001
	d1.push("req-2")
	d1.waitSeq(2, "the reconnected device catches up")
	d2.waitSeq(2, "a device that stayed on replica 2 gets the push made after the outage")
	head, err := r2.db.Head(context.Background(), "acct-1")
	if err != nil || head != 2 {
		t.Fatalf("head after the outage = %d, %v; want 2 (the refused push left nothing)", head, err)
	}
}

func TestPushesRetriedThroughAnOutageApplyExactlyOnce(t *testing.T) {
	url, proxy := viaProxy(t, pgtest.URL(t))
	db, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	accts := []string{"acct-1", "acct-2"}
	for i := range accts {
		newAccount(t, db, i+1)
	}
	const writers, each = 8, 30
	var applied, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				op := model.Op{OpID: model.ID(fmt.Sprintf("w%d-op%d", w, i)), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("req-%d", w)),
					Fields: model.Fields{"name": syncproto.SealedValue(randomBytes(64))}}
				// As the app does: push the same op again until it is acknowledged.
				for {
					_, err := db.Push(context.Background(), accts[w%2], []model.Op{op}, syncserver.Quota{})
					if err == nil {
						applied.Add(1)
						break
					}
					if !errors.Is(err, model.ErrUnavailable) {
						errs <- fmt.Errorf("push during the outage: %w, want model.ErrUnavailable", err)
						return
					}
					refused.Add(1)
					time.Sleep(20 * time.Millisecond) // the client's retry backoff
				}
			}
		}()
	}
	waitFor(t, 30*time.Second, "some pushes before the outage", func() bool { return applied.Load() >= writers*each/4 })
	proxy.cut()
	waitFor(t, 10*time.Second, "pushes refused during the outage", func() bool { return refused.Load() >= 3*writers })
	proxy.restore()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d pushes refused during the outage", refused.Load())
	for _, a := range accts {
		head, err := db.Head(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := db.Changes(context.Background(), a, 0, 10000, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		ops := map[model.ID]bool{}
		for _, c := range ch {
			if ops[c.OpID] {
				t.Fatalf("%s: op %s applied twice", a, c.OpID)
			}
			ops[c.OpID] = true
		}
		if want := writers / 2 * each; head != uint64(want) || len(ops) != want {
			t.Fatalf("%s: head %d with %d distinct ops, want %d of each", a, head, len(ops), want)
		}
	}
}
