// Command hello is the baseline of Courier's start-up benchmark: the
// smallest Fyne program, one label in a window of Courier's size.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("io.github.courierapp.hello")
	w := a.NewWindow("Hello")
	w.SetContent(widget.NewLabel("Hello, world"))
	w.Resize(fyne.NewSize(1280, 800))
	w.ShowAndRun()
}
