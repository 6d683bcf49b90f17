package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// OIDCService is the provider sign-in part of the account use cases
// ("Continue with Google"); *app.Accounts implements it.
type OIDCService interface {
	OIDCProviders(ctx context.Context, server string) ([]syncproto.OIDCProviderInfo, error)
	OIDCAuthorize(ctx context.Context, in app.OIDCInput) (app.OIDCResult, error)
	OIDCUnlock(ctx context.Context, res app.OIDCResult, passphrase string) (app.Account, error)
	OIDCUnlockWithRecoveryKey(ctx context.Context, res app.OIDCResult, recoveryKey string) (app.Account, error)
	OIDCCancel(ctx context.Context, res app.OIDCResult)
	OIDCCreateAccount(ctx context.Context, res app.OIDCResult, username, passphrase string) (app.Account, string, error)
	OIDCLink(ctx context.Context, in app.OIDCInput) error
	OIDCIdentities(ctx context.Context) ([]syncproto.OIDCIdentity, error)
}

// OIDCListener receives the provider's redirect on this device's loopback
// address until Close (the wiring uses syncclient.ListenLoopback).
type OIDCListener interface {
	app.OIDCRedirect
	Close() error
}

// oidcListTimeout bounds the fetch of the providers when a form opens.
const oidcListTimeout = 15 * time.Second

// providerLabel is how a provider is named on screen.
func providerLabel(p syncproto.OIDCProviderInfo) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Name
}

// oidcButtons are the "Continue with <Provider>" buttons of a form,
// hidden until the server lists at least one provider.
type oidcButtons struct {
	a       *accountUI
	box     *fyne.Container
	buttons []*widget.Button
	note    *widget.Label // what to do in the browser while the flow runs
	onTap   func(p syncproto.OIDCProviderInfo)
	loaded  func()
	gen     int         // the latest fetch; older answers are dropped
	timer   *time.Timer // the pending fetch after the server was edited
}

// oidcRefetchDelay is how long the server field must rest before its
// providers are fetched.
const oidcRefetchDelay = 500 * time.Millisecond

// newOIDCButtons fetches server's providers off the UI goroutine and then
// shows a button per provider that calls onTap; loaded runs after the
// buttons changed (to resize the dialog). Editing serverField fetches
// again. Without a loopback listener in the wiring, or when the fetch
// fails, nothing shows.
func (a *accountUI) newOIDCButtons(serverField *widget.Entry, onTap func(p syncproto.OIDCProviderInfo), loaded func()) *oidcButtons {
	b := &oidcButtons{a: a, box: container.NewVBox(), note: widget.NewLabel(""), onTap: onTap, loaded: loaded}
	b.note.Wrapping = fyne.TextWrapBreak
	b.note.Hide()
	b.box.Hide()
	if a.svc.opts.OIDCListen == nil {
		return b
	}
	serverField.OnChanged = b.onServerChanged
	b.fetch(serverField.Text)
	return b
}

// fetch lists server's providers off the UI goroutine, then shows them.
func (b *oidcButtons) fetch(server string) {
	server = strings.TrimRight(strings.TrimSpace(server), "/")
	b.gen++
	gen := b.gen
	svc := b.a.svc.opts.Accounts
	b.a.bg.Go(func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), oidcListTimeout)
		defer cancel()
		list, err := svc.OIDCProviders(ctx, server)
		return func() {
			if gen != b.gen {
				return
			}
			if err != nil {
				list = nil
			}
			b.show(list)
			if b.loaded != nil {
				b.loaded()
			}
		}
	})
}

// onServerChanged fetches the providers of an edited server once the
// field rests.
func (b *oidcButtons) onServerChanged(server string) {
	if b.timer != nil {
		b.timer.Stop()
	}
	b.gen++ // what a running fetch answers is for another server
	if checkServerURL(strings.TrimSpace(server)) != nil {
		b.show(nil)
		return
	}
	b.timer = time.AfterFunc(oidcRefetchDelay, func() { b.a.bg.do(func() { b.fetch(server) }) })
}

// show makes a button per provider, or hides the row for none.
func (b *oidcButtons) show(list []syncproto.OIDCProviderInfo) {
	b.box.RemoveAll()
	b.buttons = nil
	if len(list) == 0 {
		b.box.Hide()
		return
	}
	for _, p := range list {
		btn := widget.NewButton("Continue with "+providerLabel(p), func() { b.onTap(p) })
		b.buttons = append(b.buttons, btn)
		b.box.Add(btn)
	}
	b.box.Add(b.note)
	b.box.Show()
}

// item is the buttons as a row of a form.
func (b *oidcButtons) item() *widget.FormItem { return widget.NewFormItem("", b.box) }

// tell shows msg under the buttons (on the UI goroutine).
func (b *oidcButtons) tell(msg string) {
	b.note.SetText(msg)
	b.note.Show()
}

// oidcFlow runs the browser part of a provider sign-in (or link when
// link is set) off the UI goroutine: a loopback listener, the system
// browser opened at the authorization URL, the redirect awaited.
func (a *accountUI) oidcFlow(ctx context.Context, in app.OIDCInput, link bool, tell func(string)) (app.OIDCResult, error) {
	lb, err := a.svc.opts.OIDCListen()
	if err != nil {
		return app.OIDCResult{}, fmt.Errorf("listen for the browser's answer: %w", err)
	}
	defer lb.Close()
	ctx, cancel := context.WithTimeout(ctx, syncproto.OIDCFlowTTL)
	defer cancel()
	label := in.Provider
	in.Redirect = lb
	in.Open = func(raw string) error {
		msg := "Finish signing in with " + label + " in your browser. If it did not open, visit:\n" + raw
		a.bg.do(func() { tell(msg) })
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("the sign-in address: %w: %w", model.ErrInvalid, err)
		}
		_ = a.openURL(u) // the address is shown too
		return nil
	}
	if link {
		return app.OIDCResult{Status: syncproto.OIDCStatusLinked}, oidcError(a.svc.opts.Accounts.OIDCLink(ctx, in))
	}
	res, err := a.svc.opts.Accounts.OIDCAuthorize(ctx, in)
	return res, oidcError(err)
}

// oidcError tells a server's conflict answer (an account with this email
// that is not linked yet, a taken username) by its own sentence, without
// the code word in front; it still wraps model.ErrConflict.
func oidcError(err error) error {
	var e *syncproto.Error
	if errors.As(err, &e) && e.Code == syncproto.CodeConflict && e.Message != "" {
		return fmt.Errorf("%s: %w", e.Message, e.Code.Err())
	}
	return err
}

// openURL opens u in the system browser.
func (a *accountUI) openURL(u *url.URL) error {
	if a.svc.opts.OpenURL != nil {
		return a.svc.opts.OpenURL(u)
	}
	return fyne.CurrentApp().OpenURL(u)
}

// startOIDC runs the provider sign-in from form f (Sign in or Create
// account) with the server of sf, then asks for the passphrase or a new
// account's details.
func (a *accountUI) startOIDC(f *accountForm, sf *serverFields, b *oidcButtons, p syncproto.OIDCProviderInfo) {
	server, ca, err := sf.values()
	if err == nil {
		err = a.useServer(server, ca)
	}
	if err != nil {
		f.fail(accountMessage(err))
		return
	}
	in := app.OIDCInput{ServerURL: server, CAFile: ca, Provider: p.Name}
	var res app.OIDCResult
	svc := a.svc.opts.Accounts
	f.run(func(ctx context.Context) error {
		var err error
		res, err = a.oidcFlow(ctx, in, false, b.tell)
		a.bg.do(b.note.Hide)
		if err == nil && ctx.Err() != nil { // cancelled as the server answered
			if res.Status == syncproto.OIDCStatusSignedIn {
				rctx, done := context.WithTimeout(context.WithoutCancel(ctx), oidcListTimeout)
				svc.OIDCCancel(rctx, res)
				done()
			}
			return ctx.Err()
		}
		return err
	}, func() {
		f.Close()
		switch res.Status {
		case syncproto.OIDCStatusNeedsSignUp:
			a.ShowOIDCSignUp(p, res)
		default:
			a.ShowOIDCUnlock(p, res, false)
		}
	})
}
