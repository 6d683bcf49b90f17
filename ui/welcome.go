package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// welcomeCore is what the first-launch prompt needs from the core.
type welcomeCore interface {
	NeedsWelcome(ctx context.Context) bool
	SkipWelcome(ctx context.Context) error
	AccountsAvailable() bool
}

// welcomePrompt is the first-launch prompt: Sign in, Create account, Skip.
// Skip is remembered; Sign in stays in the account menu.
type welcomePrompt struct {
	core    welcomeCore
	win     fyne.Window
	bg      *tasks
	dlg     dialog.Dialog
	signIn  *widget.Button
	create  *widget.Button
	skip    *widget.Button
	visible bool
	// oidcButtons are the "Continue with <Provider>" buttons, once
	// fetched (oidc_welcome.go).
	oidcButtons []fyne.CanvasObject
}

func newWelcomePrompt(core welcomeCore, win fyne.Window, bg *tasks) *welcomePrompt {
	return &welcomePrompt{core: core, win: win, bg: bg}
}

// build makes the dialog; only a first launch pays for laying out its text.
func (w *welcomePrompt) build() {
	w.signIn = widget.NewButton("Sign in", func() { w.onAccountTapped(false) })
	w.create = widget.NewButton("Create account", func() { w.onAccountTapped(true) })
	w.skip = widget.NewButton("Skip", w.onSkipTapped)
	w.skip.Importance = widget.HighImportance
	text := widget.NewLabel("Courier sends HTTP requests and keeps your history, collections,\n" +
		"environments and header presets on this computer.\n\n" +
		"With an account they sync, end-to-end encrypted, between your machines.\n" +
		"You can sign in later from the account menu.")
	buttons := container.NewVBox(container.NewGridWithColumns(3, w.signIn, w.create, w.skip), w.newOIDCWelcome())
	body := container.NewBorder(nil, buttons, nil, nil, text)
	w.dlg = dialog.NewCustomWithoutButtons("Welcome to Courier", body, w.win)
}

// ShowIfNeeded shows the prompt unless it was skipped before.
func (w *welcomePrompt) ShowIfNeeded() {
	if w.core.NeedsWelcome(context.Background()) {
		if w.dlg == nil {
			w.build()
		}
		w.visible = true
		w.dlg.Show()
	}
}

// Visible reports whether the prompt is on screen.
func (w *welcomePrompt) Visible() bool { return w.visible }

func (w *welcomePrompt) onAccountTapped(create bool) {
	if w.openAccount(create) { // account_window.go
		return
	}
	if !w.core.AccountsAvailable() {
		showAccountsUnavailable(w.win)
	}
}

func (w *welcomePrompt) onSkipTapped() {
	w.visible = false
	w.dlg.Hide()
	w.bg.Go(func() func() {
		err := w.core.SkipWelcome(context.Background())
		return func() {
			if err != nil {
				showError(w.win, "remember the choice", err)
			}
		}
	})
}
