package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// SignUpInput is what a person types to create an account.
type SignUpInput struct {
	// ServerURL is the server; empty uses Accounts.ServerURL's choice.
	ServerURL string
	// CAFile is remembered with the server (see Account.CAFile).
	CAFile   string
	Email    string
	Username string
	Password string
}

// SignUp creates an account: it derives the keys from the password, makes
// a random account key, wraps it with the password's wrap key and with a
// new recovery key, and sends both wrapped copies. It returns the recovery
// key, to be shown once; nothing keeps it. The server then emails a
// confirmation link. The profile remembers the server, email and username
// unless it is signed in to an account already.
func (x *Accounts) SignUp(ctx context.Context, in SignUpInput) (recoveryKey string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	in.Email, in.Username = strings.TrimSpace(in.Email), strings.TrimSpace(in.Username)
	if err := errors.Join(syncproto.ValidateEmail(in.Email), syncproto.ValidateUsername(in.Username), checkNewPassword(in.Password)); err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	server := x.ServerURL(ctx, in.ServerURL)
	api, err := x.api(server, "")
	if err != nil {
		return "", err
	}
	key := vault.NewAccountKey()
	creds, err := x.newCredentials(ctx, in.Password, key)
	if err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	rk := vault.NewRecoveryKey()
	rwrapped, err := vault.Wrap(rk.WrapKey(), key)
	if err != nil {
		return "", fmt.Errorf("sign up: %w", err)
	}
	req := syncproto.SignUpRequest{Username: in.Username, Email: in.Email, Credentials: creds, RecoveryWrappedKey: rwrapped}
	if err := api.SignUp(ctx, req); err != nil {
		return "", err
	}
	if cur, err := x.Current(ctx); err == nil && cur.SignedIn {
		return rk.String(), nil
	}
	return rk.String(), x.remember(ctx, Account{ServerURL: server, CAFile: in.CAFile, Username: in.Username, Email: in.Email})
}

// checkNewPassword refuses passwords shorter than MinPasswordLen.
func checkNewPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return fmt.Errorf("the password must have at least %d characters: %w", MinPasswordLen, model.ErrInvalid)
	}
	return nil
}

// newCredentials derives keys from password with a fresh salt and this
// Accounts' KDF params, and wraps key with the wrap key.
func (x *Accounts) newCredentials(ctx context.Context, password string, key vault.AccountKey) (syncproto.Credentials, error) {
	salt := vault.NewSalt()
	mk, err := vault.DeriveMaster(ctx, password, salt, x.kdf)
	if err != nil {
		return syncproto.Credentials{}, err
	}
	wrapped, err := vault.Wrap(mk.WrapKey(), key)
	if err != nil {
		return syncproto.Credentials{}, err
	}
	return syncproto.Credentials{KDFSalt: salt, KDFParams: protoKDF(x.kdf), AuthKey: mk.AuthKey(), WrappedAccountKey: wrapped}, nil
}

func protoKDF(p vault.KDFParams) syncproto.KDFParams {
	return syncproto.KDFParams{T: p.Time, M: p.MemoryKiB, P: p.Threads}
}

func vaultKDF(p syncproto.KDFParams) vault.KDFParams {
	return vault.KDFParams{Time: p.T, MemoryKiB: p.M, Threads: p.P}
}

// derive asks the server for identifier's salt and params, refuses params
// below vault's floor (a server must not make the password cheaper to
// guess), and derives the master key. Its errors do not say what the
// caller was doing (signing in, changing the password): the caller does.
func derive(ctx context.Context, api AccountAPI, identifier, password string) (vault.MasterKey, error) {
	pre, err := api.Prelogin(ctx, identifier)
	if err != nil {
		return vault.MasterKey{}, err
	}
	p := vaultKDF(pre.KDFParams)
	if err := p.Validate(); err != nil {
		return vault.MasterKey{}, fmt.Errorf("the server asks for key derivation Courier does not accept, so the password is not used: %w", err)
	}
	if password == "" {
		return vault.MasterKey{}, fmt.Errorf("the password is empty: %w", model.ErrInvalid)
	}
	return vault.DeriveMaster(ctx, password, pre.KDFSalt, p)
}

// ResendConfirmation asks server (empty: the remembered one) to email a new
// confirmation link to email.
func (x *Accounts) ResendConfirmation(ctx context.Context, server, email string) error {
	api, err := x.api(x.ServerURL(ctx, server), "")
	if err != nil {
		return err
	}
	return api.ResendConfirmation(ctx, strings.TrimSpace(email))
}

// ConfirmEmail confirms an address with the emailed link or its token.
func (x *Accounts) ConfirmEmail(ctx context.Context, server, linkOrToken string) error {
	api, err := x.api(x.ServerURL(ctx, server), "")
	if err != nil {
		return err
	}
	return api.ConfirmEmail(ctx, ConfirmTokenFromLink(linkOrToken))
}

// SignInInput is what a person types to sign in.
type SignInInput struct {
	// ServerURL is the server; empty uses Accounts.ServerURL's choice.
	ServerURL string
	// CAFile is remembered with the server (see Account.CAFile).
	CAFile string
	// Identifier is the email or the username.
	Identifier string
	Password   string
}

// SignIn opens a session: prelogin, refuse weak params, derive, sign in,
// unwrap the account key, keep token and key in Secrets, remember the
// account. Signing in again to the same account replaces the session (the
// old one is revoked, best effort); signing in to another one while signed
// in is model.ErrConflict. Call SecretsPersistent afterwards to tell the
// person when the secrets last for this run only.
func (x *Accounts) SignIn(ctx context.Context, in SignInInput) (Account, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	in.Identifier = strings.TrimSpace(in.Identifier)
	server := x.ServerURL(ctx, in.ServerURL)
	prev, err := x.Current(ctx)
	if err != nil && !isNotFound(err) {
		return Account{}, err
	}
	// A session the server ended does not hold the profile: signing in to
	// another account replaces it.
	if prev.SignedIn && prev.SessionEnded.IsZero() && (prev.ServerURL != server || !sameIdentity(prev, in.Identifier)) {
		return Account{}, fmt.Errorf("signed in as %s on %s; sign out first: %w", prev.Username, prev.ServerURL, model.ErrConflict)
	}
	api, err := x.api(server, "")
	if err != nil {
		return Account{}, err
	}
	mk, err := derive(ctx, api, in.Identifier, in.Password)
	if err != nil {
		return Account{}, fmt.Errorf("sign in: %w", err)
	}
	resp, err := api.SignIn(ctx, syncproto.SignInRequest{Identifier: in.Identifier, AuthKey: mk.AuthKey(), DeviceName: x.device})
	if err != nil {
		return Account{}, signInError(err)
	}
	a := Account{ServerURL: server, CAFile: in.CAFile, AccountID: resp.AccountID, Username: resp.Username, Email: resp.Email, SessionID: resp.SessionID, SignedIn: true}
	if err := x.keep(ctx, mk, resp); err != nil {
		x.revoke(ctx, server, resp.Token)
		return Account{}, err
	}
	switch {
	case prev.SignedIn && prev.AccountID != a.AccountID:
		x.drop(ctx, prev)
	case prev.SignedIn && prev.SessionID != a.SessionID && prev.SessionEnded.IsZero():
		x.revokeSession(ctx, server, resp.Token, prev.SessionID)
	}
	return a, x.remember(ctx, a)
}

func sameIdentity(a Account, identifier string) bool {
	id := syncproto.NormalizeIdentifier(identifier)
	return id == syncproto.NormalizeUsername(a.Username) || id == syncproto.NormalizeEmail(a.Email)
}

func signInError(err error) error {
	if isAPICode(err, syncproto.CodeUnauthorized) {
		return restate("sign in: wrong email, username or password", err)
	}
	if errors.Is(err, syncproto.ErrEmailUnconfirmed) {
		return restate("sign in: confirm your email address first, with the link the server emailed (a new one can be sent)", err)
	}
	return err
}

// keep unwraps the account key of a sign-in answer and stores it and the
// token in Secrets.
func (x *Accounts) keep(ctx context.Context, mk vault.MasterKey, resp syncproto.SignInResponse) error {
	if resp.AccountID == "" || resp.Token == "" {
		return fmt.Errorf("sign in: the server's answer lacks the account or token: %w", model.ErrUnavailable)
	}
	key, err := vault.Unwrap(mk.WrapKey(), resp.WrappedAccountKey)
	if err != nil {
		return fmt.Errorf("sign in: the account key the server sent does not open with this password: %w", err)
	}
	if err := x.secrets.Set(ctx, tokenKey(resp.AccountID), []byte(resp.Token)); err != nil {
		return fmt.Errorf("keep the session token: %w", err)
	}
	if err := x.secrets.Set(ctx, keyKey(resp.AccountID), key.Bytes()); err != nil {
		return fmt.Errorf("keep the account key: %w", err)
	}
	return nil
}

// revoke signs the session of token out, best effort (logged).
func (x *Accounts) revoke(ctx context.Context, server, token string) {
	api, err := x.api(server, token)
	if err == nil {
		err = api.SignOut(ctx)
	}
	if err != nil {
		x.log.Warn("revoke session", "server", server, "err", err)
	}
}

// revokeSession revokes session id with token's session, best effort.
func (x *Accounts) revokeSession(ctx context.Context, server, token, id string) {
	api, err := x.api(server, token)
	if err == nil {
		err = api.RevokeSession(ctx, id)
	}
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		x.log.Warn("revoke the previous session", "server", server, "err", err)
	}
}

// SignOutResult says how a sign-out went on the server.
type SignOutResult struct {
	// ServerErr is why the server could not revoke the session (nil when
	// it did, or when it was revoked already). The device forgot the
	// session either way; the person may revoke it from another device.
	ServerErr error
	// SessionID is the session the server was not told to end (set with
	// ServerErr), to revoke from another device.
	SessionID string
}

// SignOut revokes this device's session on the server and deletes the
// token and account key from Secrets; the profile remembers the account
// signed out. Local data stays. Errors wrap model.ErrUnauthorized when not
// signed in, or the error of Secrets or the Store.
func (x *Accounts) SignOut(ctx context.Context) (SignOutResult, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.signOut(ctx)
}

func (x *Accounts) signOut(ctx context.Context) (SignOutResult, error) {
	a, tok, err := x.signedIn(ctx)
	if err != nil && !(a.SignedIn && errors.Is(err, model.ErrUnauthorized)) {
		return SignOutResult{}, err
	}
	var res SignOutResult
	if tok != "" {
		api, err := x.api(a.ServerURL, tok)
		if err == nil {
			err = api.SignOut(ctx)
		}
		if err != nil && !isAPICode(err, syncproto.CodeUnauthorized) {
			res.ServerErr, res.SessionID = err, a.SessionID
		}
	}
	return res, x.forget(ctx, a)
}

// ForgotUsername asks server (empty: the remembered one) to email the
// username of email's account. The answer is the same whether or not one
// exists.
func (x *Accounts) ForgotUsername(ctx context.Context, server, email string) error {
	api, err := x.api(x.ServerURL(ctx, server), "")
	if err != nil {
		return err
	}
	return api.ForgotUsername(ctx, strings.TrimSpace(email))
}

// ForgotPassword asks server (empty: the remembered one) to email a reset
// code to email. The answer is the same whether or not an account exists.
func (x *Accounts) ForgotPassword(ctx context.Context, server, email string) error {
	api, err := x.api(x.ServerURL(ctx, server), "")
	if err != nil {
		return err
	}
	return api.ForgotPassword(ctx, strings.TrimSpace(email))
}

// restated is an error told in the app's words that keeps its cause for
// errors.Is and errors.As (the server's code and message, the model
// vocabulary), without repeating the cause's text.
type restated struct {
	msg string
	err error
}

func (e *restated) Error() string { return e.msg }
func (e *restated) Unwrap() error { return e.err }

// restate returns err told as msg.
func restate(msg string, err error) error { return &restated{msg: msg, err: err} }
