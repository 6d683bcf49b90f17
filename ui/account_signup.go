package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// signUpForm is the Create account dialog.
type signUpForm struct {
	*accountForm
	email, username, password, again *dialogEntry
	server                           *serverFields
	oidc                             *oidcButtons
}

// ShowSignUp opens the Create account form.
func (a *accountUI) ShowSignUp() {
	f := &signUpForm{email: newDialogEntry(a.win), username: newDialogEntry(a.win), password: newDialogPasswordEntry(a.win), again: newDialogPasswordEntry(a.win)}
	f.username.SetPlaceHolder(fmt.Sprintf("%d to %d letters, digits, '.', '_' or '-'", syncproto.UsernameMinLen, syncproto.UsernameMaxLen))
	f.password.SetPlaceHolder(fmt.Sprintf("at least %d characters", app.MinPasswordLen))
	f.server = newServerFields(a.win, a.svc.server, a.svc.ca)
	items := append([]*widget.FormItem{
		widget.NewFormItem("Email", f.email), widget.NewFormItem("Username", f.username),
		widget.NewFormItem("Password", f.password), widget.NewFormItem("Repeat password", f.again),
	}, f.server.items()...)
	f.oidc = a.newOIDCButtons(&f.server.url.Entry, func(p syncproto.OIDCProviderInfo) { a.startOIDC(f.accountForm, f.server, f.oidc, p) }, func() { f.fit() })
	items = append(items, f.oidc.item())
	signIn := widget.NewButton("I have an account", func() { f.Close(); a.ShowSignIn("") })
	signIn.Importance = widget.LowImportance
	f.accountForm = newAccountForm(a.win, a.bg, "Create account", "Create account", items, signIn)
	f.submit.OnTapped = func() { a.onSignUpSubmitted(f) }
	a.signUp = f
	f.Show()
	a.win.Canvas().Focus(f.email)
}

// validate checks the fields as the server will, and that the two
// passwords match; the error names every field that is wrong.
func (f *signUpForm) validate() (app.SignUpInput, error) {
	in := app.SignUpInput{Email: strings.TrimSpace(f.email.Text), Username: strings.TrimSpace(f.username.Text), Password: f.password.Text}
	var errs []error
	server, ca, err := f.server.values()
	in.ServerURL, in.CAFile = server, ca
	errs = append(errs, syncproto.ValidateEmail(in.Email), syncproto.ValidateUsername(in.Username), err)
	if utf8.RuneCountInString(in.Password) < app.MinPasswordLen {
		errs = append(errs, fmt.Errorf("the password must have at least %d characters: %w", app.MinPasswordLen, model.ErrInvalid))
	} else if f.again.Text != in.Password {
		errs = append(errs, fmt.Errorf("the two passwords differ: %w", model.ErrInvalid))
	}
	return in, errors.Join(errs...)
}

func (a *accountUI) onSignUpSubmitted(f *signUpForm) {
	in, err := f.validate()
	if err == nil {
		err = a.useServer(in.ServerURL, in.CAFile)
	}
	if err != nil {
		f.fail(joinedMessage(err))
		return
	}
	var key string
	f.run(func(ctx context.Context) error {
		var err error
		key, err = a.svc.opts.Accounts.SignUp(ctx, in)
		return err
	}, func() {
		f.Close()
		signIn := app.SignInInput{ServerURL: in.ServerURL, CAFile: in.CAFile, Identifier: in.Email, Password: in.Password}
		a.ShowRecoveryKey(key, func() { a.ShowConfirm(signIn, true) })
	})
}

// joinedMessage tells each error of a joined error on its own line.
func joinedMessage(err error) string {
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) {
		return accountMessage(err)
	}
	var lines []string
	for _, e := range j.Unwrap() {
		lines = append(lines, accountMessage(e))
	}
	return strings.Join(lines, "\n")
}

// recoveryGate shows a recovery key once; Continue stays disabled until
// the person says they saved it.
type recoveryGate struct {
	key   *dialogEntry
	copy  *widget.Button
	saved *widget.Check
	next  *widget.Button
	dlg   dialog.Dialog
}

// ShowRecoveryKey shows key once, then runs next.
func (a *accountUI) ShowRecoveryKey(key string, next func()) {
	g := &recoveryGate{key: newDialogEntry(a.win)}
	g.key.SetText(key)
	g.key.TextStyle = fyne.TextStyle{Monospace: true}
	g.key.OnChanged = func(string) { g.key.SetText(key) } // read-only but selectable
	g.copy = widget.NewButton("Copy", func() { fyne.CurrentApp().Clipboard().SetContent(key) })
	g.next = widget.NewButton("Continue", func() {
		g.dlg.Hide()
		next()
	})
	g.next.Importance = widget.HighImportance
	g.next.Disable()
	g.saved = widget.NewCheck("I have saved my recovery key somewhere safe", func(on bool) {
		if on {
			g.next.Enable()
		} else {
			g.next.Disable()
		}
	})
	text := widget.NewLabel("This is your recovery key. It is shown only this once.\n" +
		"If you forget your password, it is the only way to open your synced data:\n" +
		"nobody, not even the server's operator, can recover it for you.")
	body := container.NewVBox(text, container.NewBorder(nil, nil, nil, g.copy, g.key), g.saved, container.NewHBox(layout.NewSpacer(), g.next))
	g.dlg = dialog.NewCustomWithoutButtons("Save your recovery key", body, a.win)
	a.gate = g
	g.dlg.Show()
}

// confirmForm is the "check your email" step.
type confirmForm struct {
	*accountForm
	link   *dialogEntry
	email  *dialogEntry // for Resend, when only a username is known
	resend *widget.Button
	notice *widget.Label
}

// ShowConfirm asks to confirm the account's email address with the
// emailed link, then signs in with in (the password just typed, so it is
// not asked again). justSent says a link was just emailed (a sign-up);
// else the sign-in found the address unconfirmed. in.Identifier is the
// address or, from a sign-in, possibly the username: Resend then asks
// for the address.
func (a *accountUI) ShowConfirm(in app.SignInInput, justSent bool) {
	server, ident := in.ServerURL, in.Identifier
	f := &confirmForm{link: newDialogEntry(a.win), email: newDialogEntry(a.win)}
	f.link.SetPlaceHolder("paste the link from the email")
	f.email.SetPlaceHolder("the account's email address")
	hasEmail := strings.Contains(ident, "@")
	if hasEmail {
		f.email.SetText(ident)
	}
	if justSent {
		f.notice = widget.NewLabel("We sent a confirmation link to " + ident + ".\nOpen it, or paste it here.")
	} else {
		f.notice = widget.NewLabel("This account's email address is not confirmed yet.\nOpen the link of the confirmation email, or paste it here.")
	}
	f.resend = widget.NewButton("Resend the email", nil)
	items := []*widget.FormItem{widget.NewFormItem("", f.notice), widget.NewFormItem("Confirmation link", f.link)}
	if !hasEmail {
		items = append(items, widget.NewFormItem("Email (to resend)", f.email))
	}
	f.accountForm = newAccountForm(a.win, a.bg, "Check your email", "Confirm", items, f.resend)
	f.resend.OnTapped = func() {
		email := strings.TrimSpace(f.email.Text)
		if err := syncproto.ValidateEmail(email); err != nil {
			f.fail("Type the account's email address to send the link to.")
			return
		}
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ResendConfirmation(ctx, server, email) },
			func() { f.notice.SetText("A new link was sent to " + email + ".\nOpen it, or paste it here.") })
	}
	f.submit.OnTapped = func() {
		if strings.TrimSpace(f.link.Text) == "" {
			f.fail("Paste the link from the email first.")
			return
		}
		var acc app.Account
		var signInErr error
		f.run(func(ctx context.Context) error {
			if err := a.svc.opts.Accounts.ConfirmEmail(ctx, server, f.link.Text); err != nil {
				return err
			}
			acc, signInErr = a.svc.opts.Accounts.SignIn(ctx, in)
			return nil
		}, func() {
			f.Close()
			if signInErr != nil {
				// Confirmed all the same: the sign-in form says why.
				a.ShowSignIn(ident)
				a.signIn.fail("Your email address is confirmed. " + accountMessage(signInErr))
				return
			}
			a.afterSignIn(acc)
		})
	}
	a.confirm = f
	f.Show()
}
