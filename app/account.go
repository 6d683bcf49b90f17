package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// Secrets keeps the device's secrets (session tokens, account keys) out of
// the profile's files: package keyring implements it on the OS keyring,
// with an in-memory fallback. Get and Delete return an error wrapping
// model.ErrNotFound for a missing key; model.ErrUnavailable means no
// keyring could be reached.
type Secrets interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// PersistentSecrets is implemented by Secrets that may fall back to memory
// (keyring.Fallback): Persistent is false once secrets last for this run
// only.
type PersistentSecrets interface{ Persistent() bool }

// AccountAPI is the account API of a sync server, as the account use cases
// call it (syncclient.Client implements it). Errors wrap the model
// vocabulary; server answers are *syncproto.Error.
type AccountAPI interface {
	SignUp(ctx context.Context, r syncproto.SignUpRequest) error
	ConfirmEmail(ctx context.Context, token string) error
	ResendConfirmation(ctx context.Context, email string) error
	Prelogin(ctx context.Context, identifier string) (syncproto.PreloginResponse, error)
	SignIn(ctx context.Context, r syncproto.SignInRequest) (syncproto.SignInResponse, error)
	SignOut(ctx context.Context) error
	ChangePassword(ctx context.Context, r syncproto.ChangePasswordRequest) error
	ForgotUsername(ctx context.Context, email string) error
	ForgotPassword(ctx context.Context, email string) error
	RecoveryKey(ctx context.Context, r syncproto.RecoveryKeyRequest) (syncproto.RecoveryKeyResponse, error)
	ResetPassword(ctx context.Context, r syncproto.ResetPasswordRequest) error
	Sessions(ctx context.Context) ([]syncproto.SessionInfo, error)
	RevokeSession(ctx context.Context, id string) error
	DeleteAccount(ctx context.Context, authKey []byte) error
}

// DialAccountAPI returns the account API of the server at serverURL that
// sends token on the calls needing a session ("" for none). It fails with
// model.ErrInvalid for a URL that is not https://.
type DialAccountAPI func(serverURL, token string) (AccountAPI, error)

// DefaultServerURL is the server used when none is given or remembered:
// `courier-server --dev` on this machine.
const DefaultServerURL = "https://127.0.0.1:8443"

// MinPasswordLen is the shortest password a new one may be (in characters).
const MinPasswordLen = 8

// accountSettingKey is the Store setting holding the remembered Account.
const accountSettingKey = "app.account"

// Account is what a profile remembers of its account: nothing secret. It
// is kept as a store setting; the token and the account key live in
// Secrets only.
type Account struct {
	ServerURL string `json:"server_url"`
	// CAFile is the extra CA file trusted for ServerURL, when one was
	// given at sign-up or sign-in (a path, not the certificate).
	CAFile    string `json:"ca_file,omitempty"`
	AccountID string `json:"account_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Email     string `json:"email,omitempty"`
	// SessionID names this device's session in Devices.
	SessionID string `json:"session_id,omitempty"`
	// SignedIn is true from a sign-in until sign-out, reset or deletion.
	SignedIn bool `json:"signed_in"`
	// SessionEnded is when the server refused this device's session (it
	// was signed out from another device, by a password change, or it
	// expired); zero while the session is good. A sign-in clears it.
	SessionEnded time.Time `json:"session_ended,omitzero"`
}

// ErrSessionEnded says a remembered sign-in whose session the server
// refused; it wraps model.ErrUnauthorized.
var ErrSessionEnded = fmt.Errorf("the server ended this device's session (it was signed out from another device or by a password change, or it expired); sign in again: %w", model.ErrUnauthorized)

// ErrNotSignedIn says that what was asked needs a signed-in account and
// this profile has none; it wraps model.ErrUnauthorized. Each front end
// says how to sign in.
var ErrNotSignedIn = fmt.Errorf("not signed in: %w", model.ErrUnauthorized)

// ErrSyncOff says that sync was asked for while it is off on the
// profile; it wraps model.ErrConflict. Each front end says how to turn
// it on.
var ErrSyncOff = fmt.Errorf("sync is off on this profile; turn it on first: %w", model.ErrConflict)

// Session is what the sync engine needs to run: the account, its token
// and the key that seals its fields.
type Session struct {
	Account Account
	Token   string
	Key     vault.AccountKey
}

// Device is one session of the account, as the devices list shows it.
type Device struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// Current is true for this device's own session.
	Current bool
}

// AccountsOptions configures Accounts.
type AccountsOptions struct {
	// Dial reaches a server's account API. Required.
	Dial DialAccountAPI
	// Secrets keeps tokens and account keys. Required.
	Secrets Secrets
	// KDFParams derive keys from new passwords; zero means
	// vault.DefaultKDFParams. They must pass vault's Validate.
	KDFParams vault.KDFParams
	// DeviceName labels this device's sessions; empty means the host name,
	// followed by the profile folder's name when it is not the default
	// one ("laptop (work)"), so two profiles of one machine are told apart
	// in the devices list.
	DeviceName string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Accounts runs the account use cases of one profile: sign-up, sign-in,
// sign-out, password change and reset, devices, deletion. It keeps the
// remembered Account in the Store and the session token and account key in
// Secrets, under keys scoped by the account id. Its methods are safe for
// concurrent use; flows run one at a time.
//
// Errors wrap the model vocabulary: model.ErrInvalid for bad input (a
// short password, a server asking for KDF params below the floor),
// model.ErrUnauthorized for a wrong password or an invalid session
// (syncproto.ErrEmailUnconfirmed for an unconfirmed address),
// model.ErrConflict when signed in to another account, and
// model.ErrUnavailable when the server or the keyring cannot be reached.
type Accounts struct {
	store   Store
	dial    DialAccountAPI
	secrets Secrets
	kdf     vault.KDFParams
	device  string
	log     *slog.Logger
	mu      sync.Mutex
}

// NewAccounts returns the account use cases over store. Errors wrap
// model.ErrInvalid when a required option is missing or the KDF params
// are outside vault's bounds.
func NewAccounts(store Store, opts AccountsOptions) (*Accounts, error) {
	if store == nil || opts.Dial == nil || opts.Secrets == nil {
		return nil, fmt.Errorf("new accounts: store, Dial and Secrets are required: %w", model.ErrInvalid)
	}
	if opts.KDFParams == (vault.KDFParams{}) {
		opts.KDFParams = vault.DefaultKDFParams
	}
	if err := opts.KDFParams.Validate(); err != nil {
		return nil, fmt.Errorf("new accounts: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.DeviceName == "" {
		opts.DeviceName = defaultDeviceName(store.Dir())
	}
	return &Accounts{
		store: store, dial: opts.Dial, secrets: opts.Secrets, kdf: opts.KDFParams,
		device: deviceName(opts.DeviceName), log: opts.Logger,
	}, nil
}

// defaultDeviceName is the host name, with the profile folder's name
// when it is not the default profile.
func defaultDeviceName(profileDir string) string {
	host, _ := os.Hostname()
	if profileDir == "" {
		return host
	}
	if def, err := ProfileDirFrom("", func(string) string { return "" }); err == nil && filepath.Clean(profileDir) == def {
		return host
	}
	return fmt.Sprintf("%s (%s)", host, filepath.Base(profileDir))
}

// deviceName makes s acceptable as a syncproto device name.
func deviceName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	for len(s) > syncproto.MaxDeviceNameLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// Current returns the remembered account, signed in or not; an error
// wrapping model.ErrNotFound when the profile never had one.
func (x *Accounts) Current(ctx context.Context) (Account, error) {
	var a Account
	if err := x.store.Setting(ctx, accountSettingKey, &a); err != nil {
		if isNotFound(err) {
			return Account{}, fmt.Errorf("no account on this profile: %w", model.ErrNotFound)
		}
		return Account{}, fmt.Errorf("read the remembered account: %w", err)
	}
	return a, nil
}

// ServerURL returns given when it is not empty (without trailing
// slashes), else the remembered account's server, else DefaultServerURL.
func (x *Accounts) ServerURL(ctx context.Context, given string) string {
	if given = strings.TrimRight(strings.TrimSpace(given), "/"); given != "" {
		return given
	}
	if a, err := x.Current(ctx); err == nil && a.ServerURL != "" {
		return a.ServerURL
	}
	return DefaultServerURL
}

// SecretsPersistent reports whether the token and account key outlive
// this run (false when no OS keyring was reachable and they are kept in
// memory).
func (x *Accounts) SecretsPersistent() bool {
	if p, ok := x.secrets.(PersistentSecrets); ok {
		return p.Persistent()
	}
	return true
}

// ProbeSecrets reports, asking the OS keyring now when it was not asked
// yet, whether the token and account key would outlive this run.
func (x *Accounts) ProbeSecrets(ctx context.Context) bool {
	if p, ok := x.secrets.(interface{ Probe(context.Context) bool }); ok {
		return p.Probe(ctx)
	}
	return x.SecretsPersistent()
}

func (x *Accounts) remember(ctx context.Context, a Account) error {
	if err := x.store.SetSetting(ctx, accountSettingKey, a); err != nil {
		return fmt.Errorf("remember the account: %w", err)
	}
	return nil
}

// api dials server, with token for the calls that need a session.
func (x *Accounts) api(server, token string) (AccountAPI, error) {
	api, err := x.dial(server, token)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	return api, nil
}

// Secret key names, scoped by account id.
func tokenKey(accountID string) string { return "account/" + accountID + "/token" }
func keyKey(accountID string) string   { return "account/" + accountID + "/key" }

// signedIn returns the signed-in account and its token; an error wrapping
// model.ErrUnauthorized when there is none.
func (x *Accounts) signedIn(ctx context.Context) (Account, string, error) {
	a, err := x.Current(ctx)
	if err != nil && !isNotFound(err) {
		return Account{}, "", err
	}
	if !a.SignedIn || a.AccountID == "" {
		return Account{}, "", ErrNotSignedIn
	}
	if !a.SessionEnded.IsZero() {
		return a, "", ErrSessionEnded
	}
	tok, err := x.secrets.Get(ctx, tokenKey(a.AccountID))
	if isNotFound(err) {
		return a, "", fmt.Errorf("this device no longer holds the session of %s; sign in again: %w", a.Username, model.ErrUnauthorized)
	}
	if err != nil {
		return a, "", fmt.Errorf("read the session token: %w", err)
	}
	return a, string(tok), nil
}

// accountKey reads the account key of accountID from Secrets.
func (x *Accounts) accountKey(ctx context.Context, accountID string) (vault.AccountKey, error) {
	b, err := x.secrets.Get(ctx, keyKey(accountID))
	if err != nil {
		return vault.AccountKey{}, fmt.Errorf("read the account key: %w", err)
	}
	return vault.AccountKeyFromBytes(b)
}

// forget deletes a's secrets and remembers it signed out. Missing secrets
// are not an error.
func (x *Accounts) forget(ctx context.Context, a Account) error {
	if err := x.deleteSecrets(ctx, a.AccountID); err != nil {
		return err
	}
	a.SignedIn, a.SessionID, a.SessionEnded = false, "", time.Time{}
	return x.remember(ctx, a)
}

func (x *Accounts) deleteSecrets(ctx context.Context, accountID string) error {
	for _, k := range []string{tokenKey(accountID), keyKey(accountID)} {
		if err := x.secrets.Delete(ctx, k); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete the device's secrets: %w", err)
		}
	}
	return nil
}

// drop deletes the secrets of a, whose ended session a sign-in to another
// account replaced, best effort (logged).
func (x *Accounts) drop(ctx context.Context, a Account) {
	if err := x.deleteSecrets(ctx, a.AccountID); err != nil {
		x.log.Warn("forget the replaced account's secrets", "account", a.AccountID, "err", err)
	}
}

// SessionEnded remembers that the server refused the session s (a token
// revoked or expired), so the profile says "sign in again" from now on
// without asking the server. It does nothing when the profile signed in
// again since s, or out.
func (x *Accounts) SessionEnded(ctx context.Context, s Session) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.sessionEnded(ctx, s.Account)
}

// sessionEnded is SessionEnded without taking the lock.
func (x *Accounts) sessionEnded(ctx context.Context, s Account) error {
	a, err := x.Current(ctx)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !a.SignedIn || a.AccountID != s.AccountID || a.SessionID != s.SessionID || !a.SessionEnded.IsZero() {
		return nil
	}
	a.SessionEnded = time.Now().UTC()
	x.log.Info("the server ended this device's session", "account", a.AccountID)
	return x.remember(ctx, a)
}

// refusedLocking is refused for a caller that does not hold the lock.
func (x *Accounts) refusedLocking(ctx context.Context, a Account, err error) error {
	if !isAPICode(err, syncproto.CodeUnauthorized) {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refused(ctx, a, err)
}

// refused remembers a's session as ended when err is the server's
// refusal of its token, and returns err. The caller holds the lock.
func (x *Accounts) refused(ctx context.Context, a Account, err error) error {
	if isAPICode(err, syncproto.CodeUnauthorized) {
		if merr := x.sessionEnded(ctx, a); merr != nil {
			x.log.Warn("remember the ended session", "err", merr)
		}
	}
	return err
}

// Session returns what the sync engine needs: the signed-in account, its
// token and its account key. Errors wrap model.ErrUnauthorized when not
// signed in or the device lost its secrets.
func (x *Accounts) Session(ctx context.Context) (Session, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.session(ctx)
}

// ConfirmTokenFromLink returns the token of an emailed confirmation link,
// or s itself (trimmed) when it is not a link with one.
func ConfirmTokenFromLink(s string) string {
	s = strings.TrimSpace(s)
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if t := u.Query().Get(syncproto.ConfirmTokenParam); t != "" {
			return t
		}
	}
	return s
}

// Errors of the account flows that callers may want to tell apart, so the
// UI need not import syncproto. Test them with errors.Is.
var (
	// ErrEmailUnconfirmed: the credentials are right but the address is
	// not confirmed yet (it also wraps model.ErrUnauthorized).
	ErrEmailUnconfirmed = syncproto.ErrEmailUnconfirmed
	// ErrInvalidCode: a reset code or confirmation token is wrong,
	// expired or used up (it also wraps model.ErrInvalid).
	ErrInvalidCode = syncproto.ErrInvalidCode
	// ErrRateLimited: the server asks to wait (it also wraps
	// model.ErrUnavailable); RetryAfter says how long.
	ErrRateLimited = syncproto.ErrRateLimited
)

// RetryAfter returns how long the server asked to wait before trying
// again, when err carries a Retry-After; ok is false otherwise.
func RetryAfter(err error) (d time.Duration, ok bool) {
	var e *syncproto.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// isAPICode reports whether err is a server answer with code.
func isAPICode(err error, code syncproto.ErrorCode) bool {
	var e *syncproto.Error
	return errors.As(err, &e) && e.Code == code
}
