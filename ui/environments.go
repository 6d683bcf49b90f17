package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// environmentsCore is what the Environments sidebar needs from the core.
type environmentsCore interface {
	Environments(ctx context.Context) ([]model.Environment, error)
	CreateEnvironment(ctx context.Context, name string) (model.Environment, error)
	RenameEnvironment(ctx context.Context, id model.ID, name string) error
	DeleteEnvironment(ctx context.Context, id model.ID) error
	Duplicate(ctx context.Context, kind model.Kind, id model.ID) (model.ID, error)
	Variables(ctx context.Context, owner model.ID) ([]model.Variable, error)
	SaveVariable(ctx context.Context, v model.Variable) (model.Variable, error)
	DeleteVariable(ctx context.Context, id model.ID) error
}

// envData is what the panel shows: the environments and the variables of
// the selected owner.
type envData struct {
	Envs  []model.Environment
	Owner model.ID
	Vars  []model.Variable
}

// environmentsPanel is the Environments sidebar: Globals and each
// environment, and a table of the selected one's variables (name, value,
// enabled, secret; a secret value is masked).
type environmentsPanel struct {
	core    environmentsCore
	win     fyne.Window
	bg      *tasks
	data    envData
	list    *widget.List
	vars    *fyne.Container
	table   *fyne.Container // vars, in its scroll, laid out by width
	title   *widget.Label
	content fyne.CanvasObject
	cols    *pairColumns
	editing int // variable rows with a focused field; reloads wait for them
	stale   bool
	gen     int // bumped by every load, so a late answer to an older one is dropped
	// owner is the environment (or the globals) the user chose to see;
	// data.Owner is the one on screen, which a pending load may change.
	owner model.ID
}

func newEnvironmentsPanel(core environmentsCore, win fyne.Window, bg *tasks) *environmentsPanel {
	p := &environmentsPanel{core: core, win: win, bg: bg, data: envData{Owner: model.GlobalsID}, owner: model.GlobalsID, cols: &pairColumns{}}
	p.list = widget.NewList(p.length, func() fyne.CanvasObject { return widget.NewLabel("") }, p.updateItem)
	p.list.OnSelected = p.onSelected
	p.vars = container.NewVBox()
	p.title = widget.NewLabel("Globals")
	p.title.TextStyle.Bold = true
	bar := container.NewHBox(
		widget.NewButtonWithIcon("Environment", theme.ContentAddIcon(), p.onNewTapped),
		layout.NewSpacer(),
		widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), p.onRenameTapped),
		widget.NewButtonWithIcon("", theme.ContentCopyIcon(), p.onDuplicateTapped),
		widget.NewButtonWithIcon("", theme.DeleteIcon(), p.onDeleteTapped),
		widget.NewButtonWithIcon("", theme.DownloadIcon(), p.onExportTapped), // export.go
	)
	addVar := widget.NewButtonWithIcon("Variable", theme.ContentAddIcon(), p.onAddVariableTapped)
	p.table = container.New(pairTableLayout{cols: p.cols, ctl: varControlsWidth}, container.NewVScroll(p.vars))
	varsPane := container.NewBorder(container.NewBorder(nil, nil, nil, addVar, p.title), nil, nil, nil, p.table)
	split := container.NewVSplit(container.NewBorder(bar, nil, nil, nil, p.list), varsPane)
	split.Offset = 0.35
	p.content = split
	return p
}

// Content is the panel's widget tree.
func (p *environmentsPanel) Content() fyne.CanvasObject { return p.content }

// Reload reads environments and the chosen owner's variables.
func (p *environmentsPanel) Reload() { p.load(p.owner) }

func (p *environmentsPanel) load(owner model.ID) {
	p.run("load the environments", owner, nil)
}

func loadEnvData(ctx context.Context, core environmentsCore, owner model.ID) (envData, error) {
	envs, err := core.Environments(ctx)
	if err != nil {
		return envData{}, err
	}
	found := owner == model.GlobalsID
	for _, e := range envs {
		found = found || e.ID == owner
	}
	if !found {
		owner = model.GlobalsID
	}
	vars, err := core.Variables(ctx, owner)
	return envData{Envs: envs, Owner: owner, Vars: vars}, err
}

func (p *environmentsPanel) show(d envData) {
	p.data = d
	p.owner = d.Owner // the chosen one, or the globals when it was deleted
	p.list.Refresh()
	p.title.SetText(p.ownerName(d.Owner))
	if p.editing > 0 {
		p.stale = true // rebuilt when the field loses focus
		return
	}
	p.stale = false
	rows := make([]fyne.CanvasObject, 0, len(d.Vars)+1)
	rows = append(rows, p.varHeader())
	seen := map[string]bool{} // names an enabled variable above has
	for _, v := range d.Vars {
		rows = append(rows, p.variableRow(v, v.Enabled && seen[v.Name]))
		if v.Enabled {
			seen[v.Name] = true
		}
	}
	p.vars.Objects = rows
	p.vars.Refresh()
}

func (p *environmentsPanel) ownerName(id model.ID) string {
	for _, e := range p.data.Envs {
		if e.ID == id {
			return e.Name
		}
	}
	return "Globals"
}

func (p *environmentsPanel) length() int { return len(p.data.Envs) + 1 }

func (p *environmentsPanel) updateItem(i widget.ListItemID, o fyne.CanvasObject) {
	name := "Globals"
	if i > 0 && i <= len(p.data.Envs) {
		name = p.data.Envs[i-1].Name
	}
	o.(*widget.Label).SetText(name)
}

// ownerAt returns the owner shown at list row i.
func (p *environmentsPanel) ownerAt(i int) model.ID {
	if i <= 0 || i > len(p.data.Envs) {
		return model.GlobalsID
	}
	return p.data.Envs[i-1].ID
}

func (p *environmentsPanel) onSelected(i widget.ListItemID) {
	p.editing = 0
	p.owner = p.ownerAt(i)
	p.load(p.owner)
}

// SelectOwner shows the variables of owner (an environment or globals).
func (p *environmentsPanel) SelectOwner(owner model.ID) {
	for i := 0; i < p.length(); i++ {
		if p.ownerAt(i) == owner {
			p.list.Select(i)
			return
		}
	}
}

func (p *environmentsPanel) varHeader() fyne.CanvasObject {
	bold := func(s string) *widget.Label { l := widget.NewLabel(s); l.TextStyle.Bold = true; return l }
	return container.New(pairRowLayout{p.cols}, bold("Name"), bold("Value"),
		container.NewHBox(bold("On"), bold("Secret"), widget.NewLabel("      ")))
}

// varControlsWidth is the width of a variable row's controls: two
// checkboxes and a delete button.
func varControlsWidth() float32 {
	return container.NewHBox(widget.NewCheck("", nil), widget.NewCheck("", nil),
		widget.NewButtonWithIcon("", theme.DeleteIcon(), nil)).MinSize().Width
}

// variableRow edits one variable; text fields save when they lose focus
// or on Enter, checkboxes at once. A shadowed variable (an enabled one
// above has its name, so requests use that one: twins made on two
// devices at once, say) is marked so.
func (p *environmentsPanel) variableRow(v model.Variable, shadowed bool) fyne.CanvasObject {
	name := newVarEntry(p, v.Name)
	value := newVarEntry(p, v.Value)
	value.Password = v.Secret
	save := func() {
		nv := v
		nv.Name, nv.Value = name.Text, value.Text
		if nv.Name != v.Name || nv.Value != v.Value {
			p.saveVariable(nv)
		}
	}
	name.onCommit, value.onCommit = save, save
	enabled := widget.NewCheck("", nil)
	enabled.SetChecked(v.Enabled)
	enabled.OnChanged = func(b bool) { nv := v; nv.Enabled = b; p.saveVariable(nv) }
	secret := widget.NewCheck("", nil)
	secret.SetChecked(v.Secret)
	secret.OnChanged = func(b bool) { nv := v; nv.Secret = b; p.saveVariable(nv) }
	del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { p.deleteVariable(v) })
	row := container.New(pairRowLayout{p.cols}, name, value, container.NewHBox(enabled, secret, del))
	if !shadowed {
		return row
	}
	note := widget.NewLabel("unused: requests take the {{" + v.Name + "}} above")
	note.Importance = widget.WarningImportance
	return container.NewVBox(row, note)
}

func (p *environmentsPanel) onAddVariableTapped() {
	askName(p.win, "New variable in "+p.ownerName(p.data.Owner), "Name", "", func(name string) {
		p.saveVariable(model.Variable{Owner: p.data.Owner, Name: name, Enabled: true})
	})
}

func (p *environmentsPanel) onNewTapped() {
	askName(p.win, "New environment", "Name", "", p.createEnvironment)
}

func (p *environmentsPanel) onRenameTapped() {
	if p.data.Owner == model.GlobalsID {
		return
	}
	id := p.data.Owner
	askName(p.win, "Rename environment", "Name", p.ownerName(id), func(name string) {
		p.run("rename the environment", id, func(ctx context.Context) error { return p.core.RenameEnvironment(ctx, id, name) })
	})
}

func (p *environmentsPanel) onDuplicateTapped() {
	if id := p.data.Owner; id != model.GlobalsID {
		p.run("duplicate the environment", id, func(ctx context.Context) error {
			_, err := p.core.Duplicate(ctx, model.KindEnvironment, id)
			return err
		})
	}
}

func (p *environmentsPanel) onDeleteTapped() {
	id := p.data.Owner
	if id == model.GlobalsID {
		return
	}
	dialog.ShowConfirm("Delete environment", "Delete "+p.ownerName(id)+" and its variables?", func(ok bool) {
		if ok {
			p.run("delete the environment", model.GlobalsID, func(ctx context.Context) error { return p.core.DeleteEnvironment(ctx, id) })
		}
	}, p.win)
}

// run calls the core (call may be nil) in the background, then shows
// owner's variables unless a later load started meanwhile.
func (p *environmentsPanel) run(action string, owner model.ID, call func(ctx context.Context) error) {
	p.gen++
	gen := p.gen
	p.bg.Go(func() func() {
		var err error
		if call != nil {
			err = call(context.Background())
		}
		d, lerr := loadEnvData(context.Background(), p.core, owner)
		return func() {
			if err == nil {
				err = lerr
			}
			if err != nil {
				showError(p.win, action, err)
			}
			if lerr == nil && gen == p.gen {
				p.show(d)
			}
		}
	})
}

// createEnvironment adds an environment and shows it.
func (p *environmentsPanel) createEnvironment(name string) {
	p.bg.Go(func() func() {
		e, err := p.core.CreateEnvironment(context.Background(), name)
		return func() {
			if err != nil {
				showError(p.win, "create the environment", err)
				return
			}
			p.owner = e.ID
			p.load(e.ID)
		}
	})
}

func (p *environmentsPanel) saveVariable(v model.Variable) {
	p.run("save the variable", v.Owner, func(ctx context.Context) error {
		_, err := p.core.SaveVariable(ctx, v)
		return err
	})
}

func (p *environmentsPanel) deleteVariable(v model.Variable) {
	p.run("delete the variable", v.Owner, func(ctx context.Context) error { return p.core.DeleteVariable(ctx, v.ID) })
}

// varEntry is a variable's text field: it saves when it loses focus or on
// Enter, and tells the panel while it is being edited.
type varEntry struct {
	widget.Entry
	panel    *environmentsPanel
	onCommit func()
}

func newVarEntry(p *environmentsPanel, text string) *varEntry {
	e := &varEntry{panel: p}
	e.ExtendBaseWidget(e)
	e.SetText(text)
	e.OnSubmitted = func(string) { e.commit() }
	return e
}

// FocusGained marks the row as being edited.
func (e *varEntry) FocusGained() {
	e.panel.editing++
	e.Entry.FocusGained()
}

// FocusLost saves the row.
func (e *varEntry) FocusLost() {
	e.Entry.FocusLost()
	if e.panel.editing > 0 {
		e.panel.editing--
	}
	e.commit()
	if e.panel.stale && e.panel.editing == 0 {
		e.panel.show(e.panel.data)
	}
}

func (e *varEntry) commit() {
	if e.onCommit != nil {
		e.onCommit()
	}
}
