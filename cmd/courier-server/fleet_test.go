package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/syncserver/smtptest"
)

// This file is the harness of the scale-out fault tests: courier-server
// processes sharing one PostgreSQL database behind a TCP load balancer,
// and devices with real profiles and sync engines that reach them
// through it.

// balancer is a TCP load balancer: TLS passes through it untouched. It
// sends each new connection to the next backend in turn that accepts
// one, so a dead backend is skipped.
type balancer struct {
	ln net.Listener

	mu       sync.Mutex
	backends []string
	next     int   // the backend to try first
	active   []int // open connections per backend
	conns    map[net.Conn]struct{}
}

func startBalancer(t *testing.T) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, conns: map[net.Conn]struct{}{}}
	go b.serve()
	t.Cleanup(b.close)
	return b
}

// add puts a backend in the rotation and returns its index.
func (b *balancer) add(addr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, addr)
	b.active = append(b.active, 0)
	return len(b.backends) - 1
}

func (b *balancer) url() string { return "https://" + b.ln.Addr().String() }

func (b *balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.forward(c)
	}
}

// forward pipes c to the first backend, from the next in turn, that
// accepts a connection; it closes c when none does.
func (b *balancer) forward(c net.Conn) {
	b.mu.Lock()
	backends := append([]string(nil), b.backends...)
	start := b.next
	b.mu.Unlock()
	for i := range backends {
		idx := (start + i) % len(backends)
		up, err := net.DialTimeout("tcp", backends[idx], time.Second)
		if err != nil {
			continue // dead: try the next
		}
		b.mu.Lock()
		b.next = (idx + 1) % len(backends)
		b.active[idx]++
		b.conns[c], b.conns[up] = struct{}{}, struct{}{}
		b.mu.Unlock()
		done := make(chan struct{}, 2)
		pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); dst.Close(); src.Close(); done <- struct{}{} }
		go pipe(up, c)
		go pipe(c, up)
		<-done
		<-done
		b.mu.Lock()
		b.active[idx]--
		delete(b.conns, c)
		delete(b.conns, up)
		b.mu.Unlock()
		return
	}
	c.Close()
}

// open returns the open connections per backend.
func (b *balancer) open() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.active...)
}

func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		c.Close()
	}
}

var (
	serverBinOnce sync.Once
	serverBin     string
	serverBinErr  error
)

// buildServerOnce builds this command once per test binary, with the
// race detector when the test has it (the build reuses its cached
// packages).
func buildServerOnce(t *testing.T) string {
	t.Helper()
	serverBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "courier-server-bin-")
		if err != nil {
			serverBinErr = err
			return
		}
		serverBin = filepath.Join(dir, "courier-server")
		args := append(append([]string{"build"}, serverBuildFlags...), "-o", serverBin, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			serverBinErr = fmt.Errorf("go build courier-server: %v\n%s", err, out)
		}
	})
	if serverBinErr != nil {
		t.Fatal(serverBinErr)
	}
	return serverBin
}

// TestMain removes the built server after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if serverBin != "" {
		os.RemoveAll(filepath.Dir(serverBin))
	}
	os.Exit(code)
}

// pki is a test CA and a certificate it issued for the loopback names.
type pki struct {
	cert              tls.Certificate
	caFile            string
	certFile, keyFile string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pki{cert: cert, caFile: filepath.Join(dir, syncserver.DevCAFile),
		certFile: filepath.Join(dir, syncserver.DevCertFile), keyFile: filepath.Join(dir, syncserver.DevCertKeyFile)}
}

// replicaProc is one courier-server process in production mode (TLS
// from files, mail through SMTP) on a PostgreSQL database.
type replicaProc struct {
	t    *testing.T
	name string
	addr string
	args []string
	env  []string
	cmd  *exec.Cmd
	logs servertest.Buffer
	ca   *http.Client
	// exited is closed once the process is gone.
	exited chan struct{}
}

// startReplicaProc starts courier-server on db at a free loopback port
// and waits until its /healthz says 200. publicURL is the balancer's.
func startReplicaProc(t *testing.T, name, bin, db, publicURL string, p pki, smtp *smtptest.Server) *replicaProc {
	t.Helper()
	addr := servertest.FreeAddr(t)
	r := &replicaProc{t: t, name: name, addr: addr, ca: trusting(t, p.caFile)}
	r.args = []string{"--addr", addr, "--data", t.TempDir(), "--db", db, "--db-max-conns", "6",
		"--tls-cert", p.certFile, "--tls-key", p.keyFile, "--public-url", publicURL,
		"--smtp", smtp.URL(), "--mail-from", "Courier <noreply@example.com>", "--log-level", "warn"}
	// The SMTP server's certificate comes from the test CA.
	r.env = append(os.Environ(), "SSL_CERT_FILE="+p.caFile)
	r.start()
	t.Cleanup(func() {
		if r.alive() {
			r.kill()
		}
		r.ca.CloseIdleConnections()
		if strings.Contains(r.logs.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race", r.name)
		}
		if t.Failed() {
			t.Logf("%s (%s) logs:\n%s", r.name, r.addr, r.logs.String())
		}
	})
	return r
}

func (r *replicaProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(buildServerOnce(r.t), r.args...)
	r.cmd.Env = r.env
	r.cmd.Stdout, r.cmd.Stderr = &r.logs, &r.logs
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	r.exited = exited
	pollUntil(r.t, 30*time.Second, r.name+" answers /healthz with 200", func() bool {
		select {
		case <-exited:
			r.t.Fatalf("%s exited at start: %s\n%s", r.name, r.cmd.ProcessState, r.logs.String())
		default:
		}
		return r.health() == http.StatusOK
	})
}

// health is the replica's /healthz status, 0 when it does not answer.
func (r *replicaProc) health() int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+r.addr+syncproto.PathHealth, nil)
	resp, err := r.ca.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// kill sends SIGKILL and waits until the process is gone.
func (r *replicaProc) kill() {
	r.t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		r.t.Fatal(err)
	}
	<-r.exited
}

// alive reports whether the process still runs.
func (r *replicaProc) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// pollUntil polls cond until it holds, failing the test after d.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// signUpThrough signs an account up through url (confirming the email
// with the link mailed to smtp) and returns it. The account's log is not
// compacted, so checkNothingLost can ask the server about every op.
func signUpThrough(t *testing.T, url, caFile string, smtp *smtptest.Server, name string) *servertest.Account {
	t.Helper()
	acct := servertest.NewAccountAt(t, url, caFile, name, func(email string) string {
		t.Helper()
		return smtp.WaitFor(t, email, "Confirm", 0).Link()
	})
	acct.HoldCompaction(t)
	return acct
}

// opLedger notes, across devices, the seq at which each op id came in
// the stream, and any op id that came at two seqs.
type opLedger struct {
	mu    sync.Mutex
	seqOf map[model.ID]uint64
	twice []string
}

func newOpLedger() *opLedger { return &opLedger{seqOf: map[model.ID]uint64{}} }

func (l *opLedger) note(changes []model.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range changes {
		if c.OpID == "" {
			continue
		}
		if s, ok := l.seqOf[c.OpID]; ok && s != c.Seq {
			l.twice = append(l.twice, fmt.Sprintf("op %s at seq %d and %d", c.OpID, s, c.Seq))
		}
		l.seqOf[c.OpID] = c.Seq
	}
}

func (l *opLedger) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.seqOf) }

// ledgerStore is a profile's store that notes the stream it is given.
type ledgerStore struct {
	*store.DB
	ledger *opLedger
}

func (s ledgerStore) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	if err := s.DB.ApplyServerPage(ctx, page, cursor); err != nil {
		return err
	}
	s.ledger.note(page.Changes())
	return nil
}

type fixedSession struct{ s app.Session }

func (f fixedSession) Session(context.Context) (app.Session, error) { return f.s, nil }

// profile is one device: a real bbolt profile and the app's sync with a
// real engine, reaching the account's URL.
type profile struct {
	t      *testing.T
	name   string
	db     *store.DB
	sync   *app.Sync
	ledger *opLedger
	ops    []model.ID // every op made here
}

func newProfile(t *testing.T, acct *servertest.Account, name string, ledger *opLedger) *profile {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &profile{t: t, name: name, db: db, ledger: ledger}
	sess := app.Session{Account: app.Account{AccountID: "acct", SignedIn: true, ServerURL: acct.URL}, Token: acct.Login(t), Key: acct.Key}
	newEngine := func(s app.Session) (app.SyncEngine, error) {
		return syncclient.NewEngine(syncclient.EngineConfig{
			ServerURL: s.Account.ServerURL, CAFile: acct.CAFile, Proxy: "direct", Token: s.Token, Key: s.Key,
			DeviceID: name, Store: ledgerStore{DB: db, ledger: ledger}, PingInterval: 2 * time.Second,
		})
	}
	if p.sync, err = app.NewSync(db, fixedSession{sess}, newEngine, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := app.JoinAccount(ctx, db, "acct", false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.sync.Stop(); db.Close() })
	return p
}

func (p *profile) start() {
	p.t.Helper()
	if err := p.sync.Start(context.Background()); err != nil {
		p.t.Fatal(err)
	}
}

// edit writes a request's name and method (one op).
func (p *profile) edit(id, name string) {
	p.t.Helper()
	op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(id), Fields: model.Fields{
		"name": json.RawMessage(fmt.Sprintf("%q", name)), "method": json.RawMessage(`"GET"`)}}
	if err := p.db.Apply(context.Background(), op); err != nil {
		p.t.Fatalf("%s: apply: %v", p.name, err)
	}
	p.ops = append(p.ops, op.OpID)
}

// requestName returns the visible name of request id, "" when there is none.
func (p *profile) requestName(id string) string {
	recs, err := p.db.List(context.Background(), model.KindRequest)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, r := range recs {
		if r.ID == model.ID(id) {
			var s string
			_ = json.Unmarshal(r.Fields["name"], &s)
			return s
		}
	}
	return ""
}

// state is the visible state of every kind, values compacted.
func (p *profile) state() map[string]string {
	p.t.Helper()
	return servertest.State(p.t, p.db)
}

func (p *profile) inSync() bool {
	st := p.sync.Status()
	return st.State == app.SyncInSync && st.Pending == 0
}

// converged waits until every profile is IN SYNC with nothing pending at
// one cursor.
func converged(t *testing.T, d time.Duration, ps ...*profile) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		same := true
		for _, p := range ps {
			same = same && p.inSync() && p.sync.Status().Cursor == ps[0].sync.Status().Cursor
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range ps {
				t.Logf("%s: %+v", p.name, p.sync.Status())
			}
			t.Fatalf("the devices did not reach one cursor IN SYNC within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNothingLost pulls the account into a fresh profile and checks
// that every device shows the server's state, that the server applied
// every op made on any device, and that no device was sent an op at two
// seqs.
func checkNothingLost(t *testing.T, acct *servertest.Account, devs ...*profile) {
	t.Helper()
	fresh := newProfile(t, acct, "fresh", newOpLedger())
	if _, err := fresh.sync.Once(context.Background()); err != nil {
		t.Fatalf("fresh device: %v", err)
	}
	want := fresh.state()
	if len(want) == 0 {
		t.Fatal("the server holds nothing")
	}
	var made []model.ID
	for _, d := range devs {
		if got := d.state(); !maps.Equal(got, want) {
			t.Errorf("device %s differs from the server's state:\n%s", d.name, servertest.StateDiff(got, want))
		}
		made = append(made, d.ops...)
	}
	applied := acct.Applied(t, made)
	for _, d := range devs {
		for _, id := range d.ops {
			if !applied[id] {
				t.Errorf("device %s: op %s was never applied on the server (lost)", d.name, id)
			}
		}
	}
	for _, d := range append(devs, fresh) {
		d.ledger.mu.Lock()
		for _, s := range d.ledger.twice {
			t.Errorf("device %s was sent an op twice: %s", d.name, s)
		}
		d.ledger.mu.Unlock()
	}
}
