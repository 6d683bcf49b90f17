package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// Auth types as the editor names them.
var authTypes = []struct{ label, typ string }{
	{"Inherit from parent", model.AuthInherit},
	{"No auth", model.AuthNone},
	{"Bearer token", model.AuthBearer},
	{"Basic auth", model.AuthBasic},
	{"API key", model.AuthAPIKey},
}

// authEditor edits a model.Auth; attributes of other types are kept.
type authEditor struct {
	auth    model.Auth
	typ     *widget.Select
	form    *widget.Form
	fields  map[string]*keyEntry
	where   *widget.Select
	content fyne.CanvasObject
	loading bool

	OnChanged func()
}

func newAuthEditor(keys fyne.Shortcutable) *authEditor {
	e := &authEditor{fields: map[string]*keyEntry{}}
	labels := make([]string, len(authTypes))
	for i, a := range authTypes {
		labels[i] = a.label
	}
	e.typ = widget.NewSelect(labels, e.onTypeSelected)
	for _, k := range []string{"token", "username", "password", "key", "value"} {
		f := newKeyEntry(keys)
		name := k
		f.OnChanged = func(s string) { e.onParamChanged(name, s) }
		e.fields[k] = f
	}
	e.fields["password"].Password = true
	e.where = widget.NewSelect([]string{"header", "query"}, func(s string) { e.onParamChanged("in", s) })
	e.form = widget.NewForm()
	// Wide enough for its longest label: in an HBox a Select gets only
	// its minimum, which cut "Inherit from parent" short.
	typ := container.NewGridWrap(fyne.NewSize(220, e.typ.MinSize().Height), e.typ)
	e.content = container.NewBorder(container.NewHBox(widget.NewLabel("Type"), typ), nil, nil, nil, container.NewVScroll(e.form))
	return e
}

// Content is the editor's widget tree.
func (e *authEditor) Content() fyne.CanvasObject { return e.content }

// SetAuth shows a, without calling OnChanged.
func (e *authEditor) SetAuth(a model.Auth) {
	e.loading = true
	defer func() { e.loading = false }()
	e.auth = a
	e.auth.Params = append([]model.AuthParam(nil), a.Params...)
	for k, f := range e.fields {
		f.SetText(a.Param(k))
	}
	in := a.Param("in")
	if in == "" {
		in = "header"
	}
	e.where.SetSelected(in)
	e.typ.SetSelected(authLabel(a.Type))
	e.showType()
}

// Auth returns the auth as edited.
func (e *authEditor) Auth() model.Auth { return e.auth }

func authLabel(typ string) string {
	for _, a := range authTypes {
		if a.typ == typ {
			return a.label
		}
	}
	return typ
}

func (e *authEditor) showType() {
	e.form.Items = nil
	add := func(label string, w fyne.CanvasObject) { e.form.Append(label, w) }
	switch e.auth.Type {
	case model.AuthBearer:
		add("Token", e.fields["token"])
	case model.AuthBasic:
		add("Username", e.fields["username"])
		add("Password", e.fields["password"])
	case model.AuthAPIKey:
		add("Key", e.fields["key"])
		add("Value", e.fields["value"])
		add("Add to", e.where)
	case model.AuthInherit:
		add("", widget.NewLabel("Uses the auth of the folder or collection."))
	}
	e.form.Refresh()
}

func (e *authEditor) onTypeSelected(label string) {
	for _, a := range authTypes {
		if a.label == label {
			e.auth.Type = a.typ
		}
	}
	if e.auth.Type == model.AuthAPIKey && e.auth.Param("in") == "" {
		e.auth.SetParam("in", "header")
	}
	e.showType()
	e.changed()
}

func (e *authEditor) onParamChanged(key, value string) {
	if e.loading {
		return
	}
	e.auth.SetParam(key, value)
	e.changed()
}

func (e *authEditor) changed() {
	if !e.loading && e.OnChanged != nil {
		e.OnChanged()
	}
}
