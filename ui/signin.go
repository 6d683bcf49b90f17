package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// accountUI runs the account flows of one window: sign in, sign up,
// confirm the email, forgot username or password, and what follows a
// sign-in (merge or keep aside local work, start sync).
type accountUI struct {
	svc  *accountServices
	core welcomeCore
	win  fyne.Window
	bg   *tasks

	// The dialogs last opened, for tests.
	signIn     *signInForm
	signUp     *signUpForm
	gate       *recoveryGate
	confirm    *confirmForm
	reset      *resetForm
	joinDlg    dialog.Dialog
	joinChoice *widget.RadioGroup
	oidcUnlock *oidcUnlockForm
	oidcSignUp *oidcSignUpForm
	oidcLink   *oidcLinkForm
	settings   *accountSettings
	indicator  *syncIndicator
	signOutDlg *signOutDialog
	// OnSignedIn runs after a sign-in finished (sync started).
	OnSignedIn func()
}

func newAccountUI(svc *accountServices, core welcomeCore, win fyne.Window, bg *tasks) *accountUI {
	return &accountUI{svc: svc, core: core, win: win, bg: bg}
}

// useServer makes the next calls trust ca and remembers both as the
// forms' defaults.
func (a *accountUI) useServer(server, ca string) error {
	if a.svc.opts.UseCA != nil {
		if err := a.svc.opts.UseCA(ca); err != nil {
			return err
		}
	}
	a.svc.server, a.svc.ca = server, ca
	return nil
}

// signInForm is the Sign in dialog.
type signInForm struct {
	*accountForm
	ident, password *dialogEntry
	server          *serverFields
	oidc            *oidcButtons
}

// ShowSignIn opens the Sign in form, prefilled with identifier.
func (a *accountUI) ShowSignIn(identifier string) {
	f := &signInForm{ident: newDialogEntry(a.win), password: newDialogPasswordEntry(a.win)}
	if identifier == "" {
		if acc, err := a.svc.opts.Accounts.Current(context.Background()); err == nil {
			identifier = acc.Username // the profile's account, signed out
		}
	}
	f.ident.SetText(identifier)
	f.ident.SetPlaceHolder("email or username")
	f.server = newServerFields(a.win, a.svc.server, a.svc.ca)
	items := append([]*widget.FormItem{widget.NewFormItem("Email or username", f.ident), widget.NewFormItem("Password", f.password)}, f.server.items()...)
	f.oidc = a.newOIDCButtons(&f.server.url.Entry, func(p syncproto.OIDCProviderInfo) { a.startOIDC(f.accountForm, f.server, f.oidc, p) }, func() { f.fit() })
	items = append(items, f.oidc.item())
	forgotUser := widget.NewButton("Forgot username?", func() { f.Close(); a.ShowForgotUsername() })
	forgotPw := widget.NewButton("Forgot password?", func() { f.Close(); a.ShowForgotPassword() })
	create := widget.NewButton("Create account", func() { f.Close(); a.ShowSignUp() })
	for _, b := range []*widget.Button{forgotUser, forgotPw, create} {
		b.Importance = widget.LowImportance
	}
	f.accountForm = newAccountForm(a.win, a.bg, "Sign in", "Sign in", items, forgotUser, forgotPw, create)
	f.submit.OnTapped = func() { a.onSignInSubmitted(f) }
	f.password.OnSubmitted = func(string) { a.onSignInSubmitted(f) }
	a.signIn = f
	f.Show()
	if identifier != "" {
		a.win.Canvas().Focus(f.password)
	} else {
		a.win.Canvas().Focus(f.ident)
	}
}

func (a *accountUI) onSignInSubmitted(f *signInForm) {
	ident := strings.TrimSpace(f.ident.Text)
	server, ca, err := f.server.values()
	if err == nil {
		err = syncproto.ValidateIdentifier(ident)
	}
	if err == nil && f.password.Text == "" {
		err = fmt.Errorf("type the password: %w", model.ErrInvalid)
	}
	if err == nil {
		err = a.useServer(server, ca)
	}
	if err != nil {
		f.fail(accountMessage(err))
		return
	}
	in := app.SignInInput{ServerURL: server, CAFile: ca, Identifier: ident, Password: f.password.Text}
	var acc app.Account
	var unconfirmed bool
	f.run(func(ctx context.Context) error {
		var err error
		acc, err = a.svc.opts.Accounts.SignIn(ctx, in)
		if errors.Is(err, app.ErrEmailUnconfirmed) {
			unconfirmed = true
			return nil
		}
		return err
	}, func() {
		f.Close()
		if unconfirmed {
			a.ShowConfirm(in, false)
			return
		}
		a.afterSignIn(acc)
	})
}

// afterSignIn remembers the welcome as done, asks what to do with local
// work when the profile holds some, joins the account and starts sync.
func (a *accountUI) afterSignIn(acc app.Account) {
	a.bg.Go(func() func() {
		ctx := context.Background()
		if err := a.core.SkipWelcome(ctx); err != nil {
			return func() { showError(a.win, "remember the sign-in", err) }
		}
		local, err := a.svc.opts.Profile.HoldsLocalWork(ctx, acc.AccountID)
		var other bool
		if err == nil && local {
			other, err = a.svc.opts.Profile.HoldsOtherAccountData(ctx, acc.AccountID)
		}
		return func() {
			if err != nil {
				showError(a.win, "read this profile's data", err)
				return
			}
			if !local {
				a.join(acc, false)
				return
			}
			a.askJoin(acc, other)
		}
	})
}

// askJoin asks whether to merge the local work into the account or keep
// it aside. Work made before signing in merges by default; the data of
// another account (signed out of without removing it) stays apart by
// default, so it does not reach this account unasked.
func (a *accountUI) askJoin(acc app.Account, other bool) {
	msg := widget.NewLabel("This profile holds requests, collections or history made before you signed in.\n" +
		"Merge them into " + acc.Username + "'s account (they sync to your other devices),\n" +
		"or keep them aside in a separate profile folder, untouched.")
	choice := widget.NewRadioGroup([]string{joinMerge, joinKeep}, nil)
	choice.SetSelected(joinMerge)
	if other {
		msg.SetText("This profile holds the data of another account you signed out of.\n" +
			"Keep it aside in a separate profile folder, untouched, or merge it\n" +
			"into " + acc.Username + "'s account (it then syncs to that account's devices).")
		choice.SetSelected(joinKeep)
	}
	choice.Required = true
	d := dialog.NewCustomConfirm("Your local work", "Continue", "Decide later", container.NewVBox(msg, choice), func(ok bool) {
		if ok {
			a.join(acc, choice.Selected == joinKeep)
		} else {
			a.startSync()
		}
	}, a.win)
	a.joinDlg = d
	a.joinChoice = choice
	d.Show()
}

// The choices for local work at a first sign-in.
const (
	joinMerge = "Merge into the account"
	joinKeep  = "Keep aside"
)

// join attaches the profile to acc and starts sync.
func (a *accountUI) join(acc app.Account, keepLocal bool) {
	a.bg.Go(func() func() {
		res, err := a.svc.opts.Profile.Join(context.Background(), acc.AccountID, keepLocal)
		return func() {
			if err != nil {
				showError(a.win, "attach this profile to the account", err)
				return
			}
			a.startSync()
			a.tellSignedIn(acc, res)
		}
	})
}

// tellSignedIn says what the sign-in did with local work, and when the
// session lasts for this run only.
func (a *accountUI) tellSignedIn(acc app.Account, res app.JoinResult) {
	var notes []string
	if res.Queued > 0 {
		item := "items"
		if res.Queued == 1 {
			item = "item"
		}
		notes = append(notes, fmt.Sprintf("This profile's %d local %s joined the account and sync to your other devices.", res.Queued, item))
	}
	if res.KeptAside != "" {
		notes = append(notes, "This profile's local data was kept aside; open it with: courier --profile "+res.KeptAside)
	}
	if !a.svc.opts.Accounts.SecretsPersistent() {
		notes = append(notes, "No system keyring is available, so you stay signed in for this run only.")
	}
	if a.OnSignedIn != nil {
		a.OnSignedIn()
	}
	if len(notes) > 0 {
		dialog.ShowInformation("Signed in as "+acc.Username, strings.Join(notes, "\n"), a.win)
	}
}

// startSync (re)starts the sync engine off the UI goroutine: it runs when
// signed in with sync on, and the indicator says why not otherwise.
func (a *accountUI) startSync() {
	a.bg.Go(func() func() {
		err := a.svc.opts.Syncer.Start(context.Background())
		return func() {
			if err != nil {
				showError(a.win, "start sync", err)
			}
		}
	})
}
