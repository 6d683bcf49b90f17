package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// fixedWidthLabel is a label at least width wide, so a column of them
// lines up.
func fixedWidthLabel(text string, width float32) fyne.CanvasObject {
	spacer := canvas.NewRectangle(nil)
	spacer.SetMinSize(fyne.NewSize(width, 1))
	return container.NewStack(spacer, widget.NewLabel(text))
}
