package ui

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// fakeOIDC is the provider sign-in of fakeAccounts: what the server
// offers and answers. Guarded by fakeAccounts.mu.
type fakeOIDC struct {
	providers    []syncproto.OIDCProviderInfo
	providersErr error
	servers      []string // the servers asked for providers
	status       string   // the status OIDCAuthorize answers
	authErr      error
	block        bool // OIDCAuthorize waits until cancelled
	lateAnswer   bool // with block: then answers anyway (the server was done)
	opened       []string
	passphrase   string // OIDCUnlock accepts only this
	recoveryKey  string // OIDCUnlockWithRecoveryKey accepts only this
	created      []string
	identities   []syncproto.OIDCIdentity
	linked       []string
}

const fakeOIDCRecoveryKey = "OIDC-RKEY-0000-1111"

func (f *fakeAccounts) OIDCProviders(_ context.Context, server string) ([]syncproto.OIDCProviderInfo, error) {
	f.record("OIDCProviders")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oidc.servers = append(f.oidc.servers, server)
	return f.oidc.providers, f.oidc.providersErr
}

func (f *fakeAccounts) browse(ctx context.Context, in app.OIDCInput) error {
	if err := in.Open("https://accounts.example.com/auth?state=s1"); err != nil {
		return err
	}
	f.mu.Lock()
	f.oidc.opened = append(f.oidc.opened, in.Provider)
	block, late := f.oidc.block, f.oidc.lateAnswer
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		if late {
			return nil
		}
		return ctx.Err()
	}
	_, err := in.Redirect.Wait(ctx, "s1")
	return err
}

func (f *fakeAccounts) OIDCAuthorize(ctx context.Context, in app.OIDCInput) (app.OIDCResult, error) {
	f.record("OIDCAuthorize")
	if err := f.browse(ctx, in); err != nil {
		return app.OIDCResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oidc.authErr != nil {
		return app.OIDCResult{}, f.oidc.authErr
	}
	res := app.OIDCResult{Status: f.oidc.status, Email: "ada@example.com"}
	if res.Status == syncproto.OIDCStatusSignedIn {
		res.Username = "ada"
	} else {
		res.SuggestedUsername = "ada.lovelace"
	}
	return res, nil
}

func (f *fakeAccounts) signInOIDC() app.Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.account = app.Account{ServerURL: "https://127.0.0.1:8443", AccountID: "acc1", Username: "ada", Email: "ada@example.com", SignedIn: true}
	return f.account
}

func (f *fakeAccounts) OIDCUnlock(_ context.Context, _ app.OIDCResult, passphrase string) (app.Account, error) {
	f.record("OIDCUnlock")
	f.mu.Lock()
	ok := passphrase == f.oidc.passphrase
	f.mu.Unlock()
	if !ok {
		return app.Account{}, fmt.Errorf("the encryption passphrase does not open this account's data: %w", model.ErrUnauthorized)
	}
	return f.signInOIDC(), nil
}

func (f *fakeAccounts) OIDCUnlockWithRecoveryKey(_ context.Context, _ app.OIDCResult, key string) (app.Account, error) {
	f.record("OIDCUnlockWithRecoveryKey")
	f.mu.Lock()
	ok := key == f.oidc.recoveryKey
	f.mu.Unlock()
	if !ok {
		return app.Account{}, fmt.Errorf("the recovery key does not open this account's data: %w", model.ErrUnauthorized)
	}
	return f.signInOIDC(), nil
}

func (f *fakeAccounts) OIDCCancel(context.Context, app.OIDCResult) { f.record("OIDCCancel") }

func (f *fakeAccounts) OIDCCreateAccount(_ context.Context, _ app.OIDCResult, username, _ string) (app.Account, string, error) {
	f.record("OIDCCreateAccount")
	f.mu.Lock()
	f.oidc.created = append(f.oidc.created, username)
	f.mu.Unlock()
	return f.signInOIDC(), fakeOIDCRecoveryKey, nil
}

func (f *fakeAccounts) OIDCLink(ctx context.Context, in app.OIDCInput) error {
	f.record("OIDCLink")
	if err := f.browse(ctx, in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oidc.linked = append(f.oidc.linked, in.Provider)
	f.oidc.identities = append(f.oidc.identities, syncproto.OIDCIdentity{Provider: in.Provider, Email: "ada@example.com"})
	return nil
}

func (f *fakeAccounts) OIDCIdentities(context.Context) ([]syncproto.OIDCIdentity, error) {
	f.record("OIDCIdentities")
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syncproto.OIDCIdentity(nil), f.oidc.identities...), nil
}

func (f *fakeAccounts) set(fn func(o *fakeOIDC)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.oidc)
}

// fakeLoopback answers the redirect at once.
type fakeLoopback struct{}

func (fakeLoopback) RedirectURI() string { return "http://127.0.0.1:1/callback" }

func (fakeLoopback) Wait(_ context.Context, state string) (string, error) {
	if state != "s1" {
		return "", fmt.Errorf("state %q: %w", state, model.ErrUnauthorized)
	}
	return "code1", nil
}

func (fakeLoopback) Close() error { return nil }

// newOIDCHarness is an account harness whose server offers Google and
// whose browser answers at once.
func newOIDCHarness(t *testing.T, providers ...syncproto.OIDCProviderInfo) *accountHarness {
	t.Helper()
	h := newAccountHarness(t)
	h.acc.set(func(o *fakeOIDC) {
		o.providers = providers
		o.status = syncproto.OIDCStatusSignedIn
		o.passphrase = "secret passphrase"
		o.recoveryKey = "RKEY-1234"
	})
	opts := &h.mw.core.(wiredCore).acct.opts
	opts.OIDCListen = func() (OIDCListener, error) { return fakeLoopback{}, nil }
	opts.OpenURL = func(*url.URL) error { return nil }
	return h
}

var googleProvider = syncproto.OIDCProviderInfo{Name: "google", DisplayName: "Google"}
