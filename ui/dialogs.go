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
	entry := widget.NewEntry()
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
