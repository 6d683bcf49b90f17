package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

func TestSelectingAnEnvironmentShowsItsVariablesWithSecretsMasked(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Environments")
	ctx := context.Background()
	env, err := h.core.CreateEnvironment(ctx, "Local")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []model.Variable{
		{Owner: env.ID, Name: "base", Value: "http://127.0.0.1", Enabled: true},
		{Owner: env.ID, Name: "token", Value: "s3cret", Enabled: true, Secret: true},
	} {
		if _, err := h.core.SaveVariable(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	h.loop.until(t, "the environment is listed", func() bool { return h.mw.envs.length() == 2 })
	h.mw.envs.list.Select(1)
	h.loop.until(t, "its variables show", func() bool { return h.mw.envs.title.Text == "Local" && len(h.mw.envs.data.Vars) == 2 })
	secret := h.mw.envs.vars.Objects[2]
	var masked bool
	walk(secret, func(o any) {
		if e, ok := o.(*varEntry); ok && e.Text == "s3cret" {
			masked = e.Password
		}
	})
	if !masked {
		t.Error("the secret variable's value is not masked")
	}
}

// TestATwinVariableIsMarkedUnused: of two enabled globals of one name
// (made on two devices at once, say), the one requests do not use says
// so; a disabled twin does not shadow.
func TestATwinVariableIsMarkedUnused(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Environments")
	ctx := context.Background()
	for _, v := range []model.Variable{
		{Owner: model.GlobalsID, Name: "shared", Value: "A1", Enabled: true},
		{Owner: model.GlobalsID, Name: "shared", Value: "A2", Enabled: true},
		{Owner: model.GlobalsID, Name: "other", Value: "off", Enabled: false},
		{Owner: model.GlobalsID, Name: "other", Value: "on", Enabled: true},
	} {
		if _, err := h.core.SaveVariable(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	h.mw.envs.Reload()
	h.loop.until(t, "the globals show", func() bool { return len(h.mw.envs.data.Vars) == 4 })
	h.loop.until(t, "their rows show", func() bool { return len(h.mw.envs.vars.Objects) == 5 })
	marked := map[string]bool{}
	for _, row := range h.mw.envs.vars.Objects[1:] {
		var value string
		var note bool
		walk(row, func(o any) {
			switch o := o.(type) {
			case *varEntry:
				value = o.Text // the value entry comes after the name's
			case *widget.Label:
				note = note || strings.HasPrefix(o.Text, "unused: requests take the {{")
			}
		})
		marked[value] = note
	}
	want := map[string]bool{"A1": false, "A2": true, "off": false, "on": false}
	for v, w := range want {
		if marked[v] != w {
			t.Errorf("row of %q marked unused = %v, want %v (rows %v)", v, marked[v], w, marked)
		}
	}
}
