package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/syncserver/smtptest"
)

// start opens m and runs it until the test ends.
func start(t *testing.T, m *Main) {
	t.Helper()
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func postJSON(t *testing.T, c *http.Client, url string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func creds() syncproto.Credentials {
	return syncproto.Credentials{KDFSalt: bytes.Repeat([]byte{1}, 16), KDFParams: syncproto.DefaultKDFParams,
		AuthKey: bytes.Repeat([]byte{2}, 32), WrappedAccountKey: bytes.Repeat([]byte{3}, 72)}
}

func TestDevModeReusesItsCAAndCertifiesLoopbackNames(t *testing.T) {
	dir := t.TempDir()
	logs := &servertest.Buffer{}
	m := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: logs}
	start(t, m)
	caFile := filepath.Join(dir, syncserver.DevCAFile)
	ca1, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, syncserver.DevCAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode: %v, %v", fi.Mode(), err)
	}
	// The served certificate verifies against ca.pem for every loopback name.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca1)
	conn, err := tls.Dial("tcp", m.Addr(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TLS to the dev server: %v", err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
	if !strings.Contains(logs.String(), "ca.pem") {
		t.Errorf("log does not say where the CA is: %s", logs)
	}

	// A second start (after the first stopped) keeps the same CA and cert.
	certBefore, _ := os.ReadFile(filepath.Join(dir, syncserver.DevCertFile))
	m.Close()
	m2 := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: io.Discard}
	start(t, m2)
	ca2, _ := os.ReadFile(caFile)
	certAfter, _ := os.ReadFile(filepath.Join(dir, syncserver.DevCertFile))
	if !bytes.Equal(ca1, ca2) || !bytes.Equal(certBefore, certAfter) {
		t.Fatal("second start replaced the CA or the certificate")
	}
	block, _ := pem.Decode(ca2)
	if caCert, err := x509.ParseCertificate(block.Bytes); err != nil || !caCert.IsCA {
		t.Fatalf("ca.pem is not a CA: %v", err)
	}
	resp, err := trusting(t, caFile).Get("https://" + m2.Addr() + syncproto.PathHealth)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after restart: %v", err)
	}
	resp.Body.Close()
}

func TestDevMailboxSavesEmlAndLogsTheLink(t *testing.T) {
	dir := t.TempDir()
	logs := &servertest.Buffer{}
	m := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: logs}
	start(t, m)
	c := trusting(t, filepath.Join(dir, syncserver.DevCAFile))
	status, body := postJSON(t, c, "https://"+m.Addr()+syncproto.PathSignUp, syncproto.SignUpRequest{
		Username: "dev", Email: "dev@example.com", Credentials: creds(), RecoveryWrappedKey: bytes.Repeat([]byte{4}, 72)})
	if status != http.StatusAccepted {
		t.Fatalf("sign up: %d %s", status, body)
	}
	var eml []byte
	deadline := time.Now().Add(10 * time.Second)
	for eml == nil && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
		if len(files) == 1 {
			eml, _ = os.ReadFile(files[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !bytes.Contains(eml, []byte("multipart/alternative")) {
		t.Fatalf("no .eml with both bodies in the dev mailbox: %q", eml)
	}
	wantLink := "https://localhost:" + portOf(mustAddr(t, m.Addr())) + syncproto.PathConfirmEmail + "?token="
	if !strings.Contains(logs.String(), wantLink) {
		t.Fatalf("log lacks the link %s: %s", wantLink, logs)
	}
}

func mustAddr(t *testing.T, s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPlainHTTPIsRefused(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: io.Discard}
	start(t, m)
	resp, err := http.Get("http://" + m.Addr() + syncproto.PathHealth)
	if err != nil {
		t.Fatalf("plain HTTP: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS") {
		t.Fatalf("plain HTTP got %d %q; want 400 naming HTTPS", resp.StatusCode, b)
	}
	// A TLS client that does not trust the dev CA gets a certificate error.
	_, err = http.Get("https://" + m.Addr() + syncproto.PathHealth)
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("untrusting client: err = %v, want an unknown authority error", err)
	}
}

func TestProductionSignUpMailsThroughSMTP(t *testing.T) {
	dir := t.TempDir()
	cert, err := syncserver.DevCertificate(filepath.Join(dir, "pki"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "pki", syncserver.DevCertFile), filepath.Join(dir, "pki", syncserver.DevCertKeyFile)
	caFile := filepath.Join(dir, "pki", syncserver.DevCAFile)
	for _, implicit := range []bool{false, true} {
		smtp := smtptest.Start(t, cert, implicit)
		client := trusting(t, caFile)
		m := NewMain()
		env := map[string]string{
			"COURIER_TLS_CERT": certFile, "COURIER_TLS_KEY": keyFile, "COURIER_SMTP": smtp.URL(),
			"COURIER_MAIL_FROM": "Courier <noreply@example.com>", "COURIER_PUBLIC_URL": "https://sync.example.com",
		}
		err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data", smtp.Addr)}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		m.SMTPTLS = &tls.Config{RootCAs: client.Transport.(*http.Transport).TLSClientConfig.RootCAs}
		m.Stderr = io.Discard
		start(t, m)
		status, body := postJSON(t, client, "https://"+m.Addr()+syncproto.PathSignUp, syncproto.SignUpRequest{
			Username: "pat", Email: "pat@example.com", Credentials: creds(), RecoveryWrappedKey: bytes.Repeat([]byte{4}, 72)})
		if status != http.StatusAccepted {
			t.Fatalf("sign up: %d %s", status, body)
		}
		mail := smtp.WaitFor(t, "pat@example.com", "Confirm", 0)
		if !mail.TLS || !mail.Authed || !strings.HasPrefix(mail.Link(), "https://sync.example.com/v1/email/confirm?token=") {
			t.Fatalf("implicit=%v: mail tls=%v auth=%v link=%q", implicit, mail.TLS, mail.Authed, mail.Link())
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(m *Main) bool
	}{
		{"env fills flags", nil, map[string]string{"COURIER_ADDR": ":9000", "COURIER_DEV": "true"}, "", func(m *Main) bool { return m.BindAddr == ":9000" && m.Dev }},
		{"flag beats env", []string{"--addr", ":1"}, map[string]string{"COURIER_ADDR": ":9000"}, "", func(m *Main) bool { return m.BindAddr == ":1" }},
		{"bad bool env is refused", nil, map[string]string{"COURIER_DEV": "maybe"}, "COURIER_DEV", nil},
		{"stray argument is refused", []string{"serve"}, nil, "unexpected argument", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stderr: io.Discard}
			err := m.ParseFlags(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(m) {
				t.Fatalf("err = %v, main = %+v", err, m)
			}
		})
	}
}

func TestHelpNamesEveryEnvVariable(t *testing.T) {
	var out bytes.Buffer
	m := &Main{Stderr: &out}
	if err := m.ParseFlags([]string{"--help"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, env := range []string{"COURIER_ADDR", "COURIER_PUBLIC_URL", "COURIER_DATA", "COURIER_TLS_CERT", "COURIER_TLS_KEY", "COURIER_DEV", "COURIER_SMTP", "COURIER_MAIL_FROM"} {
		if !strings.Contains(out.String(), "$"+env) {
			t.Errorf("--help does not mention %s", env)
		}
	}
}

func TestProductionWithoutTLSOrMailIsRefused(t *testing.T) {
	dir := t.TempDir()
	m := &Main{DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: io.Discard}
	if err := m.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("no TLS: err = %v", err)
	}
	syncserver.DevCertificate(dir, time.Now())
	m = &Main{DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: io.Discard, PublicURL: "https://x.example",
		TLSCert: filepath.Join(dir, syncserver.DevCertFile), TLSKey: filepath.Join(dir, syncserver.DevCertKeyFile)}
	err := m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "--smtp") {
		t.Fatalf("no SMTP: err = %v", err)
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), &Main{Stderr: &errb, Version: "1.2.3"}, []string{"--version"}, func(string) string { return "" }, &out); code != 0 || out.String() != "courier-server 1.2.3\n" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), &Main{Stderr: &errb}, []string{"--version"}, func(string) string { return "" }, &out); code != 0 || !strings.HasPrefix(out.String(), "courier-server devel") {
		t.Errorf("--version of a development build: exit %d, stdout %q", code, out.String())
	}
	errb.Reset()
	if code := run(context.Background(), &Main{Stderr: &errb}, []string{"--help"}, func(string) string { return "" }, &out); code != 0 || !strings.Contains(errb.String(), "-version") {
		t.Errorf("--help: exit %d, does not list --version:\n%s", code, errb.String())
	}
}

// TestErrorsAreToldWithoutTheirKinds: what the server prints on a failed
// start says what is wrong and what to do, without the error kinds meant
// for code (": invalid input", ": unavailable").
func TestErrorsAreToldWithoutTheirKinds(t *testing.T) {
	dir := t.TempDir()
	held, err := boltstore.Open(filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a data folder in use", []string{"--dev", "--addr", "127.0.0.1:0", "--data", dir}, 1,
			"another courier-server is using the data folder " + dir + ": stop it first, or give this one another --data"},
		{"a public URL of http", []string{"--dev", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--public-url", "http://x"}, 1,
			`--public-url "http://x": want https://HOST[:PORT], the address users reach the server at`},
		{"a bad --oidc", []string{"--oidc", "bad"}, 2, "--oidc wants NAME=ISSUER,CLIENT_ID,CLIENT_SECRET"},
		{"an --oidc without its secret", []string{"--oidc", "google=id-only-secret"}, 2, "--oidc google: want NAME=ISSUER,CLIENT_ID,CLIENT_SECRET (google=CLIENT_ID,CLIENT_SECRET for Google)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			code := run(context.Background(), &Main{Stderr: &errb}, tt.args, func(string) string { return "" }, io.Discard)
			want := "courier-server: " + tt.want + "\n"
			if tt.code == 2 {
				want += "Run 'courier-server --help' for the flags.\n"
			}
			if code != tt.code || errb.String() != want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errb.String(), tt.code, want)
			}
		})
	}
}
