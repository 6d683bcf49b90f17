package ui

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
)

// startOIDCTestServer runs a real syncserver over TLS on loopback, with
// the server's default limits, that trusts an in-process mockoidc
// provider named "mock" (srv.OIDC).
func startOIDCTestServer(t *testing.T) *servertest.Server {
	t.Helper()
	limits := syncserver.DefaultLimits()
	return servertest.Start(t, servertest.Options{OIDC: true, Limits: &limits})
}

// newOIDCDeviceWindow is a window over a real profile whose accounts are
// the real app.Accounts with the real client of srv, the real
// loopback listener, and a browser that follows the sign-in page's
// redirects; sync and the profile join are fakes.
func newOIDCDeviceWindow(t *testing.T, srv *servertest.Server) (*accountHarness, *app.Accounts) {
	t.Helper()
	h := &accountHarness{t: t, loop: newUILoop(), syncer: newFakeSyncer(), joiner: &fakeJoiner{}}
	var acc *app.Accounts
	h.mw, h.core, _ = openWindow(t, store.Options{NoSync: true}, h.loop, func(core *app.App, db *store.DB) Core {
		var err error
		acc, err = app.NewAccounts(db, app.AccountsOptions{
			Secrets: keyring.NewMemory(), KDFParams: vault.MinKDFParams, DeviceName: "test device",
			Dial: srv.Dial(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		return withAccounts(core, &AccountOptions{
			Accounts: acc, Syncer: h.syncer, Profile: h.joiner, UseCA: func(string) error { return nil }, DefaultServer: srv.URL,
			OIDCListen: func() (OIDCListener, error) { return syncclient.ListenLoopback() },
			OpenURL:    func(u *url.URL) error { go followInBrowser(t, u); return nil },
		})
	})
	return h, acc
}

// followInBrowser plays the system browser: it follows u, redirects
// included, to the app's loopback listener.
func followInBrowser(t *testing.T, u *url.URL) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u.String())
	if err != nil {
		t.Errorf("browser: %v", err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// signInOnAnotherDevice opens a new device window, signs in there with
// Mock as user, unlocks with passphrase and returns the device's session;
// what names the sign-in when it fails.
func signInOnAnotherDevice(t *testing.T, srv *servertest.Server, user *mockoidc.MockUser, passphrase, what string) app.Session {
	t.Helper()
	h, acc := newOIDCDeviceWindow(t, srv)
	b := h.ui()
	b.ShowSignIn("")
	h.loop.until(t, "Continue with Mock shows", func() bool { return len(b.signIn.oidc.buttons) == 1 })
	srv.OIDC.QueueUser(user)
	test.Tap(b.signIn.oidc.buttons[0])
	h.loop.until(t, "the passphrase is asked", func() bool { return b.oidcUnlock != nil || b.signIn.Error() != "" })
	if b.oidcUnlock == nil {
		t.Fatalf("%s failed: %s", what, b.signIn.Error())
	}
	test.Type(b.oidcUnlock.secret, passphrase)
	test.Tap(b.oidcUnlock.submit)
	h.loop.until(t, "the second device joins", func() bool { return len(h.joiner.joined()) == 1 || b.oidcUnlock.Error() != "" })
	s, err := acc.Session(context.Background())
	if err != nil {
		t.Fatalf("second device session: %v (form: %q)", err, b.oidcUnlock.Error())
	}
	return s
}

func TestOIDCWindowSignsUpAndSignsInOnAnotherDeviceEndToEnd(t *testing.T) {
	srv := startOIDCTestServer(t)
	m := srv.OIDC
	user := &mockoidc.MockUser{Subject: "sub-ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "ada"}

	h, acc := newOIDCDeviceWindow(t, srv)
	a := h.ui()
	a.ShowSignUp()
	h.loop.until(t, "Continue with Mock shows", func() bool { return len(a.signUp.oidc.buttons) == 1 })
	if got := a.signUp.oidc.buttons[0].Text; got != "Continue with Mock" {
		t.Fatalf("button %q", got)
	}
	m.QueueUser(user)
	test.Tap(a.signUp.oidc.buttons[0])
	h.loop.until(t, "the new account is asked", func() bool { return a.oidcSignUp != nil || a.signUp.Error() != "" })
	if a.oidcSignUp == nil {
		t.Fatalf("sign-up failed: %s", a.signUp.Error())
	}
	if a.oidcSignUp.username.Text != "ada" {
		t.Fatalf("suggested username %q", a.oidcSignUp.username.Text)
	}
	test.Type(a.oidcSignUp.password, "correct horse battery")
	test.Type(a.oidcSignUp.again, "correct horse battery")
	test.Tap(a.oidcSignUp.submit)
	h.loop.until(t, "the recovery key shows", func() bool { return a.gate != nil || a.oidcSignUp.Error() != "" })
	if a.gate == nil {
		t.Fatalf("create failed: %s", a.oidcSignUp.Error())
	}
	test.Tap(a.gate.saved)
	test.Tap(a.gate.next)
	h.loop.until(t, "the first device joins", func() bool { return len(h.joiner.joined()) == 1 })
	first, err := acc.Session(context.Background())
	if err != nil {
		t.Fatalf("first device session: %v", err)
	}

	second := signInOnAnotherDevice(t, srv, user, "correct horse battery", "sign-in")
	if second.Key != first.Key {
		t.Fatal("the second device opened another account key")
	}
}

func TestOIDCWindowRefusesAnUnlinkedEmailThenLinksEndToEnd(t *testing.T) {
	srv := startOIDCTestServer(t)
	m := srv.OIDC
	ctx := context.Background()
	user := &mockoidc.MockUser{Subject: "sub-ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "ada"}
	h, acc := newOIDCDeviceWindow(t, srv)
	const password = "correct horse battery"
	if _, err := acc.SignUp(ctx, app.SignUpInput{ServerURL: srv.URL, CAFile: srv.CAFile, Email: user.Email, Username: "ada", Password: password}); err != nil {
		t.Fatalf("password sign-up: %v", err)
	}
	msg := srv.NextMail(t, "confirm")
	if len(msg.Links) == 0 {
		t.Fatalf("the confirmation email has no link: %+v", msg)
	}
	if err := acc.ConfirmEmail(ctx, srv.URL, msg.Links[0]); err != nil {
		t.Fatalf("confirm: %v", err)
	}

	a := h.ui()
	a.ShowSignIn("")
	h.loop.until(t, "Continue with Mock shows", func() bool { return len(a.signIn.oidc.buttons) == 1 })
	m.QueueUser(user)
	test.Tap(a.signIn.oidc.buttons[0])
	h.loop.until(t, "the conflict shows", func() bool { return a.signIn.Error() != "" || a.oidcUnlock != nil })
	if got, want := a.signIn.Error(), "An account with this email exists: sign in with its password, then link Mock from the account menu."; got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
	a.signIn.Close()

	if _, err := acc.SignIn(ctx, app.SignInInput{ServerURL: srv.URL, CAFile: srv.CAFile, Identifier: "ada", Password: password}); err != nil {
		t.Fatalf("password sign-in: %v", err)
	}
	h.syncer.set(app.SyncStatus{State: app.SyncInSync})
	h.mw.showSettings()
	h.loop.until(t, "Link Mock shows", func() bool { return a.settings != nil && len(a.settings.oidc.links) == 1 })
	if got := a.settings.oidc.linked.Text; got != "No provider signs in to this account yet." {
		t.Fatalf("linked identities %q", got)
	}
	m.QueueUser(user)
	test.Tap(a.settings.oidc.links[0])
	h.loop.until(t, "the link finishes", func() bool { return a.oidcLink != nil && (a.oidcLink.closed || a.oidcLink.Error() != "") })
	if e := a.oidcLink.Error(); e != "" {
		t.Fatalf("link failed: %s", e)
	}
	ids, err := acc.OIDCIdentities(ctx)
	if err != nil || len(ids) != 1 || ids[0].Provider != "mock" {
		t.Fatalf("identities %+v, %v", ids, err)
	}

	signInOnAnotherDevice(t, srv, user, password, "sign-in with the linked identity")
}
