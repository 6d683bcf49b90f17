package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// accountSettings is the Sync and Account part of the settings dialog:
// sync on/off, the server and CA of the next sign-in, and the signed-in
// account's actions (devices, change password, sign out, delete).
type accountSettings struct {
	a       *accountUI
	syncOn  *widget.Check
	server  *serverFields
	who     *widget.Label
	actions *fyne.Container
	oidc    *oidcSettings // the linked providers
	loaded  bool          // the switch was read; only then is it saved
	wasOn   bool
	// closeSettings hides the settings dialog before an account action
	// changes what it shows.
	closeSettings func()
}

// newAccountSettings returns the section, or nil without accounts.
func (mw *MainWindow) newAccountSettings() *accountSettings {
	a := mw.accountUI()
	if a == nil {
		return nil
	}
	s := &accountSettings{a: a, who: widget.NewLabel("Reading…"), actions: container.NewHBox()}
	s.syncOn = widget.NewCheck("Sync this profile through the account", nil)
	s.server = newServerFields(a.win, a.svc.server, a.svc.ca)
	s.oidc = a.newOIDCSettings(s.close)
	s.load()
	a.settings = s
	return s
}

// saveIfAny is save on a section that may be nil.
func (s *accountSettings) saveIfAny() error {
	if s == nil {
		return nil
	}
	return s.save()
}

func (s *accountSettings) items() []*widget.FormItem {
	head := widget.NewLabelWithStyle("Sync and account", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return append([]*widget.FormItem{widget.NewFormItem("", head), widget.NewFormItem("Sync", s.syncOn)},
		append(s.server.items(), widget.NewFormItem("Account", s.who), widget.NewFormItem("", s.actions), s.oidc.item())...)
}

// load reads the switch and the account off the UI goroutine.
func (s *accountSettings) load() {
	s.a.bg.Go(func() func() {
		ctx := context.Background()
		on, err := s.a.svc.opts.Syncer.Enabled(ctx)
		acc, signedIn := s.a.svc.account(ctx)
		return func() {
			if err != nil {
				s.who.SetText(accountMessage(err))
				return
			}
			s.loaded, s.wasOn = true, on
			s.syncOn.SetChecked(on)
			s.showAccount(acc, signedIn)
		}
	})
}

func (s *accountSettings) showAccount(acc app.Account, signedIn bool) {
	s.actions.RemoveAll()
	if !signedIn {
		s.who.SetText("Not signed in")
		s.oidc.hide()
		s.actions.Add(widget.NewButton("Sign in…", func() { s.close(); s.a.ShowSignIn("") }))
		s.actions.Add(widget.NewButton("Create account…", func() { s.close(); s.a.ShowSignUp() }))
		return
	}
	s.who.SetText(acc.Username + " <" + acc.Email + "> on " + acc.ServerURL)
	s.server.url.SetText(acc.ServerURL)
	s.server.ca.SetText(acc.CAFile)
	s.server.url.Disable()
	s.server.ca.Disable()
	s.server.ca.browse.Disable()
	s.actions.Add(widget.NewButton("Devices…", func() { s.close(); s.a.ShowDevices() }))
	s.actions.Add(widget.NewButton("Change password…", func() { s.close(); s.a.ShowChangePassword() }))
	s.actions.Add(widget.NewButton("Sign out…", func() { s.close(); s.a.ShowSignOut() }))
	del := widget.NewButton("Delete account…", func() { s.close(); s.a.ShowDeleteAccount() })
	del.Importance = widget.DangerImportance
	s.actions.Add(del)
	s.oidc.load(acc.ServerURL)
}

func (s *accountSettings) close() {
	if s.closeSettings != nil {
		s.closeSettings()
	}
}

// save applies the switch and remembers the server for the next sign-in;
// it returns why it cannot (a server that is not https).
func (s *accountSettings) save() error {
	if !s.server.url.Disabled() {
		server, ca, err := s.server.values()
		if err != nil {
			return err
		}
		if err := s.a.useServer(server, ca); err != nil {
			return err
		}
	}
	if !s.loaded || s.syncOn.Checked == s.wasOn {
		return nil
	}
	on := s.syncOn.Checked
	s.a.bg.Go(func() func() {
		err := s.a.svc.opts.Syncer.SetEnabled(context.Background(), on)
		return func() {
			if err != nil {
				showError(s.a.win, "turn sync on or off", err)
			}
		}
	})
	return nil
}

// signOutDialog asks whether to remove the account's data on sign-out.
type signOutDialog struct {
	remove  *widget.Check
	pending *widget.Label // the changes not pushed yet; hidden when none
	dlg     dialog.Dialog
}

// signOutPushWait is how long a sign-out that removes the account's data
// lets sync push the changes still pending; past it the data stays.
var signOutPushWait = 15 * time.Second

// ShowSignOut asks to sign out, and whether to remove this account's
// data from the device too.
func (a *accountUI) ShowSignOut() *signOutDialog {
	d := &signOutDialog{remove: widget.NewCheck("Also remove this account's data from this device", nil), pending: widget.NewLabel("")}
	text := widget.NewLabel("Signing out revokes this device's session. Your data stays on the server\n" +
		"and on your other devices. Unless you remove it, it also stays here, readable offline.")
	if n := a.svc.opts.Syncer.Status().Pending; n > 0 {
		d.pending.SetText(fmt.Sprintf("Not on the server yet: %s made here. Before removing anything, Courier\n"+
			"tries to push what is pending; if it cannot, the data stays on this device.", countNoun(n, "change")))
		d.pending.Importance = widget.WarningImportance
	} else {
		d.pending.Hide()
	}
	d.dlg = dialog.NewCustomConfirm("Sign out", "Sign out", "Cancel", container.NewVBox(text, d.pending, d.remove), func(ok bool) {
		if ok {
			a.signOut(d.remove.Checked)
		}
	}, a.win)
	d.dlg.Show()
	a.signOutDlg = d
	return d
}

// signOut stops sync, signs out, removes the data when asked, and shows
// the status that follows. Before a removal it lets sync push what is
// pending; app.RemoveAccountData keeps the data when some of it is still
// only here, and the person is told so.
func (a *accountUI) signOut(remove bool) {
	syncer := a.svc.opts.Syncer
	var pushing dialog.Dialog
	if n := syncer.Status().Pending; remove && n > 0 {
		bar := widget.NewProgressBarInfinite()
		pushing = dialog.NewCustomWithoutButtons("Signing out", container.NewVBox(
			widget.NewLabel(fmt.Sprintf("Pushing %s made here before removing this account's data…", countNoun(n, "change"))), bar), a.win)
		pushing.Show()
	}
	a.bg.Go(func() func() {
		ctx := context.Background()
		if remove {
			pushPending(syncer, signOutPushWait)
		}
		syncer.Stop()
		res, err := a.svc.opts.Accounts.SignOut(ctx)
		var kept error
		if err == nil && remove {
			if err = a.svc.opts.Profile.RemoveAccountData(ctx); errors.Is(err, app.ErrUnpushed) {
				kept, err = err, nil
			}
		}
		serr := syncer.Start(ctx)
		return func() {
			if pushing != nil {
				pushing.Hide()
			}
			switch {
			case err != nil:
				showError(a.win, "sign out", err)
			case serr != nil:
				showError(a.win, "show the sync status", serr)
			case kept != nil:
				why := strings.TrimPrefix(kept.Error(), app.ErrUnpushed.Error()+": ")
				why = strings.TrimSuffix(why, ": "+model.ErrConflict.Error())
				dialog.ShowInformation("Signed out; data kept", "You are signed out, but this account's data stays on this device:\n"+why+".", a.win)
			case res.ServerErr != nil:
				dialog.ShowInformation("Signed out", "This device forgot the session, but the server could not be told ("+
					accountMessage(res.ServerErr)+"). Revoke it from another device's Devices list.", a.win)
			}
		}
	})
}

// pushPending asks the running sync to push the changes still pending
// and waits until none are left, sync stops trying (off, signed out, or
// waiting for the person), or wait passes.
func pushPending(s app.Syncer, wait time.Duration) {
	changed := make(chan struct{}, 1)
	cancel := s.Subscribe(func(app.SyncStatus) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer cancel()
	s.SyncNow()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		switch st := s.Status(); {
		case st.Pending == 0, st.State == app.SyncOff, st.State == app.SyncNotSignedIn, st.State == app.SyncActionNeeded:
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		}
	}
}

// countNoun is "1 change", "3 changes".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// ShowChangePassword asks for the current and a new password.
func (a *accountUI) ShowChangePassword() {
	cur, pw, again := newDialogPasswordEntry(a.win), newDialogPasswordEntry(a.win), newDialogPasswordEntry(a.win)
	items := []*widget.FormItem{widget.NewFormItem("Current password", cur), widget.NewFormItem("New password", pw), widget.NewFormItem("Repeat new password", again)}
	f := newAccountForm(a.win, a.bg, "Change password", "Change password", items)
	f.submit.OnTapped = func() {
		if err := checkPasswordPair(pw.Text, again.Text); err != nil {
			f.fail(accountMessage(err))
			return
		}
		f.run(func(ctx context.Context) error { return a.svc.opts.Accounts.ChangePassword(ctx, cur.Text, pw.Text) }, func() {
			f.Close()
			dialog.ShowInformation("Password changed", "Your other devices were signed out; sign in there with the new password.", a.win)
		})
	}
	f.Show()
}

// checkPasswordPair checks a new password's length and its repetition.
func checkPasswordPair(pw, again string) error {
	if utf8.RuneCountInString(pw) < app.MinPasswordLen {
		return fmt.Errorf("the password must have at least %d characters: %w", app.MinPasswordLen, model.ErrInvalid)
	}
	if pw != again {
		return fmt.Errorf("the two passwords differ: %w", model.ErrInvalid)
	}
	return nil
}

// ShowDeleteAccount asks for the password before deleting the account.
func (a *accountUI) ShowDeleteAccount() {
	pw := newDialogPasswordEntry(a.win)
	warn := widget.NewLabel("Deleting the account removes it and all its synced data from the server, for good,\n" +
		"and signs out every device. The data on this device stays. Type your password to confirm.")
	warn.Importance = widget.DangerImportance
	items := []*widget.FormItem{widget.NewFormItem("", warn), widget.NewFormItem("Password", pw)}
	f := newAccountForm(a.win, a.bg, "Delete account", "Delete my account", items)
	f.submit.Importance = widget.DangerImportance
	f.submit.OnTapped = func() {
		if pw.Text == "" {
			f.fail("Type your password to confirm.")
			return
		}
		f.run(func(ctx context.Context) error {
			a.svc.opts.Syncer.Stop()
			err := a.svc.opts.Accounts.DeleteAccount(ctx, pw.Text)
			return errors.Join(err, a.svc.opts.Syncer.Start(context.WithoutCancel(ctx)))
		}, func() {
			f.Close()
			dialog.ShowInformation("Account deleted", "The account and its synced data are gone. Everything on this device stays.", a.win)
		})
	}
	f.Show()
}

// ShowDevices lists the account's devices, each with Revoke.
func (a *accountUI) ShowDevices() {
	rows := container.NewVBox(widget.NewLabel("Loading…"))
	scroll := container.NewVScroll(rows)
	scroll.SetMinSize(fyne.NewSize(560, 240))
	d := dialog.NewCustom("Devices", "Close", scroll, a.win)
	var reload func()
	reload = func() {
		a.bg.Go(func() func() {
			devs, err := a.svc.opts.Accounts.Devices(context.Background())
			return func() {
				rows.RemoveAll()
				if err != nil {
					rows.Add(widget.NewLabel(accountMessage(err)))
					return
				}
				for _, dev := range devs {
					rows.Add(a.deviceRow(dev, reload))
				}
			}
		})
	}
	d.Show()
	reload()
}

func (a *accountUI) deviceRow(dev app.Device, reload func()) fyne.CanvasObject {
	name := dev.Name
	if dev.Current {
		name += " (this device)"
	}
	seen := "last seen " + lastSyncText(dev.LastSeenAt)
	if dev.Current {
		return container.NewBorder(nil, nil, nil, widget.NewLabel(seen), widget.NewLabel(name))
	}
	revoke := widget.NewButton("Revoke", func() {
		dialog.ShowConfirm("Revoke "+dev.Name+"?", "That device is signed out and stops syncing.", func(ok bool) {
			if !ok {
				return
			}
			a.bg.Go(func() func() {
				err := a.svc.opts.Accounts.RevokeDevice(context.Background(), dev.ID)
				return func() {
					if err != nil {
						showError(a.win, "revoke the device", err)
					}
					reload()
				}
			})
		}, a.win)
	})
	return container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewLabel(seen), revoke), widget.NewLabel(name))
}
