package ui

import (
	"context"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncproto"
)

// oidcSettings is the provider part of the account settings: the
// identities linked to the account and a "Link <Provider>" button per
// provider not linked yet. It stays hidden when the server offers none.
type oidcSettings struct {
	a      *accountUI
	box    *fyne.Container
	linked *widget.Label
	links  []*widget.Button
	// closeSettings hides the settings dialog before the link flow.
	closeSettings func()
}

func (a *accountUI) newOIDCSettings(closeSettings func()) *oidcSettings {
	o := &oidcSettings{a: a, box: container.NewVBox(), linked: widget.NewLabel(""), closeSettings: closeSettings}
	o.linked.Wrapping = fyne.TextWrapWord
	o.box.Hide()
	return o
}

// item is the section as a row of the settings form.
func (o *oidcSettings) item() *widget.FormItem { return widget.NewFormItem("", o.box) }

// hide hides the section (signed out).
func (o *oidcSettings) hide() { o.box.Hide() }

// load fetches server's providers and the account's identities off the
// UI goroutine, then shows them.
func (o *oidcSettings) load(server string) {
	if o.a.svc.opts.OIDCListen == nil {
		return
	}
	svc := o.a.svc.opts.Accounts
	o.a.bg.Go(func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), oidcListTimeout)
		defer cancel()
		providers, err := svc.OIDCProviders(ctx, server)
		if err != nil || len(providers) == 0 {
			return nil
		}
		ids, err := svc.OIDCIdentities(ctx)
		return func() {
			if err != nil {
				o.linked.SetText(accountMessage(err))
				ids = nil
			} else {
				o.linked.SetText(identitiesText(providers, ids))
			}
			o.show(providers, ids)
		}
	})
}

// identitiesText lists the linked identities, one a line.
func identitiesText(providers []syncproto.OIDCProviderInfo, ids []syncproto.OIDCIdentity) string {
	if len(ids) == 0 {
		return "No provider signs in to this account yet."
	}
	lines := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id.Provider
		for _, p := range providers {
			if p.Name == id.Provider {
				name = providerLabel(p)
			}
		}
		line := "Signs in with " + name
		if id.Email != "" {
			line += " (" + id.Email + ")"
		}
		if !id.LinkedAt.IsZero() {
			line += ", linked " + id.LinkedAt.Local().Format("2 Jan 2006")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (o *oidcSettings) show(providers []syncproto.OIDCProviderInfo, ids []syncproto.OIDCIdentity) {
	o.box.RemoveAll()
	o.links = nil
	head := widget.NewLabelWithStyle("Sign-in providers", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	buttons := container.NewHBox()
	for _, p := range providers {
		if slices.ContainsFunc(ids, func(id syncproto.OIDCIdentity) bool { return id.Provider == p.Name }) {
			continue
		}
		b := widget.NewButton("Link "+providerLabel(p), func() { o.onLinkTapped(p) })
		o.links = append(o.links, b)
		buttons.Add(b)
	}
	o.box.Add(head)
	o.box.Add(o.linked)
	o.box.Add(buttons)
	o.box.Show()
}

func (o *oidcSettings) onLinkTapped(p syncproto.OIDCProviderInfo) {
	if o.closeSettings != nil {
		o.closeSettings()
	}
	o.a.ShowOIDCLink(p)
}

// oidcLinkForm runs the link flow with progress and Cancel.
type oidcLinkForm struct {
	*accountForm
	buttons *oidcButtons // only its note, for the browser's address
}

// ShowOIDCLink links p to the signed-in account: the person signs in at
// the provider in the browser; from then on p signs in to this account.
func (a *accountUI) ShowOIDCLink(p syncproto.OIDCProviderInfo) {
	f := &oidcLinkForm{buttons: &oidcButtons{a: a, box: container.NewVBox(), note: widget.NewLabel("")}}
	f.buttons.note.Wrapping = fyne.TextWrapBreak
	f.buttons.note.Hide()
	intro := widget.NewLabel("Sign in with " + providerLabel(p) + " in your browser to link it to this account.")
	items := []*widget.FormItem{widget.NewFormItem("", intro), widget.NewFormItem("", f.buttons.note)}
	f.accountForm = newAccountForm(a.win, a.bg, "Link "+providerLabel(p), "Try again", items)
	f.submit.OnTapped = func() { a.runOIDCLink(f, p) }
	a.oidcLink = f
	f.Show()
	a.runOIDCLink(f, p)
}

func (a *accountUI) runOIDCLink(f *oidcLinkForm, p syncproto.OIDCProviderInfo) {
	in := app.OIDCInput{Provider: p.Name}
	f.run(func(ctx context.Context) error {
		_, err := a.oidcFlow(ctx, in, true, f.buttons.tell)
		return err
	}, func() {
		f.Close()
		dialog.ShowInformation("Linked "+providerLabel(p), providerLabel(p)+" now signs you in to this account.\nYour data is still unlocked by your encryption passphrase.", a.win)
	})
}
