package ui

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// tabCore is what a request tab needs from the core.
type tabCore interface {
	Prepare(ctx context.Context, req model.Request) (app.Prepared, error)
	SendWith(ctx context.Context, req model.Request, opts app.SendOptions) (*app.SendResult, error)
	SaveRequest(ctx context.Context, req model.Request) (model.Request, error)
}

// requestTab is one open request: the editor above the response pane, with
// Send (and Cancel while sending).
type requestTab struct {
	core     tabCore
	win      fyne.Window
	bg       *tasks
	editor   *requestEditor
	response *responseView
	send     *widget.Button
	cancelB  *widget.Button
	progress *widget.ProgressBarInfinite
	item     *container.TabItem
	dirty    bool
	cancel   context.CancelFunc

	// OnTitle is told when the title (name, unsaved mark) changes.
	OnTitle func(*requestTab)
	// OnSaveAs asks where to save a request that is not saved yet.
	OnSaveAs func(*requestTab)
	// OnSaved is told after a save.
	OnSaved func(model.Request)
}

func newRequestTab(core tabCore, win fyne.Window, bg *tasks, keys fyne.Shortcutable, req model.Request) *requestTab {
	t := &requestTab{core: core, win: win, bg: bg, editor: newRequestEditor(keys), response: newResponseView()}
	t.editor.SetRequest(req)
	t.editor.OnChanged = t.onEdited
	t.editor.body.PickFile = t.pickFile
	t.response.OnSave = t.onSaveBody
	t.response.OnCopy = func(s string) { fyne.CurrentApp().Clipboard().SetContent(s) }
	t.send = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), t.Send)
	t.send.Importance = widget.HighImportance
	t.cancelB = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), t.Cancel)
	t.cancelB.Hide()
	t.progress = widget.NewProgressBarInfinite()
	t.progress.Stop()
	t.progress.Hide()
	bar := container.NewBorder(nil, nil, t.editor.method, container.NewHBox(t.send, t.cancelB, t.curlButton()), t.editor.url)
	top := container.NewBorder(container.NewVBox(bar, t.progress), nil, nil, nil, t.editor.tabs)
	split := container.NewVSplit(top, t.response.Content())
	split.Offset = 0.4
	t.item = container.NewTabItem(t.title(), split)
	return t
}

// Request returns the request as edited.
func (t *requestTab) Request() model.Request { return t.editor.Request() }

// title is the tab's name, marked with a dot when unsaved.
func (t *requestTab) title() string {
	if t.dirty {
		return "● " + t.name()
	}
	return t.name()
}

// name is the request's name, or its URL, shortened.
func (t *requestTab) name() string {
	r := t.editor.req
	name := r.Name
	if name == "" {
		name = strings.TrimSpace(t.editor.url.Text)
	}
	if name == "" {
		name = "New request"
	}
	if len([]rune(name)) > 32 {
		name = string([]rune(name)[:31]) + "…"
	}
	return name
}

func (t *requestTab) onEdited() {
	t.dirty = true
	t.updateTitle()
}

func (t *requestTab) updateTitle() {
	t.item.Text = t.title()
	if t.OnTitle != nil {
		t.OnTitle(t)
	}
}

// Send prepares the request and sends it, asking first when variables are
// unresolved. It does nothing while a send is running.
func (t *requestTab) Send() {
	if t.cancel != nil {
		return
	}
	req := t.editor.Request()
	t.bg.Go(func() func() {
		p, err := t.core.Prepare(context.Background(), req)
		return func() {
			if err != nil {
				showError(t.win, "prepare the request", err)
				return
			}
			if len(p.Unresolved) > 0 {
				t.confirmUnresolved(req, p.Unresolved)
				return
			}
			t.startSend(req, false)
		}
	})
}

// confirmUnresolved lists the unresolved variables and offers Send anyway.
func (t *requestTab) confirmUnresolved(req model.Request, names []string) {
	msg := widget.NewLabel("These variables are not defined in the active environment, the collection or the globals, and would be sent as written:\n\n{{" + strings.Join(names, "}}\n{{") + "}}")
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Unresolved variables", "Send anyway", "Cancel", msg, func(ok bool) {
		if ok {
			t.startSend(req, true)
		}
	}, t.win)
	d.Resize(fyne.NewSize(460, 280))
	d.Show()
}

// startSend runs the exchange in the background with a Cancel path.
func (t *requestTab) startSend(req model.Request, allowUnresolved bool) {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.setSending(true)
	t.bg.Go(func() func() {
		res, err := t.core.SendWith(ctx, req, app.SendOptions{AllowUnresolved: allowUnresolved})
		data := sendResultData(res, err)
		return func() {
			cancel()
			t.cancel = nil
			t.setSending(false)
			t.response.Show(data)
		}
	})
}

// sendResultData turns the outcome of a send into what the pane shows.
func sendResultData(res *app.SendResult, err error) responseData {
	switch {
	case errors.Is(err, context.Canceled):
		return responseData{Status: "Cancelled", Importance: widget.MediumImportance}
	case err != nil:
		return prepareResponse(responseInput{Err: err.Error()})
	}
	d := prepareResponse(responseInput{Response: res.Response, Body: res.Body, BodyFile: res.BodyFile, Binary: res.Binary})
	d.Warnings = res.Warnings
	return d
}

func (t *requestTab) setSending(on bool) {
	if on {
		t.send.Disable()
		t.cancelB.Show()
		t.progress.Show()
		t.progress.Start()
		t.response.Clear("Sending…")
		return
	}
	t.progress.Stop()
	t.progress.Hide()
	t.cancelB.Hide()
	t.send.Enable()
}

// Cancel stops a running send.
func (t *requestTab) Cancel() {
	if t.cancel != nil {
		t.cancel()
	}
}

// Sending reports whether a send is running.
func (t *requestTab) Sending() bool { return t.cancel != nil }

// Save stores the request: in place when it is saved already, else through
// OnSaveAs (which asks for a collection and folder).
func (t *requestTab) Save() {
	req := t.editor.Request()
	if req.ID == "" {
		if t.OnSaveAs != nil {
			t.OnSaveAs(t)
		}
		return
	}
	t.save(req)
}

// SaveTo saves a new request into collection coll under parent with name.
func (t *requestTab) SaveTo(coll, parent model.ID, name string) {
	req := t.editor.Request()
	req.Collection, req.Parent, req.Name = coll, parent, name
	t.save(req)
}

func (t *requestTab) save(req model.Request) {
	t.bg.Go(func() func() {
		saved, err := t.core.SaveRequest(context.Background(), req)
		return func() {
			if err != nil {
				showError(t.win, "save the request", err)
				return
			}
			t.editor.req.ID, t.editor.req.Name = saved.ID, saved.Name
			t.editor.req.Collection, t.editor.req.Parent, t.editor.req.Order = saved.Collection, saved.Parent, saved.Order
			t.dirty = false
			t.updateTitle()
			if t.OnSaved != nil {
				t.OnSaved(saved)
			}
		}
	})
}

// ShowHistory shows a history entry's stored response.
func (t *requestTab) ShowHistory(e model.HistoryEntry) {
	in := responseInput{Err: e.Error}
	if e.Response != nil {
		in.Response = *e.Response
		in.BodyFile = e.Response.BodyFile
		if in.BodyFile != "" {
			if _, err := os.Stat(in.BodyFile); err != nil {
				in.BodyFile = "" // received on another device, or deleted
			}
		}
	}
	d := prepareResponse(in)
	if e.Request.Truncated {
		d.Warnings = append(d.Warnings, truncatedRequestWarning)
	}
	t.response.Show(d)
}

// truncatedRequestWarning is shown with a history entry whose request
// was cut to fit the history (model.HistoryRequest.Cap).
const truncatedRequestWarning = "the history kept only the first part of this request's body; sending it again sends that part"

func (t *requestTab) pickFile(done func(string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		_ = r.Close()
		done(r.URI().Path())
	}, t.win)
	d.Show()
}

// onSaveBody asks for a file and writes the whole body there.
func (t *requestTab) onSaveBody(d responseData) {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		t.bg.Go(func() func() {
			werr := writeBody(w, d)
			return func() {
				if werr != nil {
					showError(t.win, "save the body", werr)
				}
			}
		})
	}, t.win)
	save.SetFileName("response.bin")
	save.Show()
}

// writeBody copies the whole body (from its file when it has one) to w.
func writeBody(w io.WriteCloser, d responseData) error {
	var err error
	if d.BodyFile != "" {
		var f *os.File
		if f, err = os.Open(d.BodyFile); err == nil {
			_, err = io.Copy(w, f)
			f.Close()
		}
	} else {
		_, err = w.Write(d.Body)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
