package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// presetsCore is what the Header presets sidebar needs from the core.
type presetsCore interface {
	HeaderPresets(ctx context.Context) ([]model.HeaderPreset, error)
	SaveHeaderPreset(ctx context.Context, p model.HeaderPreset) (model.HeaderPreset, error)
	DeleteHeaderPreset(ctx context.Context, id model.ID) error
}

// presetsPanel is the Header presets sidebar: a list of presets and an
// editor (name and headers) for the selected one.
type presetsPanel struct {
	core     presetsCore
	win      fyne.Window
	bg       *tasks
	presets  []model.HeaderPreset
	list     *widget.List
	name     *widget.Entry
	headers  *kvTable
	table    *fyne.Container // headers, in its scroll, laid out by width
	editor   *fyne.Container
	selected model.ID
	content  fyne.CanvasObject

	// OnChanged is told the new list after every load (the request tabs'
	// Presets menus use it).
	OnChanged func([]model.HeaderPreset)
}

func newPresetsPanel(core presetsCore, win fyne.Window, bg *tasks) *presetsPanel {
	p := &presetsPanel{core: core, win: win, bg: bg, name: widget.NewEntry(), headers: newKVTable(nil)}
	p.list = widget.NewList(func() int { return len(p.presets) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(p.presets[i].Name) })
	p.list.OnSelected = p.onSelected
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), p.onSaveTapped)
	save.Importance = widget.HighImportance
	del := widget.NewButtonWithIcon("", theme.DeleteIcon(), p.onDeleteTapped)
	form := widget.NewForm(widget.NewFormItem("Name", p.name))
	p.headers.cols = &pairColumns{}
	p.table = container.New(pairTableLayout{cols: p.headers.cols, ctl: kvControlsWidth}, container.NewVScroll(p.headers))
	p.editor = container.NewBorder(form, container.NewHBox(save, del), nil, nil, p.table)
	p.editor.Hide()
	bar := container.NewHBox(widget.NewButtonWithIcon("Preset", theme.ContentAddIcon(), p.onNewTapped))
	split := container.NewVSplit(container.NewBorder(bar, nil, nil, nil, p.list), p.editor)
	split.Offset = 0.35
	p.content = split
	return p
}

// Content is the panel's widget tree.
func (p *presetsPanel) Content() fyne.CanvasObject { return p.content }

// Presets returns the presets as last loaded.
func (p *presetsPanel) Presets() []model.HeaderPreset { return p.presets }

// Reload reads the presets in the background.
func (p *presetsPanel) Reload() { p.run("load the header presets", nil) }

func (p *presetsPanel) run(action string, call func(ctx context.Context) error) {
	p.bg.Go(func() func() {
		var err error
		if call != nil {
			err = call(context.Background())
		}
		ps, lerr := p.core.HeaderPresets(context.Background())
		return func() {
			if err == nil {
				err = lerr
			}
			if err != nil {
				showError(p.win, action, err)
			}
			if lerr == nil {
				p.show(ps)
			}
		}
	})
}

func (p *presetsPanel) show(ps []model.HeaderPreset) {
	p.presets = ps
	p.list.Refresh()
	if p.OnChanged != nil {
		p.OnChanged(ps)
	}
}

func (p *presetsPanel) onSelected(i widget.ListItemID) {
	if i < 0 || i >= len(p.presets) {
		return
	}
	pr := p.presets[i]
	p.selected = pr.ID
	p.name.SetText(pr.Name)
	p.headers.SetRows(pr.Headers)
	p.editor.Show()
}

func (p *presetsPanel) onNewTapped() {
	askName(p.win, "New header preset", "Name", "", func(name string) {
		p.savePreset(model.HeaderPreset{Name: name})
	})
}

func (p *presetsPanel) onSaveTapped() {
	if p.selected == "" {
		return
	}
	p.savePreset(model.HeaderPreset{ID: p.selected, Name: p.name.Text, Headers: p.headers.Rows()})
}

func (p *presetsPanel) onDeleteTapped() {
	id := p.selected
	if id == "" {
		return
	}
	dialog.ShowConfirm("Delete header preset", "Delete "+p.name.Text+"?", func(ok bool) {
		if ok {
			p.selected = ""
			p.editor.Hide()
			p.list.UnselectAll()
			p.run("delete the header preset", func(ctx context.Context) error { return p.core.DeleteHeaderPreset(ctx, id) })
		}
	}, p.win)
}

// savePreset creates (empty ID) or updates a preset.
func (p *presetsPanel) savePreset(pr model.HeaderPreset) {
	p.run("save the header preset", func(ctx context.Context) error {
		_, err := p.core.SaveHeaderPreset(ctx, pr)
		return err
	})
}
