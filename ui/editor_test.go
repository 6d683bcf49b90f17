package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/courierapp/courier/model"
)

func TestSwitchingBodyModesKeepsWhatWasTyped(t *testing.T) {
	test.NewTempApp(t)
	e := newBodyEditor(nil)
	changes := 0
	e.OnChanged = func() { changes++ }
	e.SetBody(model.Body{})
	if changes != 0 {
		t.Errorf("SetBody reported %d edits", changes)
	}
	e.mode.SetSelected("raw")
	if e.Body().Mode != model.BodyRaw || e.Body().Language != model.LangJSON {
		t.Errorf("raw mode = %+v, want raw JSON", e.Body())
	}
	test.Type(e.raw, `{"a":1}`)
	e.mode.SetSelected("x-www-form-urlencoded")
	e.form.AppendRows(model.KV{Key: "k", Value: "v"})
	e.mode.SetSelected("raw")
	b := e.Body()
	if b.Raw != `{"a":1}` || len(b.URLEncoded) != 1 || b.Mode != model.BodyRaw {
		t.Errorf("after switching modes the body is %+v, want the raw text and the form kept", b)
	}
	if changes == 0 {
		t.Error("edits were not reported")
	}
}

func TestAuthEditorWritesTheChosenTypesParameters(t *testing.T) {
	test.NewTempApp(t)
	tests := []struct {
		label  string
		typ    string
		fields map[string]string
		want   map[string]string
	}{
		{"Bearer token", model.AuthBearer, map[string]string{"token": "abc"}, map[string]string{"token": "abc"}},
		{"Basic auth", model.AuthBasic, map[string]string{"username": "ada", "password": "pw"}, map[string]string{"username": "ada", "password": "pw"}},
		{"API key", model.AuthAPIKey, map[string]string{"key": "X-Key", "value": "123"}, map[string]string{"key": "X-Key", "value": "123", "in": "header"}},
		{"No auth", model.AuthNone, nil, nil},
		{"Inherit from parent", model.AuthInherit, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			e := newAuthEditor(nil)
			e.SetAuth(model.Auth{})
			e.typ.SetSelected(tt.label)
			for k, v := range tt.fields {
				test.Type(e.fields[k], v)
			}
			a := e.Auth()
			if a.Type != tt.typ {
				t.Errorf("type = %q, want %q", a.Type, tt.typ)
			}
			for k, v := range tt.want {
				if got := a.Param(k); got != v {
					t.Errorf("param %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
