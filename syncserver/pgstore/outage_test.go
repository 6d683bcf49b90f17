package pgstore_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/syncproto"
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
