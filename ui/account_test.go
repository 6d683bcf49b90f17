package ui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

func TestSignUpFormValidation(t *testing.T) {
	cases := []struct {
		name                                 string
		email, user, pw, again, server, want string
	}{
		{"an address without a domain is refused", "ada", "ada", "correct horse", "correct horse", "https://h.example", "Email must be name@domain"},
		{"a username with a space is refused", "ada@example.com", "ada l", "correct horse", "correct horse", "https://h.example", "Username may hold only"},
		{"a short username is refused", "ada@example.com", "a", "correct horse", "correct horse", "https://h.example", "Username must be"},
		{"a short password is refused", "ada@example.com", "ada", "short", "short", "https://h.example", "at least 8 characters"},
		{"two different passwords are refused", "ada@example.com", "ada", "correct horse", "correct horsE", "https://h.example", "The two passwords differ"},
		{"a plain http server is refused", "ada@example.com", "ada", "correct horse", "correct horse", "http://h.example", "must start with https://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newAccountHarness(t)
			a := h.ui()
			a.ShowSignUp()
			f := a.signUp
			test.Type(f.email, c.email)
			test.Type(f.username, c.user)
			test.Type(f.password, c.pw)
			test.Type(f.again, c.again)
			f.server.url.SetText(c.server)
			test.Tap(f.submit)
			h.loop.settle()
			if !strings.Contains(f.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", f.Error(), c.want)
			}
			if n := h.acc.called("SignUp"); n != 0 {
				t.Fatalf("SignUp called %d times with invalid input", n)
			}
		})
	}
}

// showFilledSignUp opens the sign-up form and fills it in validly.
func showFilledSignUp(a *accountUI) *signUpForm {
	a.ShowSignUp()
	f := a.signUp
	test.Type(f.email, "ada@example.com")
	test.Type(f.username, "ada")
	test.Type(f.password, "correct horse")
	test.Type(f.again, "correct horse")
	return f
}

// Enter in any one-line field of an account form submits it, as the
// primary button does.
func TestAccountFormsSubmitOnEnter(t *testing.T) {
	h := newAccountHarness(t)
	a := h.ui()
	f := showFilledSignUp(a)
	f.again.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.loop.until(t, "Enter signs up", func() bool { return h.acc.called("SignUp") == 1 })

	a.ShowSignUp()
	f = a.signUp
	f.setBusy(true) // a step is running: Enter must not start another
	test.Type(f.email, "x")
	f.email.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.loop.settle()
	if n := h.acc.called("SignUp"); n != 1 {
		t.Fatalf("SignUp called %d times; Enter submitted a busy form", n)
	}
}

func TestSignUpShowsTheRecoveryKeyBehindAGate(t *testing.T) {
	h := newAccountHarness(t)
	a := h.ui()
	f := showFilledSignUp(a)
	test.Tap(f.submit)
	h.loop.until(t, "the recovery key shows", func() bool { return a.gate != nil })
	if got := h.acc.signUps[0]; got.ServerURL != "https://127.0.0.1:8443" || got.Username != "ada" {
		t.Fatalf("sign-up input %+v", got)
	}
	g := a.gate
	if g.key.Text != "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789" {
		t.Fatalf("recovery key shown %q", g.key.Text)
	}
	test.Tap(g.copy)
	if got := fyne.CurrentApp().Clipboard().Content(); got != g.key.Text {
		t.Fatalf("clipboard %q", got)
	}
	if !g.next.Disabled() {
		t.Fatal("Continue is enabled before the key is said to be saved")
	}
	test.Tap(g.saved)
	if g.next.Disabled() {
		t.Fatal("Continue stays disabled after ticking the box")
	}
	test.Tap(g.next)
	if a.confirm == nil || !strings.Contains(a.confirm.notice.Text, "ada@example.com") {
		t.Fatal("the check-your-email step did not follow")
	}
	test.Tap(a.confirm.resend)
	h.loop.until(t, "the email is sent again", func() bool { return h.acc.called("ResendConfirmation") == 1 })
	test.Tap(a.confirm.submit)
	if !strings.Contains(a.confirm.Error(), "Paste the link") {
		t.Fatalf("confirm without a link: %q", a.confirm.Error())
	}
	test.Type(a.confirm.link, "https://127.0.0.1:8443/confirm?token=abc")
	starts := h.syncer.count(&h.syncer.starts)
	test.Tap(a.confirm.submit)
	// Confirmed, it signs in with the password just typed: not asked again.
	h.loop.until(t, "the sign-in and sync follow the confirmation", func() bool {
		return h.acc.called("ConfirmEmail") == 1 && h.acc.called("SignIn") == 1 && h.syncer.count(&h.syncer.starts) > starts
	})
	if a.signIn != nil && !a.signIn.closed {
		t.Error("the sign-in form was shown after the confirmation")
	}
}

// TestSigningInUnconfirmedByUsernameAsksForTheAddressToResend: a sign-in
// whose account is unconfirmed says so (it names no username as an
// address, and claims no mail sent); Resend needs the address.
func TestSigningInUnconfirmedByUsernameAsksForTheAddressToResend(t *testing.T) {
	h := newAccountHarness(t)
	a := h.ui()
	h.acc.mu.Lock()
	h.acc.unconfirmed = true
	h.acc.mu.Unlock()
	a.ShowSignIn("")
	test.Type(a.signIn.ident, "ada")
	test.Type(a.signIn.password, "correct horse")
	test.Tap(a.signIn.submit)
	h.loop.until(t, "the check-your-email step", func() bool { return a.confirm != nil })
	if got := a.confirm.notice.Text; strings.Contains(got, "ada.") || strings.Contains(got, "We sent") || !strings.Contains(got, "not confirmed yet") {
		t.Errorf("notice %q", got)
	}
	test.Tap(a.confirm.resend)
	if !strings.Contains(a.confirm.Error(), "email address") || h.acc.called("ResendConfirmation") != 0 {
		t.Fatalf("resend without an address: %q, %d sent", a.confirm.Error(), h.acc.called("ResendConfirmation"))
	}
	test.Type(a.confirm.email, "ada@example.com")
	test.Tap(a.confirm.resend)
	h.loop.until(t, "the email is sent again", func() bool { return h.acc.called("ResendConfirmation") == 1 })
	h.acc.mu.Lock()
	h.acc.unconfirmed = false
	h.acc.mu.Unlock()
	test.Type(a.confirm.link, "https://127.0.0.1:8443/confirm?token=abc")
	test.Tap(a.confirm.submit)
	h.loop.until(t, "signed in after the confirmation", func() bool { return h.acc.called("SignIn") == 2 && len(h.joiner.joined()) == 1 })
}

func TestSignIn(t *testing.T) {
	t.Run("a wrong password says so and keeps the form open", func(t *testing.T) {
		h := newAccountHarness(t)
		a := h.ui()
		a.ShowSignIn("")
		test.Type(a.signIn.ident, "ada")
		test.Type(a.signIn.password, "wrong password")
		test.Tap(a.signIn.submit)
		h.loop.until(t, "the error shows", func() bool { return a.signIn.Error() != "" })
		if got := a.signIn.Error(); got != "Wrong email, username or password." {
			t.Fatalf("error %q", got)
		}
		if len(h.joiner.joined()) != 0 || a.signIn.closed {
			t.Fatal("a failed sign-in went on")
		}
	})
	t.Run("success joins the profile and starts sync", func(t *testing.T) {
		h := newAccountHarness(t)
		a := h.ui()
		starts := h.syncer.count(&h.syncer.starts)
		a.ShowSignIn("")
		test.Type(a.signIn.ident, "ada@example.com")
		test.Type(a.signIn.password, "correct horse")
		test.Tap(a.signIn.submit)
		h.loop.until(t, "sync starts", func() bool { return h.syncer.count(&h.syncer.starts) > starts })
		if got := h.joiner.joined(); !slices.Equal(got, []bool{false}) {
			t.Fatalf("joins %v, want one merge", got)
		}
		if !a.signIn.closed {
			t.Fatal("the form stays open")
		}
		h.syncer.set(app.SyncStatus{State: app.SyncInSync})
		if !h.mw.core.(wiredCore).acct.signedIn() {
			t.Fatal("not signed in after success")
		}
	})
	t.Run("local work asks, and Keep aside keeps it", func(t *testing.T) {
		h := newAccountHarness(t)
		h.joiner.local = true
		a := h.ui()
		a.ShowSignIn("ada")
		test.Type(a.signIn.password, "correct horse")
		test.Tap(a.signIn.submit)
		h.loop.until(t, "the choice shows", func() bool { return a.joinChoice != nil })
		if a.joinChoice.Selected != joinMerge {
			t.Fatalf("default choice %q", a.joinChoice.Selected)
		}
		a.joinChoice.SetSelected(joinKeep)
		test.Tap(h.button("Continue"))
		h.loop.until(t, "the profile joins", func() bool { return len(h.joiner.joined()) == 1 })
		if got := h.joiner.joined(); !got[0] {
			t.Fatal("Keep aside merged the local work")
		}
	})
	t.Run("another account's data is kept aside unless merging is chosen", func(t *testing.T) {
		h := newAccountHarness(t)
		h.joiner.local, h.joiner.other = true, true
		a := h.ui()
		a.ShowSignIn("ada")
		test.Type(a.signIn.password, "correct horse")
		test.Tap(a.signIn.submit)
		h.loop.until(t, "the choice shows", func() bool { return a.joinChoice != nil })
		if a.joinChoice.Selected != joinKeep || !strings.Contains(h.overlayText(), "the data of another account") {
			t.Fatalf("default choice %q, text %q; want Keep aside, naming another account's data", a.joinChoice.Selected, h.overlayText())
		}
		test.Tap(h.button("Continue"))
		h.loop.until(t, "the profile joins", func() bool { return len(h.joiner.joined()) == 1 })
		if got := h.joiner.joined(); !got[0] {
			t.Fatal("the default merged another account's data")
		}
	})
}

func TestSignOutAsksWhetherToRemoveTheData(t *testing.T) {
	for _, remove := range []bool{false, true} {
		name := "keeping the data"
		if remove {
			name = "removing the data"
		}
		t.Run(name, func(t *testing.T) {
			h := newAccountHarness(t)
			h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true}
			a := h.ui()
			d := a.ShowSignOut()
			if d.remove.Checked {
				t.Fatal("removing the data is ticked by default")
			}
			d.remove.SetChecked(remove)
			test.Tap(h.button("Sign out"))
			h.loop.until(t, "signed out", func() bool { return h.acc.called("SignOut") == 1 })
			h.loop.settle()
			if got := h.joiner.removed; (got == 1) != remove {
				t.Fatalf("data removed %d times, want remove=%v", got, remove)
			}
			if h.syncer.count(&h.syncer.stops) == 0 {
				t.Fatal("sync was not stopped before signing out")
			}
		})
	}
}

// Removing the data on sign-out first lets sync push what is pending;
// what it cannot push keeps the data on the device, and the person is
// told.
func TestSignOutPushesPendingChangesBeforeRemovingTheData(t *testing.T) {
	t.Run("sync pushes them", func(t *testing.T) {
		h := newAccountHarness(t)
		h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true}
		h.syncer.set(app.SyncStatus{State: app.SyncSyncing, Pending: 2})
		h.syncer.onSyncNow = func() { h.syncer.set(app.SyncStatus{State: app.SyncInSync}) }
		d := h.ui().ShowSignOut()
		if !d.pending.Visible() || !strings.Contains(d.pending.Text, "2 changes") {
			t.Fatalf("pending warning %q (visible %v), want the 2 changes", d.pending.Text, d.pending.Visible())
		}
		d.remove.SetChecked(true)
		test.Tap(h.button("Sign out"))
		h.loop.until(t, "signed out", func() bool { return h.acc.called("SignOut") == 1 })
		h.loop.settle()
		if h.syncer.count(&h.syncer.syncNow) != 1 || h.joiner.removed != 1 {
			t.Fatalf("sync asked %d times, data removed %d times; want 1 and 1", h.syncer.count(&h.syncer.syncNow), h.joiner.removed)
		}
	})
	t.Run("sync cannot push them", func(t *testing.T) {
		old := signOutPushWait
		signOutPushWait = 50 * time.Millisecond
		defer func() { signOutPushWait = old }()
		h := newAccountHarness(t)
		h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true}
		h.syncer.set(app.SyncStatus{State: app.SyncOffline, Pending: 2})
		h.joiner.unpushed = true
		d := h.ui().ShowSignOut()
		d.remove.SetChecked(true)
		start := time.Now()
		test.Tap(h.button("Sign out"))
		if got := h.overlayText(); !strings.Contains(got, "Pushing 2 changes made here") {
			t.Fatalf("no progress shown while the changes are pushed: %q", got)
		}
		h.loop.until(t, "signed out", func() bool { return h.acc.called("SignOut") == 1 })
		h.loop.until(t, "the data-kept notice", func() bool { return strings.Contains(h.overlayText(), "Signed out; data kept") })
		if waited := time.Since(start); waited < signOutPushWait {
			t.Fatalf("signed out after %v, before the %v given to sync", waited, signOutPushWait)
		}
		if got := h.overlayText(); !strings.Contains(got, "2 changes made here have not reached the server") {
			t.Fatalf("notice does not say why the data stayed: %q", got)
		}
		if h.joiner.removed != 0 {
			t.Fatal("data removed though changes were pending")
		}
		if strings.Contains(h.overlayText(), "Pushing") {
			t.Fatal("the progress stays on screen after the sign-out")
		}
	})
	t.Run("nothing pending", func(t *testing.T) {
		h := newAccountHarness(t)
		h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true}
		h.syncer.set(app.SyncStatus{State: app.SyncInSync})
		if d := h.ui().ShowSignOut(); d.pending.Visible() {
			t.Fatalf("pending warning shown with nothing pending: %q", d.pending.Text)
		}
	})
}

func TestSettingsSyncSwitch(t *testing.T) {
	h := newAccountHarness(t)
	h.acc.account = app.Account{AccountID: "acc1", Username: "ada", Email: "ada@example.com", ServerURL: "https://s.example", SignedIn: true}
	h.syncer.set(app.SyncStatus{State: app.SyncInSync})
	h.mw.showSettings()
	a := h.ui()
	h.loop.until(t, "the sync settings load", func() bool { return a.settings != nil && a.settings.loaded })
	s := a.settings
	if !s.syncOn.Checked || !strings.Contains(s.who.Text, "ada") || !s.server.url.Disabled() {
		t.Fatalf("switch %v, account %q, server editable %v", s.syncOn.Checked, s.who.Text, !s.server.url.Disabled())
	}
	test.Tap(s.syncOn)
	test.Tap(h.button("Save"))
	h.loop.until(t, "sync is turned off", func() bool {
		h.syncer.mu.Lock()
		defer h.syncer.mu.Unlock()
		return slices.Equal(h.syncer.setOn, []bool{false})
	})
}

func TestASessionLostAtRestartCountsAsSignedOut(t *testing.T) {
	h := newAccountHarness(t)
	h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true}
	h.syncer.set(app.SyncStatus{State: app.SyncNotSignedIn, LastError: "this device no longer holds the session of ada; sign in again"})
	items := h.mw.top.accountMenuItems()
	if len(items) == 0 || items[0].Label != "Sign in…" {
		t.Fatalf("menu starts with %q, want Sign in…", items[0].Label)
	}
	a := h.ui()
	items[0].Action()
	if a.signIn.ident.Text != "ada" {
		t.Fatalf("sign-in prefilled with %q, want the profile's account", a.signIn.ident.Text)
	}
	h.syncer.set(app.SyncStatus{State: app.SyncInSync})
	h.loop.settle()
	if items := h.mw.top.accountMenuItems(); items[0].Label != "Signed in as ada" {
		t.Fatalf("menu starts with %q once signed in", items[0].Label)
	}
}

func TestASessionTheServerEndedAsksToSignInAgain(t *testing.T) {
	h := newAccountHarness(t)
	h.acc.account = app.Account{AccountID: "acc1", Username: "ada", SignedIn: true, SessionEnded: time.Now()}
	h.syncer.set(app.SyncStatus{State: app.SyncActionNeeded, Why: app.WhySignInAgain, LastError: app.ErrSessionEnded.Error()})
	h.loop.settle()
	if items := h.mw.top.accountMenuItems(); len(items) == 0 || items[0].Label != "Sign in…" {
		t.Fatalf("menu starts with %q, want Sign in…", items[0].Label)
	}
	h.mw.top.indicator.onTapped()
	test.Tap(h.button("Sign in…"))
	a := h.ui()
	if a.signIn == nil || a.signIn.ident.Text != "ada" {
		t.Fatal("the sync details' Sign in… did not open the sign-in form for the profile's account")
	}
}

func TestSyncIndicator(t *testing.T) {
	cases := []struct {
		status app.SyncStatus
		text   string
		imp    widget.Importance
	}{
		{app.SyncStatus{State: app.SyncNotSignedIn}, "not signed in", widget.LowImportance},
		{app.SyncStatus{State: app.SyncOff}, "sync off", widget.LowImportance},
		{app.SyncStatus{State: app.SyncConnecting}, "connecting", widget.HighImportance},
		{app.SyncStatus{State: app.SyncSyncing, Pending: 3}, "syncing (3 pending)", widget.HighImportance},
		{app.SyncStatus{State: app.SyncInSync}, "IN SYNC", widget.SuccessImportance},
		{app.SyncStatus{State: app.SyncOffline, RetryIn: 4e9}, "offline (retry in 4s)", widget.WarningImportance},
		{app.SyncStatus{State: app.SyncActionNeeded, Why: "confirm your email"}, "action needed: confirm your email", widget.DangerImportance},
	}
	h := newAccountHarness(t)
	ind := h.mw.top.indicator
	if ind == nil {
		t.Fatal("no indicator in the top bar")
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			h.syncer.set(c.status)
			h.loop.settle()
			if ind.button.Text != c.text || ind.button.Importance != c.imp {
				t.Fatalf("indicator %q importance %v, want %q %v", ind.button.Text, ind.button.Importance, c.text, c.imp)
			}
		})
	}
	t.Run("tapping it shows the details, and Sync now calls the syncer", func(t *testing.T) {
		h.syncer.set(app.SyncStatus{State: app.SyncOffline, Pending: 2, RetryIn: 3e9, LastError: "this device no longer holds the account key; sign in again: unauthorized"})
		h.loop.settle()
		test.Tap(ind.button)
		d := ind.details
		if d == nil || d.pending.Text != "2" || d.last.Text != "never" || d.failure.Text != "this device no longer holds the account key; sign in again" {
			t.Fatalf("details %+v (last error %q)", d, d.failure.Text)
		}
		test.Tap(d.syncNow)
		if got := h.syncer.count(&h.syncer.syncNow); got != 1 {
			t.Fatalf("SyncNow called %d times", got)
		}
		if d.startedOver.Visible() {
			t.Fatalf("the details tell of a start-over that never was: %q", d.startedOver.Text)
		}
	})
	t.Run("the details tell when the device started over", func(t *testing.T) {
		at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.Local)
		h.syncer.set(app.SyncStatus{State: app.SyncSyncing, Pending: 40, StartedOver: at})
		h.loop.settle()
		d := ind.details
		if d == nil || !d.startedOver.Visible() || !strings.Contains(d.startedOver.Text, "restored from a backup") ||
			!strings.Contains(d.startedOver.Text, "2026-11-27 09:30:00") {
			t.Fatalf("details after a start-over: %+v", d)
		}
	})
}

func TestAccountMessagesAreThePersonsWords(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{errors.New("prelogin: cannot connect to 127.0.0.1:8443: connection refused"), "Cannot connect to 127.0.0.1:8443: connection refused."},
		{fmt.Errorf("sign in: wrong email, username or password: %w", model.ErrUnauthorized), "Wrong email, username or password."},
	} {
		if got := accountMessage(tt.err); got != tt.want {
			t.Errorf("accountMessage(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
