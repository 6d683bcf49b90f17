//go:build cgo

// Run lives alone in this file because fyne.io/fyne/v2/app needs cgo (the
// OpenGL driver); the rest of the package, and its tests, build without it.

package ui

import (
	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/assets"
)

// Run opens Courier's main window over core, shows the welcome prompt on
// first launch and opts.Notice if set, and returns when the window is
// closed.
func Run(core *app.App, opts Options) error {
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(assets.Icon())
	mw := newWindowShell(a, withAccounts(core, opts.Account), fyne.Do)
	mw.ApplySettings()
	mw.win.SetMaster()
	// The window maps empty (Show paints it before the event loop starts);
	// the widgets and the prompts follow once it is up, so they do not
	// delay it.
	a.Lifecycle().SetOnStarted(func() {
		mw.build()
		mw.ShowWelcomeIfNeeded()
		if acct := mw.accountUI(); acct != nil {
			acct.start() // sync runs when signed in with sync on
		}
		if opts.Notice != "" {
			dialog.ShowInformation("Courier", opts.Notice, mw.win)
		}
	})
	mw.win.ShowAndRun()
	if acct := mw.accountUI(); acct != nil {
		acct.stop()
	}
	return nil
}
