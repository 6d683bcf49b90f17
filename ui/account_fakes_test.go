package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// fakeAccounts is the account service of the tests: one account, one
// password; every call is recorded.
type fakeAccounts struct {
	mu       sync.Mutex
	account  app.Account
	password string
	calls    []string
	signUps  []app.SignUpInput
	oidc     fakeOIDC // the provider sign-in (oidc_fakes_test.go)
	// unconfirmed makes SignIn refuse as for an unconfirmed address.
	unconfirmed bool
}

func (f *fakeAccounts) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *fakeAccounts) called(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (f *fakeAccounts) Current(context.Context) (app.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.account.AccountID == "" {
		return app.Account{}, fmt.Errorf("no account on this profile: %w", model.ErrNotFound)
	}
	return f.account, nil
}

func (f *fakeAccounts) SecretsPersistent() bool { return true }

func (f *fakeAccounts) SignUp(_ context.Context, in app.SignUpInput) (string, error) {
	f.record("SignUp")
	f.mu.Lock()
	f.signUps = append(f.signUps, in)
	f.mu.Unlock()
	return "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789", nil
}

func (f *fakeAccounts) ResendConfirmation(context.Context, string, string) error {
	f.record("ResendConfirmation")
	return nil
}

func (f *fakeAccounts) ConfirmEmail(context.Context, string, string) error {
	f.record("ConfirmEmail")
	return nil
}

func (f *fakeAccounts) SignIn(_ context.Context, in app.SignInInput) (app.Account, error) {
	f.record("SignIn")
	if in.Password != f.password {
		return app.Account{}, fmt.Errorf("sign in: wrong email, username or password: %w", model.ErrUnauthorized)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unconfirmed {
		return app.Account{}, fmt.Errorf("sign in: %w", app.ErrEmailUnconfirmed)
	}
	f.account = app.Account{ServerURL: in.ServerURL, AccountID: "acc1", Username: "ada", Email: "ada@example.com", SignedIn: true}
	return f.account, nil
}

func (f *fakeAccounts) SignOut(context.Context) (app.SignOutResult, error) {
	f.record("SignOut")
	f.mu.Lock()
	f.account.SignedIn = false
	f.mu.Unlock()
	return app.SignOutResult{}, nil
}

func (f *fakeAccounts) ForgotUsername(context.Context, string, string) error {
	f.record("ForgotUsername")
	return nil
}

func (f *fakeAccounts) ForgotPassword(context.Context, string, string) error {
	f.record("ForgotPassword")
	return nil
}

func (f *fakeAccounts) ResetPassword(_ context.Context, in app.ResetInput) (app.ResetResult, error) {
	f.record("ResetPassword")
	if in.Erase {
		return app.ResetResult{RecoveryKey: "NEW0-KEY0"}, nil
	}
	return app.ResetResult{}, nil
}

func (f *fakeAccounts) ChangePassword(context.Context, string, string) error {
	f.record("ChangePassword")
	return nil
}

func (f *fakeAccounts) Devices(context.Context) ([]app.Device, error) {
	f.record("Devices")
	return []app.Device{{ID: "s1", Name: "this one", Current: true}, {ID: "s2", Name: "laptop"}}, nil
}

func (f *fakeAccounts) RevokeDevice(context.Context, string) error {
	f.record("RevokeDevice")
	return nil
}

func (f *fakeAccounts) DeleteAccount(context.Context, string) error {
	f.record("DeleteAccount")
	return nil
}

// fakeSyncer is the sync engine of the tests: its status is set by the
// test and published to the subscribers.
type fakeSyncer struct {
	mu      sync.Mutex
	status  app.SyncStatus
	subs    map[int]func(app.SyncStatus)
	next    int
	on      bool
	starts  int
	stops   int
	syncNow int
	setOn   []bool
	// onSyncNow, when set, runs (on its own goroutine) after each SyncNow.
	onSyncNow func()
}

func newFakeSyncer() *fakeSyncer {
	return &fakeSyncer{subs: map[int]func(app.SyncStatus){}, on: true, status: app.SyncStatus{State: app.SyncNotSignedIn}}
}

// set publishes st.
func (f *fakeSyncer) set(st app.SyncStatus) {
	f.mu.Lock()
	f.status = st
	fns := make([]func(app.SyncStatus), 0, len(f.subs))
	for _, fn := range f.subs {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(st)
	}
}

func (f *fakeSyncer) count(p *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *p
}

func (f *fakeSyncer) Start(context.Context) error {
	f.mu.Lock()
	f.starts++
	f.mu.Unlock()
	return nil
}

func (f *fakeSyncer) Stop() {
	f.mu.Lock()
	f.stops++
	f.mu.Unlock()
}

func (f *fakeSyncer) SyncNow() {
	f.mu.Lock()
	f.syncNow++
	hook := f.onSyncNow
	f.mu.Unlock()
	if hook != nil {
		go hook()
	}
}

func (f *fakeSyncer) Status() app.SyncStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeSyncer) Subscribe(fn func(app.SyncStatus)) func() {
	f.mu.Lock()
	id := f.next
	f.next++
	f.subs[id] = fn
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}
}

func (f *fakeSyncer) Enabled(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on, nil
}

func (f *fakeSyncer) SetEnabled(_ context.Context, on bool) error {
	f.mu.Lock()
	f.on = on
	f.setOn = append(f.setOn, on)
	f.mu.Unlock()
	return nil
}

// fakeJoiner records how the profile joined and whether data was removed.
type fakeJoiner struct {
	mu      sync.Mutex
	local   bool
	joins   []bool // keepLocal of each Join
	removed int
	// unpushed makes RemoveAccountData refuse as app's does while
	// changes are pending.
	unpushed bool
	// other says the local work is another account's data.
	other bool
}

func (f *fakeJoiner) HoldsLocalWork(context.Context, string) (bool, error) { return f.local, nil }

func (f *fakeJoiner) HoldsOtherAccountData(context.Context, string) (bool, error) {
	return f.local && f.other, nil
}

func (f *fakeJoiner) Join(_ context.Context, _ string, keepLocal bool) (app.JoinResult, error) {
	f.mu.Lock()
	f.joins = append(f.joins, keepLocal)
	f.mu.Unlock()
	return app.JoinResult{}, nil
}

func (f *fakeJoiner) RemoveAccountData(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unpushed {
		return fmt.Errorf("%w: 2 changes made here have not reached the server yet; sign in and sync to push them, then remove the data: %w", app.ErrUnpushed, model.ErrConflict)
	}
	f.removed++
	return nil
}

// overlayText returns the text shown on the window's overlays (dialogs),
// its lines and spaces joined by single spaces.
func (h *accountHarness) overlayText() string {
	var b strings.Builder
	for _, o := range h.mw.win.Canvas().Overlays().List() {
		visit(o, func(obj fyne.CanvasObject) {
			if t, ok := obj.(*canvas.Text); ok {
				b.WriteString(t.Text)
				b.WriteString(" ")
			}
		})
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func (f *fakeJoiner) joined() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.joins...)
}

// accountHarness is a main window over the real core with fake accounts
// and sync wired in.
type accountHarness struct {
	t      *testing.T
	loop   *uiLoop
	mw     *MainWindow
	acc    *fakeAccounts
	syncer *fakeSyncer
	joiner *fakeJoiner
	core   *app.App
}

func newAccountHarness(t *testing.T) *accountHarness {
	t.Helper()
	h := &accountHarness{t: t, loop: newUILoop(), acc: &fakeAccounts{password: "correct horse"}, syncer: newFakeSyncer(), joiner: &fakeJoiner{}}
	h.mw, h.core, _ = openWindow(t, store.Options{}, h.loop, func(core *app.App, _ *store.DB) Core {
		return withAccounts(core, &AccountOptions{Accounts: h.acc, Syncer: h.syncer, Profile: h.joiner, UseCA: func(string) error { return nil }, DefaultServer: "https://127.0.0.1:8443"})
	})
	return h
}

// ui returns the window's account flows.
func (h *accountHarness) ui() *accountUI {
	h.t.Helper()
	a := h.mw.accountUI()
	if a == nil {
		h.t.Fatal("accounts are not wired in")
	}
	return a
}

// button returns the button labelled text on the window's overlays
// (dialogs), failing when there is none.
func (h *accountHarness) button(text string) *widget.Button {
	h.t.Helper()
	var found *widget.Button
	for _, o := range h.mw.win.Canvas().Overlays().List() {
		visit(o, func(obj fyne.CanvasObject) {
			if b, ok := obj.(*widget.Button); ok && b.Text == text && b.Visible() && found == nil {
				found = b
			}
		})
	}
	if found == nil {
		h.t.Fatalf("no button %q on screen", text)
	}
	return found
}

// visit calls fn on o and everything inside it, widgets included.
func visit(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			visit(c, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			visit(c, fn)
		}
	}
}

// firstEntry returns the first entry on the topmost overlay.
func (h *accountHarness) firstEntry() *dialogEntry {
	h.t.Helper()
	list := h.mw.win.Canvas().Overlays().List()
	var found *dialogEntry
	if len(list) > 0 {
		visit(list[len(list)-1], func(obj fyne.CanvasObject) {
			if e, ok := obj.(*dialogEntry); ok && found == nil {
				found = e
			}
		})
	}
	if found == nil {
		h.t.Fatal("no entry on screen")
	}
	return found
}
