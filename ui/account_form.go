package ui

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// accountForm is a dialog of one account step: a form, an error line, a
// progress bar while the step runs off the UI goroutine, the submit and
// cancel buttons, and optional links to other steps.
type accountForm struct {
	win      fyne.Window
	bg       *tasks
	form     *widget.Form
	errLine  *widget.Label
	progress *widget.ProgressBarInfinite
	submit   *widget.Button
	cancel   *widget.Button
	dlg      dialog.Dialog
	stop     context.CancelFunc // cancels the running step
	busy     bool
	closed   bool
}

func newAccountForm(win fyne.Window, bg *tasks, title, submitLabel string, items []*widget.FormItem, links ...fyne.CanvasObject) *accountForm {
	f := &accountForm{win: win, bg: bg, form: widget.NewForm(items...)}
	f.errLine = widget.NewLabel("")
	f.errLine.Importance = widget.DangerImportance
	f.errLine.Wrapping = fyne.TextWrapWord
	f.errLine.Hide()
	f.progress = widget.NewProgressBarInfinite()
	f.progress.Stop()
	f.progress.Hide()
	f.submit = widget.NewButton(submitLabel, nil)
	f.submit.Importance = widget.HighImportance
	f.cancel = widget.NewButton("Cancel", f.onCancelTapped)
	buttons := container.NewHBox(append(links, layout.NewSpacer(), f.cancel, f.submit)...)
	body := container.NewVBox(f.form, f.errLine, f.progress, buttons)
	f.dlg = dialog.NewCustomWithoutButtons(title, body, win)
	f.dlg.Resize(fyne.NewSize(560, body.MinSize().Height+80))
	for _, it := range items {
		f.submitOnEnter(it.Widget)
	}
	return f
}

// submitOnEnter makes Enter in the one-line entries in o submit the form,
// as the submit button does (unless it is disabled, or the entry already
// does something of its own on Enter).
func (f *accountForm) submitOnEnter(o fyne.CanvasObject) {
	var e *widget.Entry
	switch w := o.(type) {
	case *widget.Entry:
		e = w
	case *dialogEntry:
		e = &w.Entry
	case *fyne.Container:
		for _, c := range w.Objects {
			f.submitOnEnter(c)
		}
	}
	if e != nil && !e.MultiLine && e.OnSubmitted == nil {
		e.OnSubmitted = func(string) {
			if !f.submit.Disabled() && f.submit.OnTapped != nil {
				f.submit.OnTapped()
			}
		}
	}
}

// fit resizes the dialog to its content (after rows appeared).
func (f *accountForm) fit() {
	f.dlg.Resize(fyne.NewSize(560, f.dlg.MinSize().Height))
}

// Show opens the dialog.
func (f *accountForm) Show() { f.dlg.Show() }

// Close hides the dialog and cancels a running step.
func (f *accountForm) Close() {
	f.closed = true
	if f.stop != nil {
		f.stop()
	}
	f.dlg.Hide()
}

func (f *accountForm) onCancelTapped() { f.Close() }

// fail shows msg under the form.
func (f *accountForm) fail(msg string) {
	f.errLine.SetText(msg)
	f.errLine.Show()
}

// Error is the message shown under the form, or "".
func (f *accountForm) Error() string {
	if !f.errLine.Visible() {
		return ""
	}
	return f.errLine.Text
}

// run does work off the UI goroutine with the progress bar showing, then
// done (on success) or the error's sentence, on the UI goroutine.
func (f *accountForm) run(work func(ctx context.Context) error, done func()) {
	if f.busy {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	f.setBusy(true)
	f.errLine.Hide()
	f.bg.Go(func() func() {
		err := work(ctx)
		return func() {
			cancel()
			f.setBusy(false)
			if f.closed {
				return
			}
			if err != nil {
				f.fail(accountMessage(err))
				return
			}
			done()
		}
	})
}

func (f *accountForm) setBusy(on bool) {
	f.busy = on
	if on {
		f.progress.Show()
		f.progress.Start()
		f.submit.Disable()
		return
	}
	f.progress.Stop()
	f.progress.Hide()
	f.submit.Enable()
}

// pemFileField is an entry for a PEM file of CA certificates, with a
// Browse… button.
type pemFileField struct {
	*dialogEntry
	browse *widget.Button
	row    fyne.CanvasObject
}

func newPEMFileField(win fyne.Window, path, placeholder string) *pemFileField {
	f := &pemFileField{dialogEntry: newDialogEntry(win)}
	f.SetText(path)
	f.SetPlaceHolder(placeholder)
	f.browse = widget.NewButton("Browse…", func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err == nil && r != nil {
				f.SetText(r.URI().Path())
				_ = r.Close()
			}
		}, win)
		d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".crt", ".cer"}))
		d.Show()
	})
	f.row = container.NewBorder(nil, nil, nil, f.browse, f.dialogEntry)
	return f
}

// serverFields are the server URL and extra CA file of the forms.
type serverFields struct {
	url *dialogEntry
	ca  *pemFileField
}

func newServerFields(win fyne.Window, server, ca string) *serverFields {
	s := &serverFields{url: newDialogEntry(win), ca: newPEMFileField(win, ca, "optional: the server's CA (PEM)")}
	s.url.SetText(server)
	s.url.SetPlaceHolder("https://courier.example.com")
	return s
}

func (s *serverFields) items() []*widget.FormItem {
	return []*widget.FormItem{widget.NewFormItem("Server", s.url), widget.NewFormItem("Extra CA file", s.ca.row)}
}

// values returns the server URL and CA file, or why they are not usable.
func (s *serverFields) values() (server, ca string, err error) {
	server = strings.TrimRight(strings.TrimSpace(s.url.Text), "/")
	if err := checkServerURL(server); err != nil {
		return "", "", err
	}
	return server, strings.TrimSpace(s.ca.Text), nil
}

// checkServerURL accepts https:// URLs with a host only.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("the server address must start with https:// and name a host: %w", model.ErrInvalid)
	}
	return nil
}
