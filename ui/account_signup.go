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
	email, username, password, again *widget.Entry
	server                           *serverFields
	oidc                             *oidcButtons
}

// ShowSignUp opens the Create account form.
func (a *accountUI) ShowSignUp() {
	f := &signUpForm{email: widget.NewEntry(), username: widget.NewEntry(), password: widget.NewPasswordEntry(), again: widget.NewPasswordEntry()}
	f.username.SetPlaceHolder(fmt.Sprintf("%d to %d letters, digits, '.', '_' or '-'", syncproto.UsernameMinLen, syncproto.UsernameMaxLen))
	f.password.SetPlaceHolder(fmt.Sprintf("at least %d characters", app.MinPasswordLen))
	f.server = newServerFields(a.win, a.svc.server, a.svc.ca)
	items := append([]*widget.FormItem{
		widget.NewFormItem("Email", f.email), widget.NewFormItem("Username", f.username),
		widget.NewFormItem("Password", f.password), widget.NewFormItem("Repeat password", f.again),
	}, f.server.items()...)
	f.oidc = a.newOIDCButtons(f.server.url, func(p syncproto.OIDCProviderInfo) { a.startOIDC(f.accountForm, f.server, f.oidc, p) }, func() { f.fit() })
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
		a.ShowRecoveryKey(key, func() { a.ShowConfirm(in.ServerURL, in.Email) })
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
	key   *widget.Entry
	copy  *widget.Button
	saved *widget.Check
	next  *widget.Button
	dlg   dialog.Dialog
}

// ShowRecoveryKey shows key once, then runs next.
func (a *accountUI) ShowRecoveryKey(key string, next func()) {
	g := &recoveryGate{key: widget.NewEntry()}
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
	link   *widget.Entry
	resend *widget.Button
	notice *widget.Label
}

// ShowConfirm asks to confirm email's address with the emailed link.
func (a *accountUI) ShowConfirm(server, email string) {
	f := &confirmForm{link: widget.NewEntry()}
	f.link.SetPlaceHolder("paste the link from the email")
	f.notice = widget.NewLabel("We sent a confirmation link to " + email + ".\nOpen it, or paste it here.")
	f.resend = widget.NewButton("Resend the email", nil)
	items := []*widget.FormItem{widget.NewFormItem("", f.notice), widget.NewFormItem("Confirmation link", f.link)}
	f.accountForm = newAccountForm(a.win, a.bg, "Check your email", "Confirm", items, f.resend)
	f.resend.OnTapped = func() {
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ResendConfirmation(ctx, server, email) },
			func() { f.notice.SetText("A new link was sent to " + email + ".\nOpen it, or paste it here.") })
	}
	f.submit.OnTapped = func() {
		if strings.TrimSpace(f.link.Text) == "" {
			f.fail("Paste the link from the email first.")
			return
		}
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ConfirmEmail(ctx, server, f.link.Text) },
			func() {
				f.Close()
				a.ShowSignIn(email)
			})
	}
	a.confirm = f
	f.Show()
}
