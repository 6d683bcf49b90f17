package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/syncproto"
)

// newOIDCWelcome returns the welcome prompt's "Continue with <Provider>"
// row, empty and hidden until the default server lists its providers
// (fetched off the UI goroutine). Without accounts or a loopback listener
// it stays hidden.
func (w *welcomePrompt) newOIDCWelcome() *fyne.Container {
	box := container.NewVBox()
	box.Hide()
	a := accountUIOf(w.core, w.win, w.bg)
	if a == nil || a.svc.opts.OIDCListen == nil {
		return box
	}
	svc, server := a.svc.opts.Accounts, a.svc.server
	w.bg.Go(func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), oidcListTimeout)
		defer cancel()
		list, err := svc.OIDCProviders(ctx, server)
		return func() {
			if err != nil || len(list) == 0 {
				return
			}
			for _, p := range list {
				box.Add(widget.NewButton("Continue with "+providerLabel(p), func() { w.onOIDCTapped(a, p) }))
			}
			box.Show()
			w.oidcButtons = box.Objects
			if w.dlg != nil {
				w.dlg.Resize(w.dlg.MinSize())
			}
		}
	})
	return box
}

// onOIDCTapped replaces the prompt with the Sign in form and runs the
// provider sign-in there (its progress and Cancel).
func (w *welcomePrompt) onOIDCTapped(a *accountUI, p syncproto.OIDCProviderInfo) {
	w.visible = false
	w.dlg.Hide()
	a.ShowSignIn("")
	f := a.signIn
	a.startOIDC(f.accountForm, f.server, f.oidc, p)
}
