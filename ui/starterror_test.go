package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestTheStartErrorWindowSaysWhyAndQuits(t *testing.T) {
	test.NewTempApp(t)
	why := "the profile /home/ann/.config/courier is in use by another Courier; close it or choose another with --profile"
	var copied string
	quit := false
	c := startErrorContent(why, func(s string) { copied = s }, func() { quit = true })
	w := test.NewTempWindow(t, c)
	var texts []string
	var buttons = map[string]*widget.Button{}
	walkAll(w.Canvas().Content(), func(o fyne.CanvasObject) {
		switch o := o.(type) {
		case *widget.Label:
			texts = append(texts, o.Text)
		case *widget.Button:
			buttons[o.Text] = o
		}
	})
	slices.Sort(texts)
	if want := []string{startErrorTitle, why}; !slices.Equal(texts, want) {
		t.Fatalf("labels %q, want %q", texts, want)
	}
	test.Tap(buttons["Copy message"])
	if copied != why {
		t.Fatalf("copied %q", copied)
	}
	test.Tap(buttons["Quit"])
	if !quit {
		t.Fatal("Quit did not quit")
	}
}
