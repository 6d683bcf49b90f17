package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// Body modes as the editor names them.
var bodyModes = []struct{ label, mode string }{
	{"none", model.BodyNone},
	{"raw", model.BodyRaw},
	{"x-www-form-urlencoded", model.BodyURLEncoded},
	{"form-data", model.BodyFormData},
	{"binary", model.BodyFile},
}

// bodyEditor edits a model.Body. Switching modes keeps what the other modes
// hold, so nothing typed is lost.
type bodyEditor struct {
	body      model.Body
	mode      *widget.Select
	lang      *widget.Select
	raw       *keyEntry
	form      *kvTable
	multipart *kvTable
	file      *keyEntry
	stack     *fyne.Container
	content   fyne.CanvasObject
	loading   bool

	// OnChanged fires after each user edit.
	OnChanged func()
	// PickFile asks the user for a file and calls done with its path.
	PickFile func(done func(path string))
}

func newBodyEditor(keys fyne.Shortcutable) *bodyEditor {
	e := &bodyEditor{raw: newKeyMultiLineEntry(keys), form: newKVTable(keys), multipart: newKVTable(keys), file: newKeyEntry(keys)}
	labels := make([]string, len(bodyModes))
	for i, m := range bodyModes {
		labels[i] = m.label
	}
	e.mode = widget.NewSelect(labels, e.onModeSelected)
	e.lang = widget.NewSelect([]string{model.LangJSON, model.LangText, model.LangXML}, e.onLanguageSelected)
	e.raw.SetPlaceHolder("Request body")
	e.raw.OnChanged = e.onRawChanged
	e.form.OnChanged = e.onFormChanged
	e.multipart.files = true
	e.multipart.OnChanged = e.onFormChanged
	e.multipart.pickFile = e.onPickPartFile
	e.file.SetPlaceHolder("Path of the file to send")
	e.file.OnChanged = e.onFileChanged
	e.stack = container.NewStack()
	e.content = container.NewBorder(container.NewHBox(widget.NewLabel("Body"), e.mode, e.lang), nil, nil, nil, e.stack)
	return e
}

// Content is the editor's widget tree.
func (e *bodyEditor) Content() fyne.CanvasObject { return e.content }

// SetBody shows b, without calling OnChanged.
func (e *bodyEditor) SetBody(b model.Body) {
	e.loading = true
	defer func() { e.loading = false }()
	e.body = b
	if e.body.Mode == model.BodyRaw && e.body.Language == "" {
		e.body.Language = model.LangText
	}
	e.raw.SetText(b.Raw)
	e.lang.SetSelected(e.body.Language)
	e.form.SetRows(b.URLEncoded)
	e.multipart.SetRows(b.FormData)
	e.file.SetText(b.File)
	e.mode.SetSelected(modeLabel(b.Mode))
	e.showMode()
}

// Body returns the body as edited.
func (e *bodyEditor) Body() model.Body {
	b := e.body
	b.URLEncoded = e.form.Rows()
	b.FormData = e.multipart.Rows()
	return b
}

func modeLabel(mode string) string {
	for _, m := range bodyModes {
		if m.mode == mode {
			return m.label
		}
	}
	return mode // a mode Courier does not edit (graphql) shows as its name
}

func (e *bodyEditor) showMode() {
	var c fyne.CanvasObject
	switch e.body.Mode {
	case model.BodyRaw:
		c = e.raw
	case model.BodyURLEncoded:
		c = container.NewVScroll(e.form)
	case model.BodyFormData:
		c = container.NewVScroll(e.multipart)
	case model.BodyFile:
		c = container.NewVBox(container.NewBorder(nil, nil, nil, widget.NewButton("Choose…", e.onPickBodyFile), e.file))
	default:
		c = widget.NewLabel("This request has no body.")
	}
	e.lang.Hidden = e.body.Mode != model.BodyRaw
	e.lang.Refresh()
	e.stack.Objects = []fyne.CanvasObject{c}
	e.stack.Refresh()
}

func (e *bodyEditor) onModeSelected(label string) {
	for _, m := range bodyModes {
		if m.label == label {
			e.body.Mode = m.mode
		}
	}
	if e.body.Mode == model.BodyRaw && e.body.Language == "" {
		e.body.Language = model.LangJSON
		e.lang.SetSelected(model.LangJSON)
	}
	e.showMode()
	e.changed()
}

func (e *bodyEditor) onLanguageSelected(lang string) {
	e.body.Language = lang
	e.changed()
}

func (e *bodyEditor) onRawChanged(s string) {
	e.body.Raw = s
	e.changed()
}

func (e *bodyEditor) onFormChanged() { e.changed() }

func (e *bodyEditor) onFileChanged(s string) {
	e.body.File = s
	e.changed()
}

func (e *bodyEditor) onPickBodyFile() {
	if e.PickFile != nil {
		e.PickFile(func(path string) { e.file.SetText(path) })
	}
}

func (e *bodyEditor) onPickPartFile(i int) {
	if e.PickFile != nil {
		e.PickFile(func(path string) { e.multipart.SetFile(i, path) })
	}
}

func (e *bodyEditor) changed() {
	if !e.loading && e.OnChanged != nil {
		e.OnChanged()
	}
}
