package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

// kvTable edits a list of key-value rows (headers, query parameters, form
// fields), each with an enable checkbox. The lists it edits are short, so
// every row is a real widget; OnChanged fires after each user edit, never
// after SetRows.
type kvTable struct {
	widget.BaseWidget
	OnChanged func()

	keys    fyne.Shortcutable
	rows    []model.KV
	cells   []kvCells // the editors of rows, by index
	box     *fyne.Container
	loading bool
	// files adds a text/file selector and a path field per row (form-data).
	files bool
	// pickFile asks for a file path for row i (form-data file parts).
	pickFile func(i int)
	// cols stacks each value under its key in a narrow table (see
	// pairTableLayout); nil keeps them side by side.
	cols *pairColumns
}

// kvCells are the editors of one row.
type kvCells struct {
	on       *widget.Check
	key, val *keyEntry
}

func newKVTable(keys fyne.Shortcutable) *kvTable {
	t := &kvTable{keys: keys, box: container.NewVBox()}
	t.ExtendBaseWidget(t)
	return t
}

// CreateRenderer lays out the rows above an Add button.
func (t *kvTable) CreateRenderer() fyne.WidgetRenderer {
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), t.onAddTapped)
	return widget.NewSimpleRenderer(container.NewVBox(t.box, container.NewHBox(add)))
}

// SetRows replaces the rows shown, without calling OnChanged. Rows that
// stay are updated in place and new ones appended, so that typing in a
// URL with many query parameters does not rebuild every row's editors at
// each key.
func (t *kvTable) SetRows(rows []model.KV) {
	if t.files || len(rows) < len(t.rows) || len(t.cells) != len(t.rows) {
		t.rows = append([]model.KV(nil), rows...)
		t.rebuild()
		return
	}
	t.loading = true
	defer func() { t.loading = false }()
	for i := range t.rows {
		t.rows[i] = rows[i]
		c := t.cells[i]
		if c.on.Checked == rows[i].Disabled {
			c.on.SetChecked(!rows[i].Disabled)
		}
		setText(c.key, rows[i].Key)
		setText(c.val, rows[i].Value)
	}
	if len(rows) == len(t.rows) {
		return
	}
	for i := len(t.rows); i < len(rows); i++ {
		t.rows = append(t.rows, rows[i])
		t.box.Objects = append(t.box.Objects, t.rowWidget(i))
	}
	t.box.Refresh()
}

// setText sets e's text unless it holds it already.
func setText(e *keyEntry, s string) {
	if e.Text != s {
		e.SetText(s)
	}
}

// Rows returns a copy of the rows as edited.
func (t *kvTable) Rows() []model.KV {
	return append([]model.KV(nil), t.rows...)
}

// AppendRows adds rows at the end and calls OnChanged.
func (t *kvTable) AppendRows(rows ...model.KV) {
	t.rows = append(t.rows, rows...)
	t.rebuild()
	t.changed()
}

func (t *kvTable) rebuild() {
	t.loading = true
	defer func() { t.loading = false }()
	objs := make([]fyne.CanvasObject, 0, len(t.rows))
	t.cells = t.cells[:0]
	for i := range t.rows {
		objs = append(objs, t.rowWidget(i))
	}
	t.box.Objects = objs
	t.box.Refresh()
}

// rowWidget builds the editor of row i; handlers find the row by index,
// which stays valid because every structural change rebuilds all rows.
func (t *kvTable) rowWidget(i int) fyne.CanvasObject {
	kv := t.rows[i]
	on := widget.NewCheck("", func(b bool) { t.rows[i].Disabled = !b; t.changed() })
	on.SetChecked(!kv.Disabled)
	key := newKeyEntry(t.keys)
	key.SetPlaceHolder("Key")
	key.SetText(kv.Key)
	key.OnChanged = func(s string) { t.rows[i].Key = s; t.changed() }
	val := newKeyEntry(t.keys)
	val.SetPlaceHolder("Value")
	val.SetText(kv.Value)
	val.OnChanged = func(s string) { t.rows[i].Value = s; t.changed() }
	del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { t.onDeleteTapped(i) })
	right := container.NewHBox(del)
	valueCell := fyne.CanvasObject(val)
	if t.files {
		valueCell = t.fileCell(i, val)
	}
	t.cells = append(t.cells, kvCells{on: on, key: key, val: val})
	return container.New(pairRowLayout{t.cols}, on, key, valueCell, right)
}

// fileCell is the value of a form-data row: text, or a file path with a
// Choose button.
func (t *kvTable) fileCell(i int, val *keyEntry) fyne.CanvasObject {
	kind := widget.NewSelect([]string{"text", "file"}, nil)
	if t.rows[i].Type == "file" {
		kind.SetSelected("file")
		val.SetText(t.rows[i].Src)
		val.OnChanged = func(s string) { t.rows[i].Src = s; t.changed() }
	} else {
		kind.SetSelected("text")
	}
	kind.OnChanged = func(s string) {
		if s == "text" {
			s = ""
		}
		t.rows[i].Type = s
		t.rebuild()
		t.changed()
	}
	choose := widget.NewButton("Choose…", func() {
		if t.pickFile != nil {
			t.pickFile(i)
		}
	})
	if t.rows[i].Type != "file" {
		choose.Hide()
	}
	return container.NewBorder(nil, nil, kind, choose, val)
}

// SetFile sets the file path of row i (after a file dialog).
func (t *kvTable) SetFile(i int, path string) {
	if i < 0 || i >= len(t.rows) {
		return
	}
	t.rows[i].Type = "file"
	t.rows[i].Src = path
	t.rebuild()
	t.changed()
}

func (t *kvTable) onAddTapped() {
	t.rows = append(t.rows, model.KV{})
	t.rebuild()
	t.changed()
}

func (t *kvTable) onDeleteTapped(i int) {
	if i < 0 || i >= len(t.rows) {
		return
	}
	t.rows = append(t.rows[:i], t.rows[i+1:]...)
	t.rebuild()
	t.changed()
}

func (t *kvTable) changed() {
	if t.loading || t.OnChanged == nil {
		return
	}
	t.OnChanged()
}

// kvControlsWidth is the width of a row's controls: its checkbox and its
// delete button, with the padding after the checkbox.
func kvControlsWidth() float32 {
	return widget.NewCheck("", nil).MinSize().Width + theme.Padding() +
		widget.NewButtonWithIcon("", theme.DeleteIcon(), nil).MinSize().Width
}
