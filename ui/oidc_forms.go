package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// oidcUnlockForm asks for the encryption passphrase (or the recovery key)
// after a provider sign-in: the provider authenticates, the passphrase
// opens the data.
type oidcUnlockForm struct {
	*accountForm
	secret   *dialogEntry
	recovery bool
	other    *widget.Button // "Use recovery key instead" or back
}

// ShowOIDCUnlock asks for the passphrase of res (the recovery key when
// recovery is set), unlocks and joins the account as a password sign-in
// does. Cancel revokes the provider's session.
func (a *accountUI) ShowOIDCUnlock(p syncproto.OIDCProviderInfo, res app.OIDCResult, recovery bool) {
	f := &oidcUnlockForm{recovery: recovery}
	label, otherText := "Encryption passphrase", "Use recovery key instead"
	if recovery {
		f.secret = newDialogEntry(a.win)
		f.secret.SetPlaceHolder("XXXX-XXXX-…")
		label, otherText = "Recovery key", "Use the passphrase instead"
	} else {
		f.secret = newDialogPasswordEntry(a.win)
	}
	who := res.Username
	if res.Email != "" {
		who += " <" + res.Email + ">"
	}
	intro := widget.NewLabel("Signed in with " + providerLabel(p) + " as " + who + ".\nYour synced data is locked by your encryption passphrase, which " + providerLabel(p) + " never sees.")
	intro.Wrapping = fyne.TextWrapWord
	items := []*widget.FormItem{widget.NewFormItem("", intro), widget.NewFormItem(label, f.secret)}
	f.other = widget.NewButton(otherText, func() {
		f.Close()
		a.ShowOIDCUnlock(p, res, !recovery)
	})
	f.other.Importance = widget.LowImportance
	f.accountForm = newAccountForm(a.win, a.bg, "Unlock your data", "Unlock", items, f.other)
	f.cancel.OnTapped = func() { a.onOIDCUnlockCancelled(f, res) }
	f.submit.OnTapped = func() { a.onOIDCUnlockSubmitted(f, res) }
	f.secret.OnSubmitted = func(string) { a.onOIDCUnlockSubmitted(f, res) }
	a.oidcUnlock = f
	f.Show()
	a.win.Canvas().Focus(f.secret)
}

func (a *accountUI) onOIDCUnlockSubmitted(f *oidcUnlockForm, res app.OIDCResult) {
	secret := strings.TrimSpace(f.secret.Text)
	if !f.recovery {
		secret = f.secret.Text
	}
	if secret == "" {
		if f.recovery {
			f.fail("Type the recovery key.")
		} else {
			f.fail("Type the encryption passphrase.")
		}
		return
	}
	svc := a.svc.opts.Accounts
	var acc app.Account
	f.run(func(ctx context.Context) error {
		var err error
		if f.recovery {
			acc, err = svc.OIDCUnlockWithRecoveryKey(ctx, res, secret)
		} else {
			acc, err = svc.OIDCUnlock(ctx, res, secret)
		}
		return err
	}, func() {
		f.Close()
		a.afterSignIn(acc)
	})
}

// onOIDCUnlockCancelled closes the form and revokes the session that
// will not be unlocked.
func (a *accountUI) onOIDCUnlockCancelled(f *oidcUnlockForm, res app.OIDCResult) {
	f.Close()
	svc := a.svc.opts.Accounts
	a.bg.Go(func() func() {
		svc.OIDCCancel(context.Background(), res)
		return nil
	})
}

// oidcSignUpForm creates an account for a provider identity that has none:
// a username and a new encryption passphrase.
type oidcSignUpForm struct {
	*accountForm
	username, password, again *dialogEntry
}

// ShowOIDCSignUp asks for the username and passphrase of a new account for
// res, creates it, shows the recovery key behind its gate, then joins the
// account.
func (a *accountUI) ShowOIDCSignUp(p syncproto.OIDCProviderInfo, res app.OIDCResult) {
	f := &oidcSignUpForm{username: newDialogEntry(a.win), password: newDialogPasswordEntry(a.win), again: newDialogPasswordEntry(a.win)}
	f.username.SetText(res.SuggestedUsername)
	f.username.SetPlaceHolder(fmt.Sprintf("%d to %d letters, digits, '.', '_' or '-'", syncproto.UsernameMinLen, syncproto.UsernameMaxLen))
	f.password.SetPlaceHolder(fmt.Sprintf("at least %d characters", app.MinPasswordLen))
	intro := widget.NewLabel("No account signs in with this " + providerLabel(p) + " identity (" + res.Email + ") yet.\n" +
		"Choose a username and an encryption passphrase: it locks your synced data, and " + providerLabel(p) + " never sees it.")
	intro.Wrapping = fyne.TextWrapWord
	items := []*widget.FormItem{
		widget.NewFormItem("", intro), widget.NewFormItem("Username", f.username),
		widget.NewFormItem("Encryption passphrase", f.password), widget.NewFormItem("Repeat passphrase", f.again),
	}
	f.accountForm = newAccountForm(a.win, a.bg, "Create account", "Create account", items)
	f.submit.OnTapped = func() { a.onOIDCSignUpSubmitted(f, res) }
	a.oidcSignUp = f
	f.Show()
	a.win.Canvas().Focus(f.password)
}

// validate checks the fields under the rules of a password sign-up.
func (f *oidcSignUpForm) validate() (username, passphrase string, err error) {
	username, passphrase = strings.TrimSpace(f.username.Text), f.password.Text
	errs := []error{syncproto.ValidateUsername(username)}
	if utf8.RuneCountInString(passphrase) < app.MinPasswordLen {
		errs = append(errs, fmt.Errorf("the passphrase must have at least %d characters: %w", app.MinPasswordLen, model.ErrInvalid))
	} else if f.again.Text != passphrase {
		errs = append(errs, fmt.Errorf("the two passphrases differ: %w", model.ErrInvalid))
	}
	return username, passphrase, errors.Join(errs...)
}

func (a *accountUI) onOIDCSignUpSubmitted(f *oidcSignUpForm, res app.OIDCResult) {
	username, passphrase, err := f.validate()
	if err != nil {
		f.fail(joinedMessage(err))
		return
	}
	svc := a.svc.opts.Accounts
	var acc app.Account
	var key string
	f.run(func(ctx context.Context) error {
		var err error
		acc, key, err = svc.OIDCCreateAccount(ctx, res, username, passphrase)
		return oidcError(err)
	}, func() {
		f.Close()
		a.ShowRecoveryKey(key, func() { a.afterSignIn(acc) })
	})
}
