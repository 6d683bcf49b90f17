package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// noEnvironment is the selector's entry for "no active environment".
const noEnvironment = "No environment"

// topCore is what the top bar needs from the core.
type topCore interface {
	Environments(ctx context.Context) ([]model.Environment, error)
	ActiveEnvironment(ctx context.Context) (model.ID, error)
	SetActiveEnvironment(ctx context.Context, id model.ID) error
	AccountsAvailable() bool
}

// topBar holds the environment selector, the sync status and the account
// and settings menus.
type topBar struct {
	core topCore
	win  fyne.Window
	bg   *tasks
	envs []model.Environment
	env  *widget.Select
	sync *widget.Label
	// indicator replaces sync when accounts are wired in (syncstatus.go).
	indicator *syncIndicator
	account   *widget.Button
	content   fyne.CanvasObject
	loading   bool

	// OnSettings opens the settings dialog.
	OnSettings func()
}

func newTopBar(core topCore, win fyne.Window, bg *tasks) *topBar {
	b := &topBar{core: core, win: win, bg: bg}
	b.env = widget.NewSelect([]string{noEnvironment}, nil)
	b.env.Selected = noEnvironment
	b.env.OnChanged = b.onEnvironmentSelected // after the initial choice, which must not be stored
	b.sync = widget.NewLabel("not signed in")
	b.sync.Importance = widget.LowImportance
	b.account = widget.NewButtonWithIcon("Account", theme.AccountIcon(), b.onAccountTapped)
	settings := widget.NewButtonWithIcon("", theme.SettingsIcon(), func() {
		if b.OnSettings != nil {
			b.OnSettings()
		}
	})
	title := widget.NewLabelWithStyle("Courier", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	envBox := container.NewHBox(widget.NewIcon(theme.ComputerIcon()), container.NewGridWrap(fyne.NewSize(220, b.env.MinSize().Height), b.env))
	b.content = container.NewHBox(title, envBox, layout.NewSpacer(), widget.NewIcon(theme.StorageIcon()), b.syncWidget(), b.account, settings)
	return b
}

// Content is the bar's widget tree.
func (b *topBar) Content() fyne.CanvasObject { return b.content }

// Reload reads the environments and the active one.
func (b *topBar) Reload() {
	b.bg.Go(func() func() {
		ctx := context.Background()
		envs, err := b.core.Environments(ctx)
		active, aerr := b.core.ActiveEnvironment(ctx)
		return func() {
			if err != nil || aerr != nil {
				showError(b.win, "load the environments", errors.Join(err, aerr))
				return
			}
			b.show(envs, active)
		}
	})
}

func (b *topBar) show(envs []model.Environment, active model.ID) {
	b.loading = true
	defer func() { b.loading = false }()
	b.envs = envs
	opts := []string{noEnvironment}
	sel := noEnvironment
	for _, e := range envs {
		opts = append(opts, e.Name)
		if e.ID == active {
			sel = e.Name
		}
	}
	b.env.SetOptions(opts)
	b.env.SetSelected(sel)
}

// SelectEnvironment makes the environment named name (or noEnvironment)
// the active one.
func (b *topBar) SelectEnvironment(name string) { b.env.SetSelected(name) }

func (b *topBar) onEnvironmentSelected(name string) {
	if b.loading {
		return
	}
	var id model.ID
	for i := range b.envs {
		if b.envs[i].Name == name {
			id = b.envs[i].ID
			break
		}
	}
	b.bg.Go(func() func() {
		err := b.core.SetActiveEnvironment(context.Background(), id)
		return func() {
			if err != nil {
				showError(b.win, "choose the environment", err)
			}
		}
	})
}

func (b *topBar) onAccountTapped() {
	items := b.accountMenuItems() // account_window.go
	c := fyne.CurrentApp().Driver().CanvasForObject(b.account)
	if c == nil {
		c = b.win.Canvas()
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b.account).Add(fyne.NewPos(0, b.account.Size().Height))
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), c, pos)
}

func (b *topBar) onSignInTapped() {
	if !b.core.AccountsAvailable() {
		showAccountsUnavailable(b.win)
	}
}

// showAccountsUnavailable explains that accounts need a server.
func showAccountsUnavailable(win fyne.Window) {
	dialog.ShowInformation("Accounts", app.AccountsUnavailableMessage+
		"\nSigning in and creating accounts are not available in this version yet.", win)
}
