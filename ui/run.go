//go:build cgo

// Run lives alone in this file because fyne.io/fyne/v2/app needs cgo (the
// OpenGL driver); the rest of the package, and its tests, build without it.

package ui

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/assets"
	"github.com/courierapp/courier/model"
)

// Run opens Courier's main window over core, shows the welcome prompt on
// first launch and opts.Notice if set, and returns when the window is
// closed.
func Run(core *app.App, opts Options) (err error) {
	if err := displayAvailable(os.Getenv); err != nil {
		return err
	}
	// GLFW reports a display it cannot open by a panic further on; that
	// is the user's environment, not a bug, so say it in one line.
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			if !strings.Contains(msg, "GLFW") {
				panic(p)
			}
			err = fmt.Errorf("cannot open a window on display %q (%s); run Courier in a desktop session, or use its commands (courier --help): %w",
				os.Getenv("DISPLAY"), msg, model.ErrUnavailable)
		}
	}()
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

// displayAvailable says, on systems whose windows need an X11 or Wayland
// display, when the environment names neither.
func displayAvailable(getenv func(string) string) error {
	switch runtime.GOOS {
	case "windows", "darwin", "android", "ios":
		return nil
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return fmt.Errorf("no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); run Courier in a desktop session, or use its commands (courier --help): %w", model.ErrUnavailable)
	}
	return nil
}
