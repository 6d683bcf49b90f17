package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// ShowForgotUsername asks for the address to email the username to.
func (a *accountUI) ShowForgotUsername() {
	email := newDialogEntry(a.win)
	server := newServerFields(a.win, a.svc.server, a.svc.ca)
	items := append([]*widget.FormItem{widget.NewFormItem("Email", email)}, server.items()...)
	f := newAccountForm(a.win, a.bg, "Forgot username", "Email my username", items)
	f.submit.OnTapped = func() {
		addr := strings.TrimSpace(email.Text)
		srv, ca, err := server.values()
		err = errors.Join(syncproto.ValidateEmail(addr), err)
		if err == nil {
			err = a.useServer(srv, ca)
		}
		if err != nil {
			f.fail(joinedMessage(err))
			return
		}
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ForgotUsername(ctx, srv, addr) }, func() {
			f.Close()
			dialog.ShowInformation("Forgot username", "If an account uses "+addr+", its username is on its way there.", a.win)
		})
	}
	f.Show()
}

// ShowForgotPassword asks for the address to email a reset code to, then
// opens the reset form.
func (a *accountUI) ShowForgotPassword() {
	email := newDialogEntry(a.win)
	server := newServerFields(a.win, a.svc.server, a.svc.ca)
	items := append([]*widget.FormItem{widget.NewFormItem("Email", email)}, server.items()...)
	haveCode := widget.NewButton("I have a code", nil)
	haveCode.Importance = widget.LowImportance
	f := newAccountForm(a.win, a.bg, "Forgot password", "Email me a reset code", items, haveCode)
	values := func() (string, string, error) {
		addr := strings.TrimSpace(email.Text)
		srv, ca, err := server.values()
		err = errors.Join(syncproto.ValidateEmail(addr), err)
		if err == nil {
			err = a.useServer(srv, ca)
		}
		return addr, srv, err
	}
	haveCode.OnTapped = func() {
		addr, srv, err := values()
		if err != nil {
			f.fail(joinedMessage(err))
			return
		}
		f.Close()
		a.ShowReset(srv, addr)
	}
	f.submit.OnTapped = func() {
		addr, srv, err := values()
		if err != nil {
			f.fail(joinedMessage(err))
			return
		}
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ForgotPassword(ctx, srv, addr) }, func() {
			f.Close()
			a.ShowReset(srv, addr)
		})
	}
	f.Show()
}

// resetForm sets a new password with the emailed code.
type resetForm struct {
	*accountForm
	code, password, again, recovery *dialogEntry
	erase                           *widget.Check
}

// ShowReset opens the reset form for email's account on server.
func (a *accountUI) ShowReset(server, email string) {
	f := &resetForm{code: newDialogEntry(a.win), password: newDialogPasswordEntry(a.win), again: newDialogPasswordEntry(a.win), recovery: newDialogEntry(a.win)}
	f.code.SetPlaceHolder("the code from the email (valid 30 minutes)")
	f.recovery.SetPlaceHolder("empty: use the key this device holds")
	f.erase = widget.NewCheck("I have neither: erase my synced data and start afresh", nil)
	items := []*widget.FormItem{
		widget.NewFormItem("Email", widget.NewLabel(email)), widget.NewFormItem("Code", f.code),
		widget.NewFormItem("New password", f.password), widget.NewFormItem("Repeat password", f.again),
		widget.NewFormItem("Recovery key", f.recovery), widget.NewFormItem("", f.erase),
	}
	f.accountForm = newAccountForm(a.win, a.bg, "Reset password", "Set the new password", items)
	f.submit.OnTapped = func() { a.onResetSubmitted(f, server, email) }
	a.reset = f
	f.Show()
}

func (a *accountUI) onResetSubmitted(f *resetForm, server, email string) {
	in := app.ResetInput{ServerURL: server, Email: email, Code: strings.TrimSpace(f.code.Text), NewPassword: f.password.Text,
		RecoveryKey: strings.TrimSpace(f.recovery.Text), Erase: f.erase.Checked}
	var errs []error
	errs = append(errs, syncproto.ValidateCode(in.Code))
	if utf8.RuneCountInString(in.NewPassword) < app.MinPasswordLen {
		errs = append(errs, fmt.Errorf("the password must have at least %d characters: %w", app.MinPasswordLen, model.ErrInvalid))
	} else if f.again.Text != in.NewPassword {
		errs = append(errs, fmt.Errorf("the two passwords differ: %w", model.ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		f.fail(joinedMessage(err))
		return
	}
	submit := func() {
		var res app.ResetResult
		f.run(func(ctx context.Context) error {
			var err error
			res, err = a.svc.opts.Accounts.ResetPassword(ctx, in)
			return err
		}, func() {
			f.Close()
			a.startSync() // the reset signed this device out
			if res.RecoveryKey != "" {
				a.ShowRecoveryKey(res.RecoveryKey, func() { a.ShowSignIn(email) })
				return
			}
			a.ShowSignIn(email)
		})
	}
	if !in.Erase {
		submit()
		return
	}
	dialog.ShowConfirm("Erase your synced data?",
		"Every request, collection, environment and history entry stored on the server for this account\n"+
			"is deleted for good, and a new recovery key is made. The data on this device stays.\n"+
			"Use this only when you have neither your recovery key nor a device that is still signed in.",
		func(ok bool) {
			if ok {
				submit()
			}
		}, a.win)
}
