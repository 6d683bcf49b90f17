package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// OIDCAPI is the OpenID Connect part of a server's API (syncclient.Client
// implements it with AccountAPI). Accounts type-asserts its dialled
// AccountAPI to it; one that lacks it makes the OIDC flows fail with
// model.ErrUnavailable.
type OIDCAPI interface {
	OIDCProviders(ctx context.Context) ([]syncproto.OIDCProviderInfo, error)
	OIDCStart(ctx context.Context, provider string, r syncproto.OIDCStartRequest) (syncproto.OIDCStartResponse, error)
	OIDCFinish(ctx context.Context, provider string, r syncproto.OIDCFinishRequest) (syncproto.OIDCFinishResponse, error)
	OIDCSignUp(ctx context.Context, r syncproto.OIDCSignUpRequest) (syncproto.SignInResponse, error)
	OIDCIdentities(ctx context.Context) ([]syncproto.OIDCIdentity, error)
}

// OIDCRedirect receives the provider's redirect on this device's loopback
// address (syncclient.Loopback implements it).
type OIDCRedirect interface {
	// RedirectURI is http://127.0.0.1:PORT/callback.
	RedirectURI() string
	// Wait returns the code of the redirect, refusing another state.
	Wait(ctx context.Context, state string) (code string, err error)
}

// OIDCInput says which provider to sign in with and how to reach the
// person's browser.
type OIDCInput struct {
	// ServerURL is the server; empty uses Accounts.ServerURL's choice.
	ServerURL string
	// CAFile is remembered with the server (see Account.CAFile).
	CAFile string
	// Provider is the server's name for it ("google").
	Provider string
	// Redirect receives the browser's redirect. Required.
	Redirect OIDCRedirect
	// Open shows the authorization URL to the person: it opens the
	// system browser and/or prints the URL. An error stops the flow.
	Open func(authURL string) error
}

// OIDCResult is a finished provider sign-in, before the data is unlocked.
// Status is a syncproto.OIDCStatus value:
//   - OIDCStatusSignedIn: call OIDCUnlock with the encryption passphrase
//     (or OIDCUnlockWithRecoveryKey), or OIDCCancel.
//   - OIDCStatusNeedsSignUp: call OIDCCreateAccount with a username and a
//     new passphrase. Email and SuggestedUsername come from the provider.
//   - OIDCStatusLinked: done (OIDCLink).
type OIDCResult struct {
	Status            string
	Email             string
	Username          string
	SuggestedUsername string

	server, caFile string
	resp           syncproto.OIDCFinishResponse
}

// oidcAPI dials server and checks it speaks OIDC.
func (x *Accounts) oidcAPI(server, token string) (OIDCAPI, error) {
	api, err := x.api(server, token)
	if err != nil {
		return nil, err
	}
	o, ok := api.(OIDCAPI)
	if !ok {
		return nil, fmt.Errorf("server %s: this client cannot sign in with a provider: %w", server, model.ErrUnavailable)
	}
	return o, nil
}

// OIDCProviders lists the providers server (empty: the remembered one)
// offers; none (an empty list) when it offers no provider sign-in.
func (x *Accounts) OIDCProviders(ctx context.Context, server string) ([]syncproto.OIDCProviderInfo, error) {
	api, err := x.oidcAPI(x.ServerURL(ctx, server), "")
	if err != nil {
		return nil, err
	}
	list, err := api.OIDCProviders(ctx)
	if errors.Is(err, model.ErrNotFound) {
		return []syncproto.OIDCProviderInfo{}, nil
	}
	return list, err
}

// OIDCAuthorize runs the provider part of a sign-in: the server starts the
// flow, the person signs in at the provider in the browser, the redirect
// comes back to in.Redirect (its state checked) and the server finishes
// with the code. It does not hold the Accounts lock while the browser is
// open. An account whose email matches but which is not linked to this
// identity is refused (model.ErrConflict): sign in with the password and
// use OIDCLink.
func (x *Accounts) OIDCAuthorize(ctx context.Context, in OIDCInput) (OIDCResult, error) {
	return x.authorize(ctx, in, "")
}

// OIDCLink links the provider identity to the signed-in account, so it
// signs in to it from now on. The person must have signed in with the
// password (or a linked identity) first.
func (x *Accounts) OIDCLink(ctx context.Context, in OIDCInput) error {
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return err
	}
	in.ServerURL = a.ServerURL
	_, err = x.authorize(ctx, in, tok)
	return err
}

// OIDCIdentities lists the provider identities linked to the signed-in
// account (for "Signed in with Google" in the account settings); empty
// when its server offers no provider sign-in.
func (x *Accounts) OIDCIdentities(ctx context.Context) ([]syncproto.OIDCIdentity, error) {
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	api, err := x.oidcAPI(a.ServerURL, tok)
	if err != nil {
		return nil, err
	}
	list, err := api.OIDCIdentities(ctx)
	if errors.Is(err, model.ErrNotFound) {
		return []syncproto.OIDCIdentity{}, nil
	}
	return list, x.refusedLocking(ctx, a, err)
}

func (x *Accounts) authorize(ctx context.Context, in OIDCInput, linkToken string) (OIDCResult, error) {
	if in.Redirect == nil || in.Open == nil {
		return OIDCResult{}, fmt.Errorf("sign in with %s: Redirect and Open are required: %w", in.Provider, model.ErrInvalid)
	}
	server := x.ServerURL(ctx, in.ServerURL)
	api, err := x.oidcAPI(server, linkToken)
	if err != nil {
		return OIDCResult{}, err
	}
	start, err := api.OIDCStart(ctx, in.Provider, syncproto.OIDCStartRequest{RedirectURI: in.Redirect.RedirectURI(), Link: linkToken != ""})
	if err != nil {
		return OIDCResult{}, err
	}
	if err := in.Open(start.AuthorizationURL); err != nil {
		return OIDCResult{}, fmt.Errorf("open the sign-in page: %w", err)
	}
	code, err := in.Redirect.Wait(ctx, start.State)
	if err != nil {
		return OIDCResult{}, err
	}
	resp, err := api.OIDCFinish(ctx, in.Provider, syncproto.OIDCFinishRequest{State: start.State, Code: code, DeviceName: x.device})
	if err != nil {
		return OIDCResult{}, err
	}
	res := OIDCResult{Status: resp.Status, Email: resp.Email, SuggestedUsername: resp.SuggestedUsername, server: server, caFile: in.CAFile, resp: resp}
	switch resp.Status {
	case syncproto.OIDCStatusSignedIn:
		if resp.Session == nil || resp.Session.Token == "" || resp.Session.AccountID == "" {
			return OIDCResult{}, fmt.Errorf("sign in with %s: the server's answer lacks the session: %w", in.Provider, model.ErrUnavailable)
		}
		res.Email, res.Username = resp.Session.Email, resp.Session.Username
	case syncproto.OIDCStatusNeedsSignUp, syncproto.OIDCStatusLinked:
	default:
		return OIDCResult{}, fmt.Errorf("sign in with %s: the server answered status %q: %w", in.Provider, resp.Status, model.ErrUnavailable)
	}
	return res, nil
}

// OIDCUnlock opens the account key of a signed-in result with the
// encryption passphrase (checking the server's KDF params against the
// floor), keeps the token and key in Secrets and remembers the account.
// A wrong passphrase wraps model.ErrUnauthorized; the result stays
// usable to try again.
func (x *Accounts) OIDCUnlock(ctx context.Context, res OIDCResult, passphrase string) (Account, error) {
	s, err := res.session()
	if err != nil {
		return Account{}, err
	}
	p := vaultKDF(s.KDFParams)
	if err := p.Validate(); err != nil {
		return Account{}, fmt.Errorf("the server asks for key derivation Courier does not accept, so the passphrase is not used: %w", err)
	}
	if passphrase == "" {
		return Account{}, fmt.Errorf("the encryption passphrase is empty: %w", model.ErrInvalid)
	}
	mk, err := vault.DeriveMaster(ctx, passphrase, s.KDFSalt, p)
	if err != nil {
		return Account{}, err
	}
	key, err := vault.Unwrap(mk.WrapKey(), s.WrappedAccountKey)
	if err != nil {
		return Account{}, fmt.Errorf("the encryption passphrase does not open this account's data: %w", model.ErrUnauthorized)
	}
	return x.keepOIDC(ctx, res, key)
}

// OIDCUnlockWithRecoveryKey is OIDCUnlock with the recovery key shown at
// sign-up instead of the passphrase.
func (x *Accounts) OIDCUnlockWithRecoveryKey(ctx context.Context, res OIDCResult, recoveryKey string) (Account, error) {
	if _, err := res.session(); err != nil {
		return Account{}, err
	}
	rk, err := vault.ParseRecoveryKey(recoveryKey)
	if err != nil {
		return Account{}, err
	}
	key, err := vault.Unwrap(rk.WrapKey(), res.resp.RecoveryWrappedKey)
	if err != nil {
		return Account{}, fmt.Errorf("the recovery key does not open this account's data: %w", model.ErrUnauthorized)
	}
	return x.keepOIDC(ctx, res, key)
}

// OIDCCancel revokes the session of a signed-in result that will not be
// unlocked (best effort).
func (x *Accounts) OIDCCancel(ctx context.Context, res OIDCResult) {
	if s, err := res.session(); err == nil {
		x.revoke(ctx, res.server, s.Token)
	}
}

func (r OIDCResult) session() (*syncproto.SignInResponse, error) {
	if r.Status != syncproto.OIDCStatusSignedIn || r.resp.Session == nil {
		return nil, fmt.Errorf("this provider sign-in has no session to unlock: %w", model.ErrInvalid)
	}
	return r.resp.Session, nil
}

// keepOIDC stores the session of res with key and remembers the account,
// under the same rules as SignIn (another signed-in account is
// model.ErrConflict).
func (x *Accounts) keepOIDC(ctx context.Context, res OIDCResult, key vault.AccountKey) (Account, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := res.resp.Session
	prev, err := x.Current(ctx)
	if err != nil && !isNotFound(err) {
		return Account{}, err
	}
	if prev.SignedIn && (prev.ServerURL != res.server || prev.AccountID != s.AccountID) {
		return Account{}, fmt.Errorf("signed in as %s on %s; sign out first: %w", prev.Username, prev.ServerURL, model.ErrConflict)
	}
	if err := x.secrets.Set(ctx, tokenKey(s.AccountID), []byte(s.Token)); err != nil {
		return Account{}, fmt.Errorf("keep the session token: %w", err)
	}
	if err := x.secrets.Set(ctx, keyKey(s.AccountID), key.Bytes()); err != nil {
		return Account{}, fmt.Errorf("keep the account key: %w", err)
	}
	a := Account{ServerURL: res.server, CAFile: res.caFile, AccountID: s.AccountID, Username: s.Username, Email: s.Email, SessionID: s.SessionID, SignedIn: true}
	if prev.SignedIn && prev.SessionID != a.SessionID {
		x.revokeSession(ctx, res.server, s.Token, prev.SessionID)
	}
	return a, x.remember(ctx, a)
}

// OIDCCreateAccount creates the account of a needs-sign-up result: a new
// account key wrapped with the passphrase (the same KDF and wrapping as a
// password; the passphrase is also the account's password for changing
// it or deleting the account) and with a new recovery key, which it
// returns to be shown once. It signs in and keeps the session. A taken
// username wraps model.ErrConflict; the result stays usable to try
// another.
func (x *Accounts) OIDCCreateAccount(ctx context.Context, res OIDCResult, username, passphrase string) (Account, string, error) {
	username = strings.TrimSpace(username)
	if res.Status != syncproto.OIDCStatusNeedsSignUp || res.resp.Ticket == "" {
		return Account{}, "", fmt.Errorf("this provider sign-in does not create an account: %w", model.ErrInvalid)
	}
	if err := errors.Join(syncproto.ValidateUsername(username), checkNewPassword(passphrase)); err != nil {
		return Account{}, "", fmt.Errorf("sign up: %w", err)
	}
	if prev, err := x.Current(ctx); err == nil && prev.SignedIn {
		return Account{}, "", fmt.Errorf("signed in as %s on %s; sign out first: %w", prev.Username, prev.ServerURL, model.ErrConflict)
	}
	api, err := x.oidcAPI(res.server, "")
	if err != nil {
		return Account{}, "", err
	}
	key := vault.NewAccountKey()
	creds, err := x.newCredentials(ctx, passphrase, key)
	if err != nil {
		return Account{}, "", fmt.Errorf("sign up: %w", err)
	}
	rk := vault.NewRecoveryKey()
	rwrapped, err := vault.Wrap(rk.WrapKey(), key)
	if err != nil {
		return Account{}, "", fmt.Errorf("sign up: %w", err)
	}
	sess, err := api.OIDCSignUp(ctx, syncproto.OIDCSignUpRequest{Ticket: res.resp.Ticket, Username: username, Credentials: creds, RecoveryWrappedKey: rwrapped, DeviceName: x.device})
	if err != nil {
		return Account{}, "", err
	}
	res.Status, res.resp.Session = syncproto.OIDCStatusSignedIn, &sess
	a, err := x.keepOIDC(ctx, res, key)
	return a, rk.String(), err
}
