package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
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

// TestVariableValuesTakeTheTablesWidthWhenItIsNarrow: at the sidebar's
// usual width a value has a line of its own, as wide as the table; with
// room for two fields, name and value share a line, and the row is as
// high as one field.
func TestVariableValuesTakeTheTablesWidthWhenItIsNarrow(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Environments")
	if _, err := h.core.SaveVariable(context.Background(), model.Variable{
		Owner: model.GlobalsID, Name: "base", Value: "https://staging.api.example.com/v2/tenants/42", Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
	h.mw.envs.Reload()
	h.loop.until(t, "its row shows", func() bool { return len(h.mw.envs.vars.Objects) == 2 })
	var entries []*varEntry
	walk(h.mw.envs.vars.Objects[1], func(o any) {
		if e, ok := o.(*varEntry); ok {
			entries = append(entries, e)
		}
	})
	if len(entries) != 2 {
		t.Fatalf("the row has %d fields; want name and value", len(entries))
	}
	checkPairRows(t, h.mw.envs.table, h.mw.envs.vars.Objects[1], entries[0], entries[1], 0)
}

// TestAPresetsHeaderValuesTakeTheTablesWidthWhenItIsNarrow: the same in
// the header preset editor, whose rows start with a checkbox.
func TestAPresetsHeaderValuesTakeTheTablesWidthWhenItIsNarrow(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Presets")
	h.mw.presets.savePreset(model.HeaderPreset{Name: "Auth", Headers: []model.KV{{Key: "Authorization", Value: "Bearer {{token}}"}}})
	h.loop.until(t, "the preset is listed", func() bool { return len(h.mw.presets.Presets()) == 1 })
	h.mw.presets.list.Select(0)
	h.loop.until(t, "its header shows", func() bool { return len(h.mw.presets.headers.cells) == 1 })
	c := h.mw.presets.headers.cells[0]
	checkPairRows(t, h.mw.presets.table, h.mw.presets.headers.box.Objects[0], c.key, c.val, c.on.MinSize().Width)
}

// checkPairRows resizes table narrow, then wide, and checks where row
// puts its name and value fields: under each other, the value as wide as
// the table but for lead (the width before the name); then side by side.
func checkPairRows(t *testing.T, table *fyne.Container, row, name, value fyne.CanvasObject, lead float32) {
	t.Helper()
	table.Resize(fyne.NewSize(300, 500))
	if value.Position().Y <= name.Position().Y || value.Position().X != name.Position().X {
		t.Errorf("narrow: value at %v, name at %v; want the value on a line of its own, under the name", value.Position(), name.Position())
	}
	if w := row.Size().Width; value.Position().X+value.Size().Width != w || value.Position().X < lead || w < 280 {
		t.Errorf("narrow: value at %v, %v wide, in a row of %v; want it to reach the row's right edge", value.Position(), value.Size().Width, w)
	}

	table.Resize(fyne.NewSize(900, 500))
	if value.Position().Y != name.Position().Y || value.Position().X <= name.Position().X+name.Size().Width {
		t.Errorf("wide: value at %v, name at %v (%v wide); want them side by side", value.Position(), name.Position(), name.Size())
	}
	if name.Size().Width < pairFieldMin || value.Size().Width < pairFieldMin {
		t.Errorf("wide: name %v and value %v wide; want at least %v each", name.Size().Width, value.Size().Width, pairFieldMin)
	}
	if row.Size().Height != value.Size().Height {
		t.Errorf("wide: the row is %v high, its fields %v; want one line", row.Size().Height, value.Size().Height)
	}
}
