package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/syncserver/servertest"
)

// oidcRun runs courier with a test browser that follows the sign-in page
// to the loopback redirect.
func oidcRun(t *testing.T, srv *servertest.Server, profile, stdin string, args ...string) result {
	t.Helper()
	env := map[string]string{"COURIER_SERVER": srv.URL, "COURIER_CA": srv.CAFile}
	return run(t, runOpts{stdin: stdin, env: env, main: func(m *Main) {
		m.OpenBrowser = func(ctx context.Context, u string) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
	}}, append(args, "--profile", profile)...)
}

func TestOIDCSignupAndLoginCommands(t *testing.T) {
	gokeyring.MockInit()
	srv := servertest.Start(t, servertest.Options{OIDC: true})
	m := srv.OIDC
	user := &mockoidc.MockUser{Subject: "sub-cli", Email: "cli@example.com", EmailVerified: true}
	first, second, third := t.TempDir(), t.TempDir(), t.TempDir()

	m.QueueUser(user)
	r := oidcRun(t, srv, second, "pass\n", "login", "--oidc", "mock", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "courier signup --oidc mock") {
		t.Fatalf("login before sign-up: exit %d, stderr %q", r.code, r.stderr)
	}

	m.QueueUser(user)
	r = oidcRun(t, srv, first, "a long passphrase\n", "signup", "--oidc", "mock", "--username", "clio", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "Account clio (cli@example.com) created") || !strings.Contains(r.stderr, "http://127.0.0.1:") {
		t.Fatalf("signup --oidc: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	rk := recoveryKeyRE.FindString(r.stdout)
	if rk == "" {
		t.Fatalf("no recovery key in %q", r.stdout)
	}
	key := profileKey(t, first)

	m.QueueUser(user)
	r = oidcRun(t, srv, second, "wrong passphrase\n", "login", "--oidc", "mock", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "passphrase") {
		t.Fatalf("login with a wrong passphrase: exit %d, stderr %q", r.code, r.stderr)
	}
	m.QueueUser(user)
	r = oidcRun(t, srv, second, "a long passphrase\n", "login", "--oidc", "mock", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "Signed in as clio") {
		t.Fatalf("login --oidc: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !bytes.Equal(profileKey(t, second), key) {
		t.Fatal("login --oidc opened another account key")
	}

	m.QueueUser(user)
	r = oidcRun(t, srv, third, rk+"\n", "login", "--oidc", "mock", "--recovery-key")
	if r.code != 0 || !bytes.Equal(profileKey(t, third), key) {
		t.Fatalf("login --oidc --recovery-key: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	r = oidcRun(t, srv, t.TempDir(), "", "signup", "--oidc", "mock", "--username", "x", "--email", "x@example.com")
	if r.code != ExitUsage {
		t.Fatalf("signup --oidc with --email: exit %d, want usage", r.code)
	}
}
