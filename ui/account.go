package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// AccountService is the account use cases the window calls; *app.Accounts
// implements it.
type AccountService interface {
	Current(ctx context.Context) (app.Account, error)
	SecretsPersistent() bool
	SignUp(ctx context.Context, in app.SignUpInput) (string, error)
	ResendConfirmation(ctx context.Context, server, email string) error
	ConfirmEmail(ctx context.Context, server, linkOrToken string) error
	SignIn(ctx context.Context, in app.SignInInput) (app.Account, error)
	SignOut(ctx context.Context) (app.SignOutResult, error)
	ForgotUsername(ctx context.Context, server, email string) error
	ForgotPassword(ctx context.Context, server, email string) error
	ResetPassword(ctx context.Context, in app.ResetInput) (app.ResetResult, error)
	ChangePassword(ctx context.Context, current, newPassword string) error
	Devices(ctx context.Context) ([]app.Device, error)
	RevokeDevice(ctx context.Context, id string) error
	DeleteAccount(ctx context.Context, password string) error
	OIDCService
}

var _ AccountService = (*app.Accounts)(nil)

// ProfileJoiner attaches the profile to an account at sign-in and removes
// an account's data at sign-out (the wiring implements it with
// app.HoldsLocalWork, app.HoldsOtherAccountData, app.JoinAccount and
// app.RemoveAccountData).
type ProfileJoiner interface {
	HoldsLocalWork(ctx context.Context, accountID string) (bool, error)
	HoldsOtherAccountData(ctx context.Context, accountID string) (bool, error)
	Join(ctx context.Context, accountID string, keepLocal bool) (app.JoinResult, error)
	RemoveAccountData(ctx context.Context) error
}

// AccountOptions is what the window needs for accounts, sync and links.
type AccountOptions struct {
	Accounts AccountService
	Syncer   app.Syncer
	// Links reaches collection links; nil leaves Share and My links out.
	Links   LinkSharer
	Profile ProfileJoiner
	// UseCA makes the account calls that follow trust the CA certificates
	// in the PEM file at path ("" for none). It fails for a file that
	// cannot be read.
	UseCA func(path string) error
	// DefaultServer and DefaultCA fill the server fields of the forms.
	DefaultServer, DefaultCA string
	// OIDCListen starts a loopback listener for a provider's redirect;
	// nil leaves the "Continue with <Provider>" buttons out.
	OIDCListen func() (OIDCListener, error)
	// OpenURL opens the system browser; nil uses the Fyne app's.
	OpenURL func(*url.URL) error
}

// wiredCore is the core with accounts wired in: it offers accounts and,
// while signed in, collection links.
type wiredCore struct {
	*app.App
	acct *accountServices
}

var _ Core = wiredCore{}

// AccountsAvailable is true: a server can be reached through the wiring.
func (w wiredCore) AccountsAvailable() bool { return true }

// Links returns the link use cases while an account is signed in, else
// nil.
func (w wiredCore) Links() LinkSharer {
	if w.acct.opts.Links == nil || !w.acct.signedIn() {
		return nil
	}
	return w.acct.opts.Links
}

func (w wiredCore) accountServices() *accountServices { return w.acct }

// accountsCore is a core with accounts wired in.
type accountsCore interface {
	welcomeCore
	accountServices() *accountServices
}

// withAccounts returns core with opts wired in, or core itself when opts
// is nil.
func withAccounts(core *app.App, opts *AccountOptions) Core {
	if opts == nil || opts.Accounts == nil || opts.Syncer == nil {
		return core
	}
	return wiredCore{App: core, acct: &accountServices{opts: *opts, server: opts.DefaultServer, ca: opts.DefaultCA}}
}

// accountServices holds the wired use cases and the account window parts
// made once per window.
type accountServices struct {
	opts       AccountOptions
	server, ca string // the defaults of the forms, as last used
	ui         *accountUI
}

// signedIn reports whether the profile's account is signed in.
func (s *accountServices) signedIn() bool {
	_, ok := s.account(context.Background())
	return ok
}

// account returns the remembered account, and whether it is signed in on
// this device: remembered so, the server has not ended its session, and
// sync found it (a session kept in memory for one run only is gone after
// a restart).
func (s *accountServices) account(ctx context.Context) (app.Account, bool) {
	a, err := s.opts.Accounts.Current(ctx)
	if err != nil {
		return app.Account{}, false
	}
	return a, a.SignedIn && a.SessionEnded.IsZero() && s.opts.Syncer.Status().State != app.SyncNotSignedIn
}

// accountFor returns the account UI of win, made on first use.
func (s *accountServices) accountFor(core welcomeCore, win fyne.Window, bg *tasks) *accountUI {
	if s.ui == nil {
		s.ui = newAccountUI(s, core, win, bg)
	}
	return s.ui
}

// accountMessage tells an account error as a sentence: the app's words
// without the trailing error-vocabulary word.
// withoutKinds drops from msg the ": invalid input", ": unauthorized", ...
// of the model's error kinds, which are for code, not people.
func withoutKinds(msg string) string {
	for _, e := range []error{model.ErrInvalid, model.ErrUnauthorized, model.ErrConflict, model.ErrNotFound, model.ErrUnavailable, model.ErrTooLarge} {
		msg = strings.ReplaceAll(msg, ": "+e.Error(), "")
	}
	return msg
}

func accountMessage(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	case errors.Is(err, app.ErrRateLimited):
		if d, ok := app.RetryAfter(err); ok {
			return "Too many attempts; try again in " + d.Round(1e9).String() + "."
		}
	}
	msg := withoutKinds(err.Error())
	for _, p := range []string{"sign in: ", "sign up: ", "reset password: ", "prelogin: "} {
		msg = strings.TrimPrefix(msg, p) // the steps' names are not the person's
	}
	if msg == "" {
		return "Something went wrong."
	}
	return sentence(msg)
}
