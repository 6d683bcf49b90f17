package ui

import (
	"net/http"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

var methods = []string{
	http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
	http.MethodHead, http.MethodOptions,
}

// requestEditor edits one model.Request: method, URL, and tabs Params,
// Headers, Body and Auth. The Params table and the URL stay in step both
// ways. OnChanged fires after each user edit, never after SetRequest.
type requestEditor struct {
	req     model.Request
	method  *widget.Select
	url     *keyEntry
	params  *kvTable
	headers *kvTable
	body    *bodyEditor
	auth    *authEditor
	presets *widget.Button
	tabs    *container.AppTabs
	loading bool
	curl    curlPaste // tells a pasted cURL command from typing (import_curl.go)

	OnChanged func()
	// OnPresets is called with the Presets button to show the preset menu.
	OnPresets func(anchor fyne.CanvasObject)
}

func newRequestEditor(keys fyne.Shortcutable) *requestEditor {
	e := &requestEditor{url: newKeyEntry(keys), params: newKVTable(keys), headers: newKVTable(keys),
		body: newBodyEditor(keys), auth: newAuthEditor(keys)}
	e.method = widget.NewSelect(methods, e.onMethodSelected)
	e.url.SetPlaceHolder("Enter a URL, for example {{base}}/users")
	e.url.OnChanged = e.onURLChanged
	e.params.OnChanged = e.onParamsChanged
	e.headers.OnChanged = e.changed
	e.body.OnChanged = e.changed
	e.auth.OnChanged = e.changed
	e.presets = widget.NewButtonWithIcon("Presets", theme.MenuDropDownIcon(), e.onPresetsTapped)
	e.tabs = container.NewAppTabs(
		container.NewTabItem("Params", container.NewVScroll(e.params)),
		container.NewTabItem("Headers", container.NewBorder(container.NewHBox(e.presets), nil, nil, nil, container.NewVScroll(e.headers))),
		container.NewTabItem("Body", e.body.Content()),
		container.NewTabItem("Auth", e.auth.Content()),
	)
	return e
}

// SetRequest shows r, without calling OnChanged.
func (e *requestEditor) SetRequest(r model.Request) {
	e.loading = true
	defer func() { e.loading = false }()
	e.req = r
	if e.req.Method == "" {
		e.req.Method = http.MethodGet
	}
	e.method.SetSelected(e.req.Method)
	e.url.SetText(r.URL)
	e.params.SetRows(httprun.ParseQuery(r.URL))
	e.headers.SetRows(r.Headers)
	e.body.SetBody(r.Body)
	e.auth.SetAuth(r.Auth)
}

// Request returns the request as edited.
func (e *requestEditor) Request() model.Request {
	r := e.req
	r.Method = e.method.Selected
	r.URL = e.url.Text
	r.Headers = e.headers.Rows()
	r.Body = e.body.Body()
	r.Auth = e.auth.Auth()
	return r
}

// AddHeaders appends headers (from a preset) and marks the request changed.
func (e *requestEditor) AddHeaders(hs []model.KV) {
	e.headers.AppendRows(hs...)
}

func (e *requestEditor) onMethodSelected(m string) {
	e.req.Method = m
	e.changed()
}

// onURLChanged re-reads the query into the Params table, keeping the
// disabled rows, which the URL cannot show.
func (e *requestEditor) onURLChanged(u string) {
	if e.loading || e.convertPastedCurl(u) {
		return
	}
	e.loading = true
	rows := httprun.ParseQuery(u)
	for _, kv := range e.params.Rows() {
		if kv.Disabled {
			rows = append(rows, kv)
		}
	}
	e.params.SetRows(rows)
	e.loading = false
	e.changed()
}

// onParamsChanged writes the enabled params into the URL's query.
func (e *requestEditor) onParamsChanged() {
	if e.loading {
		return
	}
	e.loading = true
	e.url.SetText(httprun.WithQuery(e.url.Text, e.params.Rows()))
	e.loading = false
	e.changed()
}

func (e *requestEditor) onPresetsTapped() {
	if e.OnPresets != nil {
		e.OnPresets(e.presets)
	}
}

func (e *requestEditor) changed() {
	if !e.loading && e.OnChanged != nil {
		e.OnChanged()
	}
}
