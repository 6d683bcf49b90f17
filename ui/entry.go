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
