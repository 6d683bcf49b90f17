package ui

import (
	"context"

	"fyne.io/fyne/v2"
)

// accountUI returns the window's account flows, or nil when accounts are
// not wired in.
func (mw *MainWindow) accountUI() *accountUI {
	ac, ok := mw.core.(accountsCore)
	if !ok {
		return nil
	}
	return ac.accountServices().accountFor(ac, mw.win, &mw.bg)
}

// accountUIOf returns the account flows reached through core, or nil.
func accountUIOf(core any, win fyne.Window, bg *tasks) *accountUI {
	ac, ok := core.(accountsCore)
	if !ok {
		return nil
	}
	return ac.accountServices().accountFor(ac, win, bg)
}

// syncWidget is the top bar's sync status: the IN SYNC indicator when
// accounts are wired in, else the plain label.
func (b *topBar) syncWidget() fyne.CanvasObject {
	a := accountUIOf(b.core, b.win, b.bg)
	if a == nil {
		return b.sync
	}
	b.indicator = newSyncIndicator(a.svc.opts.Syncer, b.win, b.bg.do)
	b.indicator.OnSignIn = func() { a.ShowSignIn("") }
	a.indicator = b.indicator
	return b.indicator.button
}

// accountMenuItems are the account menu's entries: Sign in and Create
// account, or, when signed in, who and Sign out, then My links.
func (b *topBar) accountMenuItems() []*fyne.MenuItem {
	a := accountUIOf(b.core, b.win, b.bg)
	if a == nil {
		return append([]*fyne.MenuItem{
			fyne.NewMenuItem("Sign in…", b.onSignInTapped),
			fyne.NewMenuItem("Create account…", b.onSignInTapped),
		}, b.linksMenuItems()...)
	}
	acc, signedIn := a.svc.account(context.Background())
	if !signedIn {
		return []*fyne.MenuItem{
			fyne.NewMenuItem("Sign in…", func() { a.ShowSignIn("") }),
			fyne.NewMenuItem("Create account…", a.ShowSignUp),
		}
	}
	who := fyne.NewMenuItem("Signed in as "+acc.Username, nil)
	who.Disabled = true
	items := []*fyne.MenuItem{who}
	if b.OnSettings != nil {
		items = append(items, fyne.NewMenuItem("Account settings…", b.OnSettings))
	}
	items = append(items, fyne.NewMenuItem("Sign out…", func() { a.ShowSignOut() }))
	return append(items, b.linksMenuItems()...)
}

// start starts sync at launch (when signed in with sync on; the indicator
// says why not otherwise).
func (a *accountUI) start() { a.startSync() }

// stop ends sync when the window closes.
func (a *accountUI) stop() {
	if a.indicator != nil {
		a.indicator.Close()
	}
	a.svc.opts.Syncer.Stop()
}

// openAccount replaces the welcome prompt with the Create account form
// (create) or the Sign in form; false when accounts are not wired in.
func (w *welcomePrompt) openAccount(create bool) bool {
	a := accountUIOf(w.core, w.win, w.bg)
	if a == nil {
		return false
	}
	w.visible = false
	w.dlg.Hide()
	if create {
		a.ShowSignUp()
	} else {
		a.ShowSignIn("")
	}
	return true
}
