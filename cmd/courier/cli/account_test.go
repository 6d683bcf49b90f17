package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/internal/silent"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

// startSyncServer starts a real sync server on loopback without rate
// limits or OIDC providers.
func startSyncServer(t *testing.T) *servertest.Server {
	t.Helper()
	return servertest.Start(t, servertest.Options{})
}

var (
	recoveryKeyRE = regexp.MustCompile(`\b[0-9A-Z]{4}(-[0-9A-Z]{4}){7}\b`)
	resetCodeRE   = regexp.MustCompile(`\b[0-9A-Z]{5}-?[0-9A-Z]{5}\b`)
)

// accountCLI runs courier commands against one server, one profile each.
type accountCLI struct {
	t   *testing.T
	srv *servertest.Server
}

func (c accountCLI) run(profile, stdin string, args ...string) result {
	c.t.Helper()
	env := map[string]string{"COURIER_SERVER": c.srv.URL, "COURIER_CA": c.srv.CAFile}
	return run(c.t, runOpts{stdin: stdin, env: env}, append(args, "--profile", profile)...)
}

// ok runs a command that must succeed and returns its stdout.
func (c accountCLI) ok(profile, stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(profile, stdin, args...)
	if r.code != 0 {
		c.t.Fatalf("courier %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with a message holding want.
func (c accountCLI) fails(profile, stdin, want string, args ...string) {
	c.t.Helper()
	r := c.run(profile, stdin, args...)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("courier %s: exit %d, stderr %q; want a failure saying %q", strings.Join(args, " "), r.code, r.stderr, want)
	}
}

// profileKey reads the account key a profile keeps in the keyring.
func profileKey(t *testing.T, dir string) []byte {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var a app.Account
	err = db.Setting(context.Background(), "app.account", &a)
	db.Close()
	if err != nil || !a.SignedIn {
		t.Fatalf("profile %s: account %+v, %v", dir, a, err)
	}
	k, err := keyring.New(keyringService, keyring.ProfileID(dir)).Get(context.Background(), "account/"+a.AccountID+"/key")
	if err != nil {
		t.Fatalf("account key not in the keyring: %v", err)
	}
	return k
}

// assertNotInFiles fails when any file under dir holds secret in raw,
// base64 or hex form.
func assertNotInFiles(t *testing.T, dir string, secret []byte) {
	t.Helper()
	forms := [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(hex.EncodeToString(secret))}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(b, f) {
				t.Errorf("%s holds the account key", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAccountCommandsEndToEnd drives every account command against a real
// server: sign up, confirm, sign in on two devices, change the password,
// forget and reset it with the recovery key, list and revoke devices.
func TestAccountCommandsEndToEnd(t *testing.T) {
	gokeyring.MockInit() // an in-process OS keyring that lasts across commands
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	laptop, desktop := t.TempDir(), t.TempDir()
	const email, pw1, pw2, pw3 = "ann@example.com", "correct horse battery", "second password", "third password"

	out := c.ok(laptop, pw1+"\n", "signup", "--email", email, "--username", "ann", "--password-stdin")
	rk := recoveryKeyRE.FindString(out)
	if rk == "" || !strings.Contains(out, "Keep it somewhere safe") {
		t.Fatalf("signup printed no recovery key with a warning:\n%s", out)
	}
	srv.NextMail(t, "confirm")
	c.fails(laptop, pw1+"\n", "confirm your email", "login", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "confirm-resend")
	link := srv.NextMail(t, "confirm").Links[0]
	c.ok(laptop, "", "confirm", link)

	c.fails(laptop, "wrong password\n", "wrong email, username or password", "login", "--username", "ann", "--password-stdin")
	if out := c.ok(laptop, pw1+"\n", "login", "--username", "ann", "--password-stdin"); !strings.Contains(out, "Signed in as ann") {
		t.Fatalf("login said %q", out)
	}
	key := profileKey(t, laptop)
	c.ok(desktop, pw1+"\n", "login", "--email", email, "--password-stdin", "--server", srv.URL)
	if !bytes.Equal(profileKey(t, desktop), key) {
		t.Fatal("two devices hold different account keys")
	}
	if out := c.ok(laptop, "", "devices"); strings.Count(out, "\n") != 3 || !strings.Contains(out, "(this device)") {
		t.Fatalf("devices after two sign-ins:\n%s", out)
	}

	c.fails(laptop, "not it\n"+pw2+"\n", "current password is wrong", "password", "change", "--password-stdin")
	c.ok(laptop, pw1+"\n"+pw2+"\n", "password", "change", "--password-stdin")
	c.fails(desktop, "", "sign in again", "devices")
	// The device remembers the refusal: status says so without a sync.
	if out := c.ok(desktop, "", "status"); !strings.Contains(out, "not signed in: the server ended this device's session") ||
		!strings.Contains(out, "sync:      action needed: sign in again") {
		t.Fatalf("status after the server ended the session:\n%s", out)
	}
	c.fails(desktop, "", "sign in again with 'courier login'", "devices")
	c.ok(laptop, "", "devices")

	c.ok(desktop, "", "password", "forgot", "--email", email)
	code := resetCodeRE.FindString(srv.NextMail(t, "reset").Text)
	c.fails(desktop, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA\n"+pw3+"\n", "recovery key does not open",
		"password", "reset", "--email", email, "--code", code, "--recovery-key-stdin", "--password-stdin")
	c.ok(desktop, rk+"\n"+pw3+"\n", "password", "reset", "--email", email, "--code", code, "--recovery-key-stdin", "--password-stdin")
	c.fails(laptop, "", "sign in again", "devices")

	c.ok(laptop, pw3+"\n", "login", "--username", "ann", "--password-stdin")
	if !bytes.Equal(profileKey(t, laptop), key) {
		t.Fatal("after the reset the account key changed")
	}
	c.ok(desktop, pw3+"\n", "login", "--email", email, "--password-stdin")
	c.ok(laptop, "", "username", "remind", "--email", email)
	if m := srv.NextMail(t, "username"); !strings.Contains(m.Text, "ann") {
		t.Fatalf("username email: %q", m.Text)
	}

	c.ok(laptop, "", "devices", "--revoke", sessionOf(t, c, desktop))
	c.fails(desktop, "", "sign in again", "devices")
	if r := c.run(laptop, "", "devices", "--revoke", "nonexistent"); r.code != ExitFailure ||
		r.stderr != "courier devices: this account has no device with the ID nonexistent (see courier devices)\n" {
		t.Errorf("devices --revoke of no device: exit %d, stderr %q", r.code, r.stderr)
	}

	c.ok(laptop, "", "logout")
	if r := c.run(laptop, "", "devices"); r.code != ExitFailure || r.stderr != "courier devices: not signed in; sign in with 'courier login'\n" {
		t.Errorf("devices signed out: exit %d, stderr %q; want it to name courier login", r.code, r.stderr)
	}
	assertNotInFiles(t, laptop, key)
	assertNotInFiles(t, desktop, key)
}

func TestAccountCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"signup needs email and username", []string{"signup", "--email", "a@b.co"}, "needs --email and --username"},
		{"login needs one identifier", []string{"login"}, "exactly one of --email and --username"},
		{"login refuses both identifiers", []string{"login", "--email", "a@b.co", "--username", "ann"}, "exactly one"},
		{"password needs a subcommand", []string{"password"}, "forgot|reset|change"},
		{"reset refuses two key sources", []string{"password", "reset", "--email", "a@b.co", "--code", "x", "--recovery-key-stdin", "--erase-data"}, "exclude each other"},
		{"username needs remind", []string{"username", "tell"}, "username remind"},
		{"username needs remind before its flags", []string{"username", "--email", "ann@example.org"}, "usage: courier username remind --email E"},
		{"a password needs a terminal or --password-stdin", []string{"login", "--username", "ann", "--server", "https://127.0.0.1:1"}, "--password-stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{}, append(tt.args, "--profile", t.TempDir())...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d stderr %q; want exit 2 saying %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestAccountCommandsRefusePlainHTTPAndBadCAFiles(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an http server is refused", []string{"password", "forgot", "--email", "a@b.co", "--server", "http://127.0.0.1:8443"}, ExitUsage, "--server: server URL \"http://127.0.0.1:8443\" must start with https://"},
		{"a server without a host is refused", []string{"login", "--username", "ann", "--server", "https://"}, ExitUsage, `--server: server URL "https://" has no host`},
		{"an http server from the environment is refused", []string{"password", "forgot", "--email", "a@b.co"}, ExitFailure, "https://"},
		{"a missing CA file is named", []string{"password", "forgot", "--email", "a@b.co", "--ca", "/nonexistent/ca.pem"}, ExitFailure, "/nonexistent/ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env map[string]string
			if strings.Contains(tt.name, "environment") {
				env = map[string]string{"COURIER_SERVER": "http://127.0.0.1:8443"}
			}
			r := run(t, runOpts{env: env}, append(tt.args, "--profile", t.TempDir())...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d stderr %q; want exit %d saying %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

// TestLoginWithoutKeyringFailsAndEraseWarns covers the paths a person
// must be told about: no OS keyring (a sign-in would end with the
// command, so none is made) and erasing the synced data.
func TestLoginWithoutKeyringFailsAndEraseWarns(t *testing.T) {
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	gokeyring.MockInit()
	profile := t.TempDir()
	const email, pw = "bob@example.com", "bobs password"
	c.ok(profile, pw+"\n", "signup", "--email", email, "--username", "bob", "--password-stdin")
	c.ok(profile, "", "confirm", srv.NextMail(t, "confirm").Links[0])

	sessions := func() int {
		st, err := srv.Storage().Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Sessions
	}
	before := sessions()
	gokeyring.MockInitWithError(errors.New("dbus: no session bus"))
	t.Cleanup(gokeyring.MockInit)
	r := c.run(profile, pw+"\n", "login", "--email", email, "--password-stdin")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "no system keyring is reachable") || !strings.Contains(r.stderr, "sign in again") {
		t.Fatalf("login without keyring: exit %d, stderr %q; want it refused, saying why", r.code, r.stderr)
	}
	if n := sessions(); n != before {
		t.Errorf("the refused login left %d sessions on the server; want %d", n, before)
	}
	for _, args := range [][]string{{"login", "--oidc", "corp"}, {"signup", "--oidc", "corp", "--username", "bobby"}} {
		if r := c.run(profile, "", args...); r.code != ExitFailure || !strings.Contains(r.stderr, "no system keyring is reachable") {
			t.Errorf("%v without keyring: exit %d, stderr %q; want it refused", args, r.code, r.stderr)
		}
	}

	gokeyring.MockInit()
	c.ok(profile, "", "password", "forgot", "--email", email)
	code := resetCodeRE.FindString(srv.NextMail(t, "reset").Text)
	r = c.run(profile, "new password 1\n", "password", "reset", "--email", email, "--code", code, "--erase-data", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stderr, "deletes, for good") || recoveryKeyRE.FindString(r.stdout) == "" {
		t.Fatalf("erase: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	c.ok(profile, "new password 1\n", "login", "--email", email, "--password-stdin")
}

// TestAccountErrorsNameNoInternalStep: a message says what the person
// was doing (sign in, change or reset the password), not the name of a
// step of it (prelogin, fetch recovery key).
func TestAccountErrorsNameNoInternalStep(t *testing.T) {
	gokeyring.MockInit()
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	profile := t.TempDir()
	const email, pw = "cat@example.com", "cats password"
	c.ok(profile, pw+"\n", "signup", "--email", email, "--username", "cat", "--password-stdin")
	c.ok(profile, "", "confirm", srv.NextMail(t, "confirm").Links[0])

	r := c.run(profile, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA\nnew password 1\n",
		"password", "reset", "--email", email, "--code", "AAAAA-AAAAA", "--recovery-key-stdin", "--password-stdin")
	if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier password: reset password: ") || strings.Contains(r.stderr, "recovery key:") {
		t.Errorf("password reset with a wrong code: exit %d, stderr %q", r.code, r.stderr)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	r = c.run(profile, pw+"\n", "login", "--username", "cat", "--password-stdin", "--server", "https://"+closed)
	if want := "courier login: sign in: cannot connect to " + closed + ": connection refused\n"; r.code != ExitFailure || r.stderr != want {
		t.Errorf("login to no server: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}

	c.ok(profile, pw+"\n", "login", "--username", "cat", "--password-stdin")
	srv.Stop()
	r = c.run(profile, pw+"\nnew password 2\n", "password", "change", "--password-stdin")
	if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier password: change password: cannot connect to ") || strings.Contains(r.stderr, "prelogin") {
		t.Errorf("password change with the server stopped: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestServerTroubleIsToldInCourierWords: a server whose CA is not trusted
// is told with courier's way to trust it (not the window's), and a server
// that does not answer as such, without Go's words.
func TestServerTroubleIsToldInCourierWords(t *testing.T) {
	gokeyring.MockInit()
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	profile := t.TempDir()
	r := run(t, runOpts{}, "password", "forgot", "--email", "dan@example.com", "--server", srv.URL, "--profile", profile)
	want := "courier password: forgot password: the certificate of " + srv.Addr + " is not signed by a CA this computer trusts (for a self-hosted server, pass its CA certificate with --ca FILE)\n"
	if r.code != ExitFailure || r.stderr != want {
		t.Errorf("a server of an untrusted CA: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}

	const pw = "dans password"
	c.ok(profile, pw+"\n", "signup", "--email", "dan@example.com", "--username", "dan", "--password-stdin")
	c.ok(profile, "", "confirm", srv.NextMail(t, "confirm").Links[0])
	c.ok(profile, pw+"\n", "login", "--username", "dan", "--password-stdin")
	srv.Stop()
	silent.Listen(t, srv.Addr) // takes connections, answers nothing
	defer func(d time.Duration) { statusCheckTimeout = d }(statusCheckTimeout)
	statusCheckTimeout = 300 * time.Millisecond
	out := c.ok(profile, "", "status")
	if want := "(not reached: " + srv.Addr + " did not answer in time; check that the server is running and reachable, then try again)"; !strings.Contains(out, want) {
		t.Errorf("status with a server that does not answer:\n%s\nwant it to say %q", out, want)
	}
}

// TestAMissingCAFileOfTheSignInIsNamed: the CA file given at sign-in is
// remembered; once it is gone, the commands that reach the server say so
// and how to go on.
func TestAMissingCAFileOfTheSignInIsNamed(t *testing.T) {
	gokeyring.MockInit()
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	profile := t.TempDir()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	b, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, b, 0o600); err != nil {
		t.Fatal(err)
	}
	const pw = "eves password"
	c.ok(profile, pw+"\n", "signup", "--email", "eve@example.com", "--username", "eve", "--password-stdin")
	c.ok(profile, "", "confirm", srv.NextMail(t, "confirm").Links[0])
	if r := run(t, runOpts{stdin: pw + "\n"}, "login", "--username", "eve", "--password-stdin", "--server", srv.URL, "--ca", ca, "--profile", profile); r.code != 0 {
		t.Fatalf("login --ca: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := os.Remove(ca); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"devices", "sync"} {
		r := run(t, runOpts{}, cmd, "--profile", profile)
		want := "courier " + cmd + ": the CA file given at sign-in, " + ca + ", is missing: pass the server's CA certificate with --ca FILE (or COURIER_CA), or sign in again with --ca FILE\n"
		if r.code != ExitFailure || r.stderr != want {
			t.Errorf("courier %s: exit %d, stderr %q; want %q", cmd, r.code, r.stderr, want)
		}
	}
	if r := run(t, runOpts{}, "devices", "--profile", profile, "--ca", srv.CAFile); r.code != 0 {
		t.Errorf("devices --ca: exit %d, stderr %q", r.code, r.stderr)
	}
}
