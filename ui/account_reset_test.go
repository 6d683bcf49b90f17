package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestForgotPasswordThenReset(t *testing.T) {
	for _, erase := range []bool{false, true} {
		name := "with the recovery key"
		if erase {
			name = "erasing the data after a warning, with a new recovery key"
		}
		t.Run(name, func(t *testing.T) {
			h := newAccountHarness(t)
			a := h.ui()
			a.ShowForgotPassword()
			// The email field is the first entry of the form on screen.
			test.Tap(h.button("Email me a reset code"))
			if n := h.acc.called("ForgotPassword"); n != 0 {
				t.Fatal("a reset code was asked for without an address")
			}
			email := h.firstEntry()
			test.Type(email, "ada@example.com")
			test.Tap(h.button("Email me a reset code"))
			h.loop.until(t, "the reset form shows", func() bool { return a.reset != nil })
			f := a.reset
			test.Type(f.code, "7KQ2M-XD93F")
			test.Type(f.password, "new password")
			test.Type(f.again, "new passwort")
			test.Tap(f.submit)
			if !strings.Contains(f.Error(), "differ") {
				t.Fatalf("mismatched passwords: %q", f.Error())
			}
			f.again.SetText("new password")
			if erase {
				test.Tap(f.erase)
			} else {
				test.Type(f.recovery, "ABCD-EFGH")
			}
			test.Tap(f.submit)
			if erase {
				h.loop.settle()
				if h.acc.called("ResetPassword") != 0 {
					t.Fatal("erased without a warning")
				}
				test.Tap(h.button("Yes"))
			}
			h.loop.until(t, "the password is reset", func() bool { return h.acc.called("ResetPassword") == 1 })
			h.loop.settle()
			if erase {
				if a.gate == nil || a.gate.key.Text != "NEW0-KEY0" {
					t.Fatal("the new recovery key was not shown")
				}
				test.Tap(a.gate.saved)
				test.Tap(a.gate.next)
			}
			if a.signIn == nil || a.signIn.ident.Text != "ada@example.com" {
				t.Fatal("the sign-in form did not follow the reset")
			}
		})
	}
}
