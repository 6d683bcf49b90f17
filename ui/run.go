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
func Run(core *app.App, opts Options) error {
	return withApp(func(a fyne.App) { runMain(a, core, opts) })
}

// runMain shows the main window on a and returns when it is closed.
func runMain(a fyne.App, core *app.App, opts Options) {
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
			dialog.ShowInformation("Courier", sentence(opts.Notice), mw.win)
		}
	})
	mw.win.ShowAndRun()
	if acct := mw.accountUI(); acct != nil {
		acct.stop()
	}
}

// withApp makes the Fyne app and runs show on it, once a display is there
// to open windows on; GLFW's panic on a display it cannot open comes back
// as an error.
func withApp(show func(a fyne.App)) (err error) {
	if err := displayAvailable(os.Getenv); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = windowPanic(p)
		}
	}()
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(assets.Icon())
	show(a)
	return nil
}

// windowPanic turns GLFW's panic on a display it cannot open into an
// error: that is the user's environment, not a bug, so it is said in one
// line. Any other panic goes on.
func windowPanic(p any) error {
	msg := fmt.Sprint(p)
	if !strings.Contains(msg, "GLFW") {
		panic(p)
	}
	return fmt.Errorf("cannot open a window on display %q (%s); run Courier in a desktop session, or use its commands (courier --help): %w",
		os.Getenv("DISPLAY"), msg, model.ErrUnavailable)
}

// ShowStartError shows, in a window of its own, why Courier could not
// start (msg: the profile is locked by another Courier, its secret
// values are locked in the keyring, it cannot be written), so that a
// person who started it from a desktop icon, with no terminal, learns it
// too. It returns when the window is closed, or at once with an error
// when no window can be opened.
func ShowStartError(msg string) error {
	return withApp(func(a fyne.App) {
		w := a.NewWindow(startErrorTitle)
		w.SetContent(startErrorContent(msg, func(s string) { a.Clipboard().SetContent(s) }, a.Quit))
		w.Resize(fyne.NewSize(520, 220))
		w.CenterOnScreen()
		w.ShowAndRun()
	})
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
