package syncserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/syncserver/smtptest"
)

// clock is an injectable clock that tests move forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a server running over TLS on loopback port 0, with a bbolt store
// in a temp dir and an SMTP mailer delivering to an in-process SMTP server
// (STARTTLS + AUTH).
type env struct {
	t      testing.TB
	srv    *syncserver.Server
	store  *boltstore.DB
	smtp   *smtptest.Server
	clock  *clock
	logs   *servertest.Buffer
	base   string
	client *http.Client
	dialed *dialed
	pool   *x509.CertPool
	cert   tls.Certificate
}

type envOption func(*syncserver.Config)

func withLimits(l syncserver.Limits) envOption {
	return func(c *syncserver.Config) { c.Limits = &l }
}

func withMailer(m syncserver.Mailer) envOption {
	return func(c *syncserver.Config) { c.Mailer = m }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := servertest.CAPool(t, filepath.Join(dir, syncserver.DevCAFile))
	e := &env{t: t, clock: newClock(), logs: &servertest.Buffer{}, pool: pool, cert: cert, dialed: &dialed{}}
	e.smtp = smtptest.Start(t, cert, false)
	mailer, err := syncserver.NewSMTPMailer(e.smtp.URL(), "Courier <noreply@example.com>", &tls.Config{RootCAs: pool}, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = boltstore.Open(filepath.Join(dir, "server.db")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "https://" + ln.Addr().String()
	cfg := syncserver.Config{
		Listener: ln, PublicURL: e.base, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Storage: e.store, Mailer: mailer, Now: e.clock.Now, MailQueue: 4096,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if e.srv, err = syncserver.New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
		// Connections the client dialed but never used stay "new" on the
		// server, which Shutdown waits 5 s for; close them first, and
		// those a burst of requests dialed that joined the client's pool
		// only after CloseIdleConnections (HTTP/2 connections that the
		// graceful shutdown waits for up to its timeout).
		e.client.CloseIdleConnections()
		e.dialed.closeAll()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after shutdown: %v\nserver log:\n%s", err, e.logs.String())
		}
		e.store.Close()
	})
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true,
		DialContext: e.dialed.dial,
	}}
	return e
}

// dialed keeps the connections a test client opened, to close them all
// at the end.
type dialed struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialed) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialed) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		_ = c.Close()
	}
	d.conns = nil
}

// raw sends one request and returns the status, headers and body.
func (e *env) raw(method, path, token string, body any) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// call sends a JSON request and decodes the answer: T on 2xx, else the
// API error (with Status and RetryAfter filled).
func call[T any](e *env, method, path, token string, body any) (T, *syncproto.Error) {
	e.t.Helper()
	var out T
	status, hdr, b := e.raw(method, path, token, body)
	if status >= 200 && status < 300 {
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatalf("%s %s: %d answer %q: %v", method, path, status, b, err)
		}
		return out, nil
	}
	var eb syncproto.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" {
		e.t.Fatalf("%s %s: %d answer is not an error body: %q", method, path, status, b)
	}
	eb.Error.Status = status
	if ra := hdr.Get("Retry-After"); ra != "" {
		secs, _ := strconv.Atoi(ra)
		eb.Error.RetryAfter = time.Duration(secs) * time.Second
	}
	return out, &eb.Error
}

// mustOK fails unless err is nil.
func mustOK(t testing.TB, what string, err *syncproto.Error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v (status %d)", what, err, err.Status)
	}
}

// wantCode fails unless err has code.
func wantCode(t testing.TB, what string, err *syncproto.Error, code syncproto.ErrorCode) {
	t.Helper()
	if err == nil || err.Code != code || err.Status != code.HTTPStatus() {
		t.Fatalf("%s: got %v, want %s (%d)", what, err, code, code.HTTPStatus())
	}
}

// password stands for what a client derives from one password: the
// server never runs the KDF, so a hash stands in for Argon2id.
type password struct {
	creds syncproto.Credentials
}

func newPassword(pw string) password {
	salt := make([]byte, 16)
	rand.Read(salt)
	auth := sha256.Sum256(append([]byte("auth:"+pw+":"), salt...))
	wrapped := make([]byte, 72)
	rand.Read(wrapped)
	return password{creds: syncproto.Credentials{KDFSalt: salt, KDFParams: syncproto.DefaultKDFParams, AuthKey: auth[:], WrappedAccountKey: wrapped}}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// signUpConfirmed signs up and follows the emailed link.
func (e *env) signUpConfirmed(username, email string, pw password) {
	e.t.Helper()
	_, err := call[syncproto.StatusResponse](e, "POST", syncproto.PathSignUp, "", syncproto.SignUpRequest{
		Username: username, Email: email, Credentials: pw.creds, RecoveryWrappedKey: randomBytes(72)})
	mustOK(e.t, "sign up "+username, err)
	link := e.smtp.WaitFor(e.t, email, "Confirm", 0).Link()
	if status, _, _ := e.getPage(link); status != http.StatusOK {
		e.t.Fatalf("confirm %s: status %d (link %q)", username, status, link)
	}
}

func (e *env) getPage(link string) (int, string, error) {
	resp, err := e.client.Get(link)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), errors.Join(err)
}

func (e *env) signIn(identifier string, pw password, device string) (syncproto.SignInResponse, *syncproto.Error) {
	e.t.Helper()
	return call[syncproto.SignInResponse](e, "POST", syncproto.PathSignIn, "", syncproto.SignInRequest{
		Identifier: identifier, AuthKey: pw.creds.AuthKey, DeviceName: device})
}

func sha(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
