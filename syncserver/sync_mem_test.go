package syncserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
)

// memHelperEnv makes the test binary run a server for
// BenchmarkSyncIdleConnMemory instead of the tests: "courier" or "relay".
const memHelperEnv = "COURIER_SYNC_MEM_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(memHelperEnv); mode != "" {
		if err := runMemHelper(mode, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "mem helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMemHelper serves on loopback TLS and prints "ready ADDR TOKEN CA";
// then each "mem" line on in is answered with "mem HEAP RSS GOROUTINES"
// (after two GCs); it returns when in ends.
func runMemHelper(mode string, in io.Reader, out io.Writer) error {
	dir, err := os.MkdirTemp("", "courier-mem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	token := "-"
	if mode == "courier" {
		stop, tok, err := startMemCourier(dir, ln, cert)
		if err != nil {
			return err
		}
		defer stop()
		token = tok
	} else {
		srv := &http.Server{Handler: http.HandlerFunc(idleEcho), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
		go srv.ServeTLS(ln, "", "")
		defer srv.Close()
	}
	fmt.Fprintf(out, "ready %s %s %s\n", ln.Addr(), token, filepath.Join(dir, syncserver.DevCAFile))
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "mem" {
			heap, rss := memNow()
			fmt.Fprintf(out, "mem %d %d %d\n", heap, rss, runtime.NumGoroutine())
		}
	}
	return nil
}

// idleEcho is the baseline server: it accepts a WebSocket and reads from
// it (one goroutine per connection, the least a server can hold).
func idleEcho(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{syncproto.SyncSubprotocol}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	for {
		if _, _, err := ws.Read(context.Background()); err != nil {
			return
		}
	}
}

func startMemCourier(dir string, ln net.Listener, cert tls.Certificate) (func(), string, error) {
	store, err := boltstore.Open(filepath.Join(dir, "server.db"))
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	a := syncserver.Account{ID: "acct", Username: "mem", Email: "mem@example.com", EmailConfirmed: true, CreatedAt: time.Now(),
		Secrets: syncserver.AccountSecrets{KDFSalt: randomBytes(16), KDFParams: syncproto.DefaultKDFParams, AuthHash: sha(randomBytes(32)),
			WrappedAccountKey: randomBytes(72), RecoveryWrappedKey: randomBytes(72)}}
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	if err := store.CreateAccount(ctx, a); err != nil {
		return nil, "", err
	}
	if err := store.CreateSession(ctx, syncserver.Session{ID: "s", AccountID: "acct", TokenHash: sha([]byte(token)), CreatedAt: time.Now(), LastSeenAt: time.Now()}); err != nil {
		return nil, "", err
	}
	srv, err := syncserver.New(ctx, syncserver.Config{
		Listener: ln, PublicURL: "https://" + ln.Addr().String(), TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Storage: store, Mailer: syncserver.MailerFunc(func(context.Context, syncserver.Message) error { return nil }),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sync:   syncserver.SyncConfig{MaxConnsPerAccount: 100_000},
	})
	if err != nil {
		return nil, "", err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Run(runCtx); close(done) }()
	return func() { cancel(); <-done; store.Close() }, token, nil
}

// memNow returns the live heap after two GCs and the process's RSS.
func memNow() (heap, rss uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb << 10
		}
	}
	return m.HeapInuse, rss
}

// BenchmarkSyncIdleConnMemory opens 1000 idle connections to a server in
// a child process and reports the growth of its live heap and RSS per
// connection: the sync endpoint (past hello and caught up) beside a bare
// coder/websocket server that only reads.
func BenchmarkSyncIdleConnMemory(b *testing.B) {
	const n = 1000
	for _, mode := range []string{"courier", "relay"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				heap, rss, _ := idleConnMemory(b, mode, n)
				b.ReportMetric(heap/n/1024, "heap-KB/conn")
				b.ReportMetric(rss/n/1024, "rss-KB/conn")
			}
		})
	}
}

// TestIdleSyncConnectionHoldsOneGoroutine checks, in a server process of
// its own, that a connection past hello and caught up holds one goroutine
// (the handler's, reading): its sender runs only while there is something
// to send.
func TestIdleSyncConnectionHoldsOneGoroutine(t *testing.T) {
	const n = 40
	_, _, goroutines := idleConnMemory(t, "courier", n)
	if goroutines > n+n/4 {
		t.Fatalf("%d idle connections added %v goroutines, want about one each", n, goroutines)
	}
	if goroutines < n {
		t.Fatalf("%d idle connections added only %v goroutines: the count proves nothing", n, goroutines)
	}
}

// idleConnMemory opens n idle connections to a server of mode ("courier"
// or "relay") in a child process and returns how much its live heap, RSS
// and goroutine count grew.
func idleConnMemory(b testing.TB, mode string, n int) (heap, rss, goroutines float64) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memHelperEnv+"="+mode)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	var addr, token, ca string
	lines.Scan()
	if _, err := fmt.Sscanf(lines.Text(), "ready %s %s %s", &addr, &token, &ca); err != nil {
		b.Fatalf("helper did not start: %q: %v", lines.Text(), err)
	}
	mem := func() (float64, float64, float64) {
		fmt.Fprintln(stdin, "mem")
		var h, r, g float64
		if !lines.Scan() {
			b.Fatal("helper died")
		}
		fmt.Sscanf(lines.Text(), "mem %g %g %g", &h, &r, &g)
		return h, r, g
	}
	e := &syncEnv{t: b, pool: servertest.CAPool(b, ca), wsURL: "wss://" + addr + syncproto.PathSync}
	if token == "-" {
		token = ""
	}
	openIdle(b, e, token, mode == "courier", 10) // warm up pools and code paths
	h0, r0, g0 := mem()
	conns := openIdle(b, e, token, mode == "courier", n)
	h1, r1, g1 := mem()
	for _, c := range conns {
		c.CloseNow()
	}
	return h1 - h0, r1 - r0, g1 - g0
}

// openIdle opens n connections (8 at a time); with hello set, each says
// hello and reads until caught up. A reader per connection answers pings.
func openIdle(b testing.TB, e *syncEnv, token string, hello bool, n int) []*websocket.Conn {
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				ws, _, err := websocket.Dial(ctx, e.wsURL, e.dialOpts(token))
				if err == nil && hello {
					err = helloCaughtUp(ctx, ws)
				}
				cancel()
				if err != nil {
					b.Error(err)
					return
				}
				go drain(ws)
				conns[i] = ws
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return conns
}

func helloCaughtUp(ctx context.Context, ws *websocket.Conn) error {
	f, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "idle", Cursor: 0})
	if err := ws.Write(ctx, websocket.MessageText, f); err != nil {
		return err
	}
	for {
		_, m, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if bytes.Contains(m, []byte(`"caught_up":true`)) {
			return nil
		}
	}
}
