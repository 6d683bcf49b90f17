package syncclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
)

// startOIDCServer runs a syncserver over TLS on loopback, with the
// server's default limits, that trusts an in-process mockoidc provider
// named "mock".
func startOIDCServer(t *testing.T) (*servertest.Server, *mockoidc.MockOIDC) {
	t.Helper()
	limits := syncserver.DefaultLimits()
	srv := servertest.Start(t, servertest.Options{OIDC: true, Limits: &limits})
	return srv, srv.OIDC
}

// newOIDCDevice is a profile (a real store) with its own secrets, whose
// account API is the real client of srv.
func newOIDCDevice(t *testing.T, srv *servertest.Server) *app.Accounts {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	x, err := app.NewAccounts(db, app.AccountsOptions{
		Secrets: keyring.NewMemory(), KDFParams: vault.MinKDFParams, DeviceName: "test device",
		Dial: srv.Dial(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// testBrowser plays the system browser: it follows the authorization URL,
// redirects included, to the app's loopback listener. rewrite may change
// the URL first (an attacker's link).
func testBrowser(t *testing.T, rewrite func(*url.URL)) func(string) error {
	return func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		if rewrite != nil {
			rewrite(u)
		}
		go func() {
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u.String())
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		return nil
	}
}

func authorize(t *testing.T, x *app.Accounts, srv *servertest.Server, rewrite func(*url.URL)) (app.OIDCResult, error) {
	t.Helper()
	lb, err := syncclient.ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return x.OIDCAuthorize(ctx, app.OIDCInput{ServerURL: srv.URL, CAFile: srv.CAFile, Provider: "mock", Redirect: lb, Open: testBrowser(t, rewrite)})
}

func sessionKey(t *testing.T, x *app.Accounts) vault.AccountKey {
	t.Helper()
	s, err := x.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Key
}

func TestOIDCSignUpAndSignInOnAnotherDeviceEndToEnd(t *testing.T) {
	srv, m := startOIDCServer(t)
	ctx := context.Background()
	user := &mockoidc.MockUser{Subject: "sub-ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "ada"}

	first := newOIDCDevice(t, srv)
	providers, err := first.OIDCProviders(ctx, srv.URL)
	if err != nil || len(providers) != 1 || providers[0].Name != "mock" || providers[0].DisplayName != "Mock" {
		t.Fatalf("providers = %+v, %v", providers, err)
	}
	m.QueueUser(user)
	res, err := authorize(t, first, srv, nil)
	if err != nil || res.Status != syncproto.OIDCStatusNeedsSignUp || res.Email != "ada@example.com" || res.SuggestedUsername != "ada" {
		t.Fatalf("first authorize = %+v, %v", res, err)
	}
	acct, recovery, err := first.OIDCCreateAccount(ctx, res, "ada", "correct horse battery")
	if err != nil || !acct.SignedIn || acct.Username != "ada" || recovery == "" {
		t.Fatalf("create = %+v, %q, %v", acct, recovery, err)
	}
	key := sessionKey(t, first)

	second := newOIDCDevice(t, srv)
	m.QueueUser(user)
	res, err = authorize(t, second, srv, nil)
	if err != nil || res.Status != syncproto.OIDCStatusSignedIn || res.Username != "ada" {
		t.Fatalf("second authorize = %+v, %v", res, err)
	}
	if _, err := second.OIDCUnlock(ctx, res, "wrong passphrase"); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("unlock with a wrong passphrase: err = %v, want ErrUnauthorized", err)
	}
	if _, err := second.Session(ctx); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("a device that failed to unlock has a session: %v", err)
	}
	if _, err := second.OIDCUnlock(ctx, res, "correct horse battery"); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if got := sessionKey(t, second); got != key {
		t.Fatal("the second device opened another account key")
	}

	third := newOIDCDevice(t, srv)
	m.QueueUser(user)
	res, err = authorize(t, third, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := third.OIDCUnlockWithRecoveryKey(ctx, res, recovery); err != nil {
		t.Fatalf("unlock with the recovery key: %v", err)
	}
	if got := sessionKey(t, third); got != key {
		t.Fatal("the recovery key opened another account key")
	}
}

func TestOIDCLoopbackRefusesAStateMismatch(t *testing.T) {
	srv, m := startOIDCServer(t)
	x := newOIDCDevice(t, srv)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.com", EmailVerified: true})
	_, err := authorize(t, x, srv, func(u *url.URL) {
		q := u.Query()
		q.Set("state", "forged-state")
		u.RawQuery = q.Encode()
	})
	if !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("authorize with a forged state: err = %v, want ErrInvalid", err)
	}
}

func TestOIDCLinkFromAPasswordSessionEndToEnd(t *testing.T) {
	srv, m := startOIDCServer(t)
	ctx := context.Background()
	x := newOIDCDevice(t, srv)
	if _, err := x.SignUp(ctx, app.SignUpInput{ServerURL: srv.URL, CAFile: srv.CAFile, Email: "bo@example.com", Username: "bob", Password: "bo's password"}); err != nil {
		t.Fatal(err)
	}
	if err := x.ConfirmEmail(ctx, srv.URL, srv.NextMail(t, "confirm").Links[0]); err != nil {
		t.Fatal(err)
	}
	user := &mockoidc.MockUser{Subject: "sub-bo", Email: "bo@example.com", EmailVerified: true}
	m.QueueUser(user)
	if _, err := authorize(t, x, srv, nil); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("provider sign-in to an unlinked account with the same email: err = %v, want ErrConflict", err)
	}
	if _, err := x.SignIn(ctx, app.SignInInput{ServerURL: srv.URL, CAFile: srv.CAFile, Identifier: "bob", Password: "bo's password"}); err != nil {
		t.Fatal(err)
	}
	key := sessionKey(t, x)
	lb, err := syncclient.ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	m.QueueUser(user)
	if err := x.OIDCLink(ctx, app.OIDCInput{Provider: "mock", Redirect: lb, Open: testBrowser(t, nil)}); err != nil {
		t.Fatalf("link: %v", err)
	}
	if ids, err := x.OIDCIdentities(ctx); err != nil || len(ids) != 1 || ids[0].Provider != "mock" {
		t.Fatalf("identities after link = %+v, %v", ids, err)
	}
	other := newOIDCDevice(t, srv)
	m.QueueUser(user)
	res, err := authorize(t, other, srv, nil)
	if err != nil || res.Status != syncproto.OIDCStatusSignedIn {
		t.Fatalf("sign-in after link = %+v, %v", res, err)
	}
	if _, err := other.OIDCUnlock(ctx, res, "bo's password"); err != nil {
		t.Fatal(err)
	}
	if sessionKey(t, other) != key {
		t.Fatal("the linked sign-in opened another account key")
	}
}
