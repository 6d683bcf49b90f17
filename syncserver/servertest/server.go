package servertest

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
)

// MailBuffer is how many captured emails may wait on Server.Mail before
// the server's mailer blocks.
const MailBuffer = 64

// mailWait bounds NextMail.
const mailWait = 10 * time.Second

// Options tune Start. The zero value is a server without limits or an
// OIDC provider that logs nothing.
type Options struct {
	// OIDC runs an in-process mockoidc provider, trusted by the server as
	// the provider named "mock" with the display name "Mock".
	OIDC bool
	// Limits are the server's rate limits; nil means syncserver.NoLimits()
	// (tests send everything from one address).
	Limits *syncserver.Limits
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Dir holds the dev CA, the certificate and the bbolt file; empty
	// means a fresh temporary directory.
	Dir string
	// Sync tunes the sync endpoint (quotas, limits); the zero value means
	// the server's defaults.
	Sync syncserver.SyncConfig
}

// Server is a running syncserver on loopback. Its fields are fixed for
// its life, restarts included.
type Server struct {
	// URL is the server's https:// base, as its emails link to it.
	URL string
	// Addr is the host:port it listens on.
	Addr string
	// CAFile is the PEM file of the dev CA that signed its certificate.
	CAFile string
	// Dir holds the dev CA, the certificate and the bbolt file.
	Dir string
	// Mail receives every email the server sends, in order.
	Mail <-chan syncserver.Message
	// OIDC is the provider of Options.OIDC (queue its users with
	// QueueUser); nil without it.
	OIDC *mockoidc.MockOIDC

	t    testing.TB // the test that started it: Run's errors fail it
	opts Options
	cert tls.Certificate
	mail chan syncserver.Message

	mu      sync.Mutex
	storage *boltstore.DB
	stop    func()
	// applied holds the id of every op the server applied, restarts
	// included (see Applied).
	applied *opJournal
}

// opJournal holds the ids of the ops a server applied.
type opJournal struct {
	mu  sync.Mutex
	ids map[model.ID]bool
}

// journal is the storage as the server uses it, noting the ids of the
// ops each push applied.
type journal struct {
	*boltstore.DB
	*opJournal
}

// Push implements syncserver.SyncStorage.
func (j journal) Push(ctx context.Context, accountID string, ops []model.Op, quota syncserver.Quota) (syncserver.PushResult, error) {
	res, err := j.DB.Push(ctx, accountID, ops, quota)
	if err != nil {
		return res, err
	}
	dup := map[model.ID]bool{}
	for _, id := range res.Dup {
		dup[id] = true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, op := range ops {
		if !dup[op.OpID] {
			j.ids[op.OpID] = true
		}
	}
	return res, nil
}

// Applied returns which of ids the server applied since it started:
// unlike Account.Applied, it knows the ops whose entries compaction
// dropped. The journal is in memory: it sees what a server of this
// process applied.
func (s *Server) Applied(ids []model.ID) map[model.ID]bool {
	j := s.applied
	j.mu.Lock()
	defer j.mu.Unlock()
	known := map[model.ID]bool{}
	for _, id := range ids {
		if j.ids[id] {
			known[id] = true
		}
	}
	return known
}

// Start runs a server for the rest of the test (and its cleanups that
// were registered before). It fails the test when anything does not
// start, and at the end when Run returned an error or the store does not
// close.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{Dir: opts.Dir, t: t, opts: opts, mail: make(chan syncserver.Message, MailBuffer)}
	if s.Dir == "" {
		s.Dir = t.TempDir()
	}
	s.Mail = s.mail
	if opts.OIDC {
		m, err := mockoidc.Run()
		if err != nil {
			t.Fatalf("start mockoidc: %v", err)
		}
		t.Cleanup(func() { _ = m.Shutdown() })
		s.OIDC = m
	}
	cert, err := syncserver.DevCertificate(s.Dir, time.Now())
	if err != nil {
		t.Fatalf("dev certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.cert, s.Addr = cert, ln.Addr().String()
	s.URL, s.CAFile = "https://"+s.Addr, filepath.Join(s.Dir, syncserver.DevCAFile)
	s.run(t, ln)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stop()
	})
	return s
}

// run opens the store and serves on ln until s.stop; t fails when the
// server does not start, s.t when it does not stop cleanly.
func (s *Server) run(t testing.TB, ln net.Listener) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(s.Dir, "server.db"))
	if err != nil {
		t.Fatalf("open server store: %v", err)
	}
	if s.applied == nil { // the first run, before any other goroutine
		s.applied = &opJournal{ids: map[model.ID]bool{}}
	}
	srv, err := syncserver.New(context.Background(), s.config(ln, journal{DB: st, opJournal: s.applied}))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	s.storage = st
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("server Run: %v", err)
		}
		if err := st.Close(); err != nil {
			s.t.Errorf("close server store: %v", err)
		}
	}
}

func (s *Server) config(ln net.Listener, st syncserver.Storage) syncserver.Config {
	limits, logger := syncserver.NoLimits(), s.opts.Logger
	if s.opts.Limits != nil {
		limits = *s.opts.Limits
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := syncserver.Config{
		Listener: ln, PublicURL: s.URL, TLS: &tls.Config{Certificates: []tls.Certificate{s.cert}},
		Storage: st, Limits: &limits, Logger: logger, Sync: s.opts.Sync,
		Mailer: syncserver.MailerFunc(func(_ context.Context, m syncserver.Message) error { s.mail <- m; return nil }),
	}
	if s.OIDC != nil {
		mc := s.OIDC.Config()
		cfg.OIDC = []syncserver.OIDCProvider{{Name: "mock", DisplayName: "Mock", Issuer: mc.Issuer, ClientID: mc.ClientID, ClientSecret: mc.ClientSecret}}
	}
	return cfg
}

// Stop shuts the server down gracefully, for its clients to find it gone;
// Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	s.stop = func() {}
}

// Restart shuts the server down gracefully (every sync connection gets
// close code 1001) and starts it again on the same address and data. It
// fails t (a subtest may call it) when the server does not start again;
// a Run error fails the test that called Start.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", s.Addr, err)
	}
	s.run(t, ln)
}

// PutBack stops the server as if its machine were lost and starts it
// again on the data of backup alone (a copy from boltstore.BackupFile):
// the push log beside the database goes, as on a new machine.
func (s *Server) PutBack(t testing.TB, backup string) {
	t.Helper()
	s.Stop()
	if err := os.Remove(filepath.Join(s.Dir, "server.db.log")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "server.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
}

// Storage returns the bbolt store the server runs on now (a restart opens
// it again).
func (s *Server) Storage() *boltstore.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storage
}

// Client returns a client of the server that trusts its CA, with a 10 s
// timeout; its idle connections close when the test ends.
func (s *Server) Client(t testing.TB) *syncclient.Client {
	t.Helper()
	return newClient(t, s.URL, s.CAFile, 10*time.Second)
}

// NextMail returns the next email of kind ("confirm", "reset", ...),
// dropping the others before it; it fails t when none comes within 10 s.
func (s *Server) NextMail(t testing.TB, kind string) syncserver.Message {
	t.Helper()
	deadline := time.After(mailWait)
	for {
		select {
		case m := <-s.mail:
			if m.Kind == kind {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s email within %v", kind, mailWait)
		}
	}
}

// FreeAddr returns a loopback host:port that was free a moment ago, for a
// server that must bind a fixed address (a child process).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newClient(t testing.TB, url, caFile string, timeout time.Duration) *syncclient.Client {
	t.Helper()
	c, err := syncclient.New(url, syncclient.Options{CAFile: caFile, Timeout: timeout})
	if err != nil {
		t.Fatalf("client of %s: %v", url, err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// Dial is an app.AccountsOptions.Dial for tests: it reaches any server
// URL through a client that trusts s's CA, with a 10 s timeout, whose
// idle connections close when t ends.
func (s *Server) Dial(t testing.TB) app.DialAccountAPI {
	return func(server, token string) (app.AccountAPI, error) {
		c, err := syncclient.New(server, syncclient.Options{CAFile: s.CAFile, Timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		t.Cleanup(c.CloseIdleConnections)
		return c.WithToken(token), nil
	}
}
