package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

func TestOIDCButtonsFollowTheProviders(t *testing.T) {
	github := syncproto.OIDCProviderInfo{Name: "github"}
	tests := []struct {
		name      string
		providers []syncproto.OIDCProviderInfo
		err       error
		want      []string
	}{
		{"one button per provider, named by its display name", []syncproto.OIDCProviderInfo{googleProvider, github}, nil, []string{"Continue with Google", "Continue with github"}},
		{"no provider hides the buttons", nil, nil, nil},
		{"a failed fetch hides the buttons", []syncproto.OIDCProviderInfo{googleProvider}, fmt.Errorf("server down: %w", model.ErrUnavailable), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOIDCHarness(t, tt.providers...)
			h.acc.set(func(o *fakeOIDC) { o.providersErr = tt.err })
			a := h.ui()
			for _, form := range []struct {
				name string
				show func() *oidcButtons
			}{
				{"Sign in", func() *oidcButtons { a.ShowSignIn(""); return a.signIn.oidc }},
				{"Create account", func() *oidcButtons { a.ShowSignUp(); return a.signUp.oidc }},
			} {
				calls := h.acc.called("OIDCProviders")
				b := form.show()
				h.loop.until(t, "the providers are fetched", func() bool { return h.acc.called("OIDCProviders") > calls })
				h.loop.settle()
				var got []string
				for _, btn := range b.buttons {
					got = append(got, btn.Text)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("%s: buttons %q, want %q", form.name, got, tt.want)
				}
				if b.box.Visible() != (len(tt.want) > 0) {
					t.Fatalf("%s: buttons visible %v with %d providers", form.name, b.box.Visible(), len(tt.want))
				}
			}
		})
	}
}

func TestOIDCButtonsFollowTheServerField(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	a := h.ui()
	a.ShowSignIn("")
	h.loop.until(t, "the provider button shows", func() bool { return len(a.signIn.oidc.buttons) == 1 })
	a.signIn.server.url.SetText("not a server")
	if a.signIn.oidc.box.Visible() {
		t.Fatal("the buttons stay for a server address that is not usable")
	}
	h.acc.set(func(o *fakeOIDC) {
		o.providers = append(o.providers, syncproto.OIDCProviderInfo{Name: "gitlab", DisplayName: "GitLab"})
	})
	a.signIn.server.url.SetText("https://other.example/")
	h.loop.until(t, "the other server's providers show", func() bool { return len(a.signIn.oidc.buttons) == 2 })
	h.acc.mu.Lock()
	defer h.acc.mu.Unlock()
	if got := h.acc.oidc.servers; got[len(got)-1] != "https://other.example" {
		t.Fatalf("asked servers %q", got)
	}
}

// continueWithGoogle opens Sign in and taps Continue with Google.
func continueWithGoogle(t *testing.T, h *accountHarness) {
	t.Helper()
	a := h.ui()
	a.ShowSignIn("")
	h.loop.until(t, "the provider button shows", func() bool { return len(a.signIn.oidc.buttons) == 1 })
	test.Tap(a.signIn.oidc.buttons[0])
}

func TestOIDCSignInUnlocksWithThePassphraseAndJoins(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	a := h.ui()
	starts := h.syncer.count(&h.syncer.starts)
	continueWithGoogle(t, h)
	h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
	if !a.signIn.closed {
		t.Fatal("the Sign in form stays open")
	}
	test.Type(a.oidcUnlock.secret, "wrong passphrase")
	test.Tap(a.oidcUnlock.submit)
	h.loop.until(t, "the error shows", func() bool { return a.oidcUnlock.Error() != "" })
	if got := a.oidcUnlock.Error(); !strings.Contains(got, "passphrase does not open") {
		t.Fatalf("error %q", got)
	}
	a.oidcUnlock.secret.SetText("secret passphrase")
	test.Tap(a.oidcUnlock.submit)
	h.loop.until(t, "sync starts", func() bool { return h.syncer.count(&h.syncer.starts) > starts })
	if got := h.joiner.joined(); !slices.Equal(got, []bool{false}) {
		t.Fatalf("joins %v, want one merge", got)
	}
	if h.acc.called("OIDCUnlock") != 2 || h.acc.called("OIDCCancel") != 0 {
		t.Fatalf("calls %v", h.acc.calls)
	}
	if h.acc.oidc.opened[0] != "google" {
		t.Fatalf("browser opened for %v", h.acc.oidc.opened)
	}
}

func TestOIDCSignInAsksWhetherToMergeLocalWork(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	h.joiner.local = true
	a := h.ui()
	continueWithGoogle(t, h)
	h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
	test.Type(a.oidcUnlock.secret, "secret passphrase")
	test.Tap(a.oidcUnlock.submit)
	h.loop.until(t, "the choice shows", func() bool { return a.joinChoice != nil })
	a.joinChoice.SetSelected(joinKeep)
	test.Tap(h.button("Continue"))
	h.loop.until(t, "the profile joins", func() bool { return len(h.joiner.joined()) == 1 })
	if !h.joiner.joined()[0] {
		t.Fatal("Keep aside merged the local work")
	}
}

func TestOIDCSignInWithTheRecoveryKey(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	a := h.ui()
	continueWithGoogle(t, h)
	h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
	test.Tap(a.oidcUnlock.other)
	if !a.oidcUnlock.recovery {
		t.Fatal("Use recovery key instead did not ask for the recovery key")
	}
	test.Type(a.oidcUnlock.secret, " RKEY-1234 ")
	test.Tap(a.oidcUnlock.submit)
	h.loop.until(t, "the profile joins", func() bool { return len(h.joiner.joined()) == 1 })
	if h.acc.called("OIDCUnlockWithRecoveryKey") != 1 || h.acc.called("OIDCUnlock") != 0 || h.acc.called("OIDCCancel") != 0 {
		t.Fatalf("calls %v", h.acc.calls)
	}
}

func TestOIDCCancelRevokesTheSession(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	a := h.ui()
	continueWithGoogle(t, h)
	h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
	test.Tap(a.oidcUnlock.cancel)
	h.loop.until(t, "the session is revoked", func() bool { return h.acc.called("OIDCCancel") == 1 })
	if !a.oidcUnlock.closed || len(h.joiner.joined()) != 0 {
		t.Fatal("a cancelled sign-in went on")
	}
}

func TestOIDCCancelWhileTheBrowserIsOpenStopsWaiting(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("server answers after cancel %v", late), func(t *testing.T) {
			testOIDCCancelWhileTheBrowserIsOpen(t, late)
		})
	}
}

func testOIDCCancelWhileTheBrowserIsOpen(t *testing.T, late bool) {
	h := newOIDCHarness(t, googleProvider)
	h.acc.set(func(o *fakeOIDC) { o.block, o.lateAnswer = true, late })
	a := h.ui()
	continueWithGoogle(t, h)
	h.loop.until(t, "the browser opens", func() bool {
		h.acc.mu.Lock()
		defer h.acc.mu.Unlock()
		return len(h.acc.oidc.opened) == 1
	})
	h.loop.until(t, "the form says to finish in the browser", func() bool { return a.signIn.oidc.note.Visible() })
	if !strings.Contains(a.signIn.oidc.note.Text, "https://accounts.example.com/auth") {
		t.Fatalf("note %q lacks the address", a.signIn.oidc.note.Text)
	}
	test.Tap(a.signIn.cancel)
	h.loop.until(t, "the flow stops", func() bool { return !a.signIn.busy })
	if a.oidcUnlock != nil || a.oidcSignUp != nil {
		t.Fatal("a cancelled flow went on")
	}
	want := 0
	if late {
		want = 1 // the session the server made is revoked
	}
	if got := h.acc.called("OIDCCancel"); got != want {
		t.Fatalf("OIDCCancel called %d times, want %d", got, want)
	}
}

func TestOIDCConflictTellsToSignInWithThePassword(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	const sentence = "an account with this email exists: sign in with its password, then link Google from the account menu"
	// As syncclient answers a 409 of /oidc/.../finish.
	h.acc.set(func(o *fakeOIDC) {
		o.authErr = fmt.Errorf("sign in with google: %w", &syncproto.Error{Code: syncproto.CodeConflict, Message: sentence, Status: 409})
	})
	a := h.ui()
	continueWithGoogle(t, h)
	h.loop.until(t, "the error shows", func() bool { return a.signIn.Error() != "" })
	if got, want := a.signIn.Error(), "An account with this email exists: sign in with its password, then link Google from the account menu."; got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
	if a.signIn.closed || a.oidcUnlock != nil {
		t.Fatal("a refused sign-in went on")
	}
}

func TestOIDCSignUp(t *testing.T) {
	tests := []struct {
		name, username, pass, again string
		want                        string // the error; "" creates the account
	}{
		{"a short passphrase is refused", "ada.lovelace", "short", "short", "The passphrase must have at least"},
		{"different passphrases are refused", "ada.lovelace", "long enough passphrase", "another passphrase!", "The two passphrases differ."},
		{"a bad username is refused", "a", "long enough passphrase", "long enough passphrase", "sername"},
		{"the suggested username and a good passphrase create the account", "", "long enough passphrase", "long enough passphrase", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOIDCHarness(t, googleProvider)
			h.acc.set(func(o *fakeOIDC) { o.status = syncproto.OIDCStatusNeedsSignUp })
			a := h.ui()
			a.ShowSignUp()
			h.loop.until(t, "the provider button shows", func() bool { return len(a.signUp.oidc.buttons) == 1 })
			test.Tap(a.signUp.oidc.buttons[0])
			h.loop.until(t, "the new account is asked", func() bool { return a.oidcSignUp != nil })
			f := a.oidcSignUp
			if f.username.Text != "ada.lovelace" {
				t.Fatalf("username %q, want the suggestion", f.username.Text)
			}
			if tt.username != "" {
				f.username.SetText(tt.username)
			}
			test.Type(f.password, tt.pass)
			test.Type(f.again, tt.again)
			test.Tap(f.submit)
			if tt.want != "" {
				if got := f.Error(); !strings.Contains(got, tt.want) {
					t.Fatalf("error %q, want %q", got, tt.want)
				}
				if h.acc.called("OIDCCreateAccount") != 0 {
					t.Fatal("an invalid form created an account")
				}
				return
			}
			h.loop.until(t, "the recovery key shows", func() bool { return a.gate != nil })
			if a.gate.key.Text != fakeOIDCRecoveryKey || !a.gate.next.Disabled() {
				t.Fatalf("gate key %q, Continue disabled %v", a.gate.key.Text, a.gate.next.Disabled())
			}
			if len(h.joiner.joined()) != 0 {
				t.Fatal("joined before the recovery key was saved")
			}
			test.Tap(a.gate.saved)
			test.Tap(a.gate.next)
			h.loop.until(t, "the profile joins", func() bool { return len(h.joiner.joined()) == 1 })
			if got := h.acc.oidc.created; !slices.Equal(got, []string{"ada.lovelace"}) {
				t.Fatalf("created %v", got)
			}
		})
	}
}

func TestOIDCWelcomeOffersTheProviders(t *testing.T) {
	h := newOIDCHarness(t, googleProvider)
	h.mw.welcome.ShowIfNeeded()
	if !h.mw.welcome.Visible() {
		t.Fatal("the welcome prompt is not shown on first launch")
	}
	h.loop.until(t, "Continue with Google shows", func() bool { return len(h.mw.welcome.oidcButtons) == 1 })
	btn := h.mw.welcome.oidcButtons[0].(*widget.Button)
	if btn.Text != "Continue with Google" {
		t.Fatalf("button %q", btn.Text)
	}
	test.Tap(btn)
	a := h.ui()
	h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
	if h.mw.welcome.Visible() || h.acc.called("OIDCAuthorize") != 1 {
		t.Fatalf("welcome visible %v, calls %v", h.mw.welcome.Visible(), h.acc.calls)
	}
}
