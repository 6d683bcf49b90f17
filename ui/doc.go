// Package ui is Courier's desktop interface, built with Fyne: the main
// window (environment selector, sync status and account menu at the top; a
// sidebar with history, collections, environments and header presets;
// request tabs with a response pane), the settings dialog and the welcome
// prompt.
//
// It talks to the application core only (package app) through small
// interfaces declared beside each screen, so tests pass fakes or the real
// core. Slow work (sending, loading lists) runs off the UI goroutine and
// ends in fyne.Do; build with the migrated_fynedo tag. Large or binary
// response bodies are never pushed whole into a widget.
package ui
