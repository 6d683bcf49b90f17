package ui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// openDialogs counts the visible overlays of win.
func openDialogs(win fyne.Window) int {
	n := 0
	for _, o := range win.Canvas().Overlays().List() {
		if o.Visible() {
			n++
		}
	}
	return n
}

// escapeIn focuses e and presses Escape as the window would: to the
// focused object.
func escapeIn(t *testing.T, win fyne.Window, e fyne.Focusable) {
	t.Helper()
	win.Canvas().Focus(e)
	focused := win.Canvas().Focused()
	if focused != e {
		t.Fatalf("focused %T, want the field", focused)
	}
	focused.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
}

// TestEscapeInADialogsFieldClosesIt: Escape typed into a text field of a
// dialog (one-line, password or multi-line) leaves the dialog as its
// Cancel or Close button would, with nothing saved.
func TestEscapeInADialogsFieldClosesIt(t *testing.T) {
	t.Run("a name", func(t *testing.T) {
		h := newHarness(t)
		var got []string
		askName(h.mw.win, "New environment", "Name", "", func(s string) { got = append(got, s) })
		e := h.mw.win.Canvas().Focused().(*dialogEntry)
		test.Type(e, "Staging")
		escapeIn(t, h.mw.win, e)
		if openDialogs(h.mw.win) != 0 || len(got) != 0 {
			t.Fatalf("%d dialogs open, names given %q; want closed, none", openDialogs(h.mw.win), got)
		}
	})
	t.Run("save as", func(t *testing.T) {
		h := newHarness(t)
		tab := h.tab()
		h.mw.askSaveAs(tab, nil)
		var name *dialogEntry
		visit(h.mw.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
			if e, ok := o.(*dialogEntry); ok && name == nil {
				name = e
			}
		})
		escapeIn(t, h.mw.win, name)
		h.loop.settle()
		if openDialogs(h.mw.win) != 0 {
			t.Fatal("Escape left Save request open")
		}
		if cs, err := h.core.Collections(context.Background()); err != nil || len(cs) != 0 {
			t.Fatalf("collections %v, %v; want none made", cs, err)
		}
	})
	t.Run("settings", func(t *testing.T) {
		h := newHarness(t)
		h.mw.showSettings()
		h.loop.until(t, "the settings dialog", func() bool { return openDialogs(h.mw.win) == 1 })
		var proxy *dialogEntry
		visit(h.mw.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
			if f, ok := o.(*widget.Form); ok {
				for _, it := range f.Items {
					if it.Text == "Proxy" {
						proxy = it.Widget.(*dialogEntry)
					}
				}
			}
		})
		test.Type(proxy, "http://proxy.example:3128")
		escapeIn(t, h.mw.win, proxy)
		h.loop.settle()
		if openDialogs(h.mw.win) != 0 {
			t.Fatal("Escape left the settings open")
		}
		if s, err := h.core.Settings(context.Background()); err != nil || s.Proxy != "" {
			t.Fatalf("proxy stored %q, %v; want nothing saved", s.Proxy, err)
		}
	})
	t.Run("import text", func(t *testing.T) {
		h := newHarness(t)
		im := newImporter(h.core, h.mw.win, &h.mw.bg)
		im.ShowDialog()
		visit(h.mw.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
			if tabs, ok := o.(*container.AppTabs); ok {
				tabs.SelectIndex(1) // Text
			}
		})
		escapeIn(t, h.mw.win, im.paste)
		if openDialogs(h.mw.win) != 0 {
			t.Fatal("Escape in the multi-line field left Import open")
		}
	})
	t.Run("sign in password", func(t *testing.T) {
		h := newAccountHarness(t)
		a := h.ui()
		a.ShowSignIn("ada")
		test.Type(a.signIn.password, "correct horse")
		escapeIn(t, h.mw.win, a.signIn.password)
		h.loop.settle()
		if !a.signIn.closed || openDialogs(h.mw.win) != 0 || h.acc.called("SignIn") != 0 {
			t.Fatalf("closed %v, %d dialogs open, %d sign-ins; want closed, none",
				a.signIn.closed, openDialogs(h.mw.win), h.acc.called("SignIn"))
		}
	})
	t.Run("a Cancel of its own", func(t *testing.T) {
		h := newOIDCHarness(t, googleProvider)
		a := h.ui()
		continueWithGoogle(t, h)
		h.loop.until(t, "the passphrase is asked", func() bool { return a.oidcUnlock != nil })
		escapeIn(t, h.mw.win, a.oidcUnlock.secret)
		h.loop.until(t, "the session is revoked, as Cancel does", func() bool { return h.acc.called("OIDCCancel") == 1 })
		if !a.oidcUnlock.closed || len(h.joiner.joined()) != 0 {
			t.Fatal("a sign-in cancelled by Escape went on")
		}
	})
	t.Run("no way out but on", func(t *testing.T) {
		h := newAccountHarness(t)
		a := h.ui()
		next := 0
		a.ShowRecoveryKey("ABCD-EFGH", func() { next++ })
		escapeIn(t, h.mw.win, a.gate.key)
		if openDialogs(h.mw.win) != 1 || next != 0 {
			t.Fatalf("%d dialogs open, went on %d times; want the key still shown", openDialogs(h.mw.win), next)
		}
	})
}

// TestEscapeInTheMainWindowsFieldsDoesNothing: with no dialog open,
// Escape in the request editor's fields changes nothing.
func TestEscapeInTheMainWindowsFieldsDoesNothing(t *testing.T) {
	h := newHarness(t)
	tab := h.tab()
	tabs := len(h.mw.tabs.Items)
	test.Type(tab.editor.url, "http://127.0.0.1:1/a?page=1")
	h.loop.settle()
	if len(tab.editor.params.cells) != 1 {
		t.Fatalf("%d query parameter rows, want 1", len(tab.editor.params.cells))
	}
	val := tab.editor.params.cells[0].val
	for _, e := range []*keyEntry{tab.editor.url, val} {
		escapeIn(t, h.mw.win, e)
	}
	if openDialogs(h.mw.win) != 0 || len(h.mw.tabs.Items) != tabs || h.tab() != tab {
		t.Fatalf("%d dialogs, %d tabs after Escape; want none, %d", openDialogs(h.mw.win), len(h.mw.tabs.Items), tabs)
	}
	if tab.editor.url.Text != "http://127.0.0.1:1/a?page=1" || val.Text != "1" || h.mw.win.Canvas().Focused() != val {
		t.Fatalf("URL %q, focus on %T after Escape", tab.editor.url.Text, h.mw.win.Canvas().Focused())
	}
}
