package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// startErrorTitle is the title of the window that says why Courier could
// not start.
const startErrorTitle = "Courier cannot open the profile"

// startErrorContent is what that window shows: what went wrong (msg,
// which names the remedy), a button that copies it, and one that quits.
func startErrorContent(msg string, copyText func(string), quit func()) fyne.CanvasObject {
	head := widget.NewLabelWithStyle(startErrorTitle, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	text.Selectable = true
	copyBtn := widget.NewButtonWithIcon("Copy message", theme.ContentCopyIcon(), func() { copyText(msg) })
	quitBtn := widget.NewButton("Quit", quit)
	quitBtn.Importance = widget.HighImportance
	buttons := container.NewHBox(layout.NewSpacer(), copyBtn, quitBtn)
	icon := widget.NewIcon(theme.ErrorIcon())
	return container.NewBorder(container.NewHBox(icon, head), buttons, nil, nil, container.NewVScroll(text))
}
