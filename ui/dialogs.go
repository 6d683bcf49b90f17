package ui

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// askName shows a dialog with one text field and calls done with what was
// typed, unless cancelled or empty.
func askName(win fyne.Window, title, label, initial string, done func(string)) {
	entry := newDialogEntry(win)
	entry.SetText(initial)
	// OK waits for a name, rather than closing on an empty one with
	// nothing done.
	entry.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("a name is needed")
		}
		return nil
	}
	items := []*widget.FormItem{widget.NewFormItem(label, entry)}
	d := dialog.NewForm(title, "OK", "Cancel", items, func(ok bool) {
		if ok && strings.TrimSpace(entry.Text) != "" {
			done(entry.Text)
		}
	}, win)
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	d.Show()
	win.Canvas().Focus(entry)
}

// escapeClosesDialogs makes Escape dismiss the topmost dialog of win, as
// its Cancel (or Close, No, Not now, Skip) button would; a dialog whose one
// button is OK is closed with it. Escape reaches the canvas while no text
// field of the dialog has the focus; the fields, dialogEntry (entry.go),
// close the dialog the same way. A dialog whose buttons are all choices of
// something to do (Delete, Yes) is left open.
func escapeClosesDialogs(win fyne.Window) {
	win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			closeTopDialog(win)
		}
	})
}

// dismissLabels are the buttons that leave a dialog without doing
// anything, most telling first; the welcome prompt's Skip goes on
// without an account (sign in stays in the account menu).
var dismissLabels = []string{"Cancel", "Close", "No", "Not now", "Skip"}

// closeTopDialog presses the dismiss button (dismissLabels) of win's
// topmost dialog, or its OK when that is its one button.
func closeTopDialog(win fyne.Window) {
	top, ok := win.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok || top == nil {
		return
	}
	buttons := map[string]*widget.Button{}
	n := 0
	visitObjects(top.Content, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && !b.Disabled() && b.OnTapped != nil {
			buttons[b.Text] = b
			n++
		}
	})
	for _, label := range dismissLabels {
		if b := buttons[label]; b != nil {
			b.OnTapped()
			return
		}
	}
	if b := buttons["OK"]; b != nil && n == 1 {
		b.OnTapped()
	}
}

// visitObjects calls fn on o and every visible object of the containers
// inside it (a dialog's buttons sit in containers).
func visitObjects(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	if c, ok := o.(*fyne.Container); ok {
		for _, child := range c.Objects {
			visitObjects(child, fn)
		}
	}
}

// humanError turns an error from the core into a sentence for a person;
// the detail goes to the log.
func humanError(action string, err error) error {
	slog.Warn("ui action failed", "action", action, "err", err)
	var msg string
	switch {
	case errors.Is(err, context.Canceled):
		msg = "Cancelled."
	case errors.Is(err, model.ErrNotFound):
		msg = "It no longer exists (deleted here or on another device)."
	case errors.Is(err, model.ErrInvalid):
		msg = sentence(strings.TrimSuffix(err.Error(), ": "+model.ErrInvalid.Error()))
	case errors.Is(err, model.ErrUnavailable):
		msg = "The profile cannot be written right now: " + err.Error()
	default:
		msg = err.Error()
	}
	return errors.New("Could not " + action + ". " + msg)
}

// sentence starts s with a capital letter and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// showError shows err (from action) to the user, on the UI goroutine.
func showError(win fyne.Window, action string, err error) {
	dialog.ShowError(humanError(action, err), win)
}
