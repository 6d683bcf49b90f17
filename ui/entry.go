package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// keyEntry is an Entry that passes the window's own shortcuts (Ctrl+Enter,
// Ctrl+S, Ctrl+W) on to a handler: a focused Entry otherwise swallows every
// shortcut it does not know, so Ctrl+Enter in the URL field would do
// nothing.
type keyEntry struct {
	widget.Entry
	keys fyne.Shortcutable
}

func newKeyEntry(keys fyne.Shortcutable) *keyEntry {
	e := &keyEntry{keys: keys}
	e.ExtendBaseWidget(e)
	return e
}

func newKeyMultiLineEntry(keys fyne.Shortcutable) *keyEntry {
	e := newKeyEntry(keys)
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapOff
	return e
}

// TypedShortcut hands custom shortcuts (those with a modifier that the
// Entry does not handle itself) to the window's handler.
func (e *keyEntry) TypedShortcut(s fyne.Shortcut) {
	if _, ok := s.(*desktop.CustomShortcut); ok && e.keys != nil {
		e.keys.TypedShortcut(s)
		return
	}
	e.Entry.TypedShortcut(s)
}

// dialogEntry is a dialog's text field. Escape typed into it closes the
// topmost dialog as its Cancel (or Close) button would, which is what
// Escape does when no field has the focus (escapeClosesDialogs): a focused
// Entry gets every key and ignores Escape, so the window never sees it.
type dialogEntry struct {
	widget.Entry
	win fyne.Window
}

// newDialogEntry, newDialogPasswordEntry and newDialogMultiLineEntry are
// widget.NewEntry, NewPasswordEntry and NewMultiLineEntry for a dialog
// of win.
func newDialogEntry(win fyne.Window) *dialogEntry {
	e := &dialogEntry{win: win}
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.ExtendBaseWidget(e)
	return e
}

// The Entry adds its reveal button to a Password entry when drawn.
func newDialogPasswordEntry(win fyne.Window) *dialogEntry {
	e := newDialogEntry(win)
	e.Password = true
	return e
}

func newDialogMultiLineEntry(win fyne.Window) *dialogEntry {
	e := newDialogEntry(win)
	e.MultiLine = true
	return e
}

// TypedKey closes the dialog on Escape.
func (e *dialogEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		closeTopDialog(e.win)
		return
	}
	e.Entry.TypedKey(ev)
}
