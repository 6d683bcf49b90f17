package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// newCollectionChoice is the save dialog's entry for a new collection.
const newCollectionChoice = "New collection…"

// showSaveAs reads the collections, then asks where to save a new request:
// a collection or folder (or a new collection) and a name.
func (mw *MainWindow) showSaveAs(t *requestTab) {
	mw.bg.Go(func() func() {
		d, err := loadCollections(context.Background(), mw.core)
		return func() {
			if err != nil {
				showError(mw.win, "read the collections", err)
				return
			}
			mw.askSaveAs(t, d.destinations())
		}
	})
}

func (mw *MainWindow) askSaveAs(t *requestTab, dests []destination) {
	labels := make([]string, 0, len(dests)+1)
	for _, d := range dests {
		labels = append(labels, d.Label)
	}
	labels = append(labels, newCollectionChoice)
	where := widget.NewSelect(labels, nil)
	where.SetSelected(labels[0])
	collName := newDialogEntry(mw.win)
	collName.SetText("My requests")
	name := newDialogEntry(mw.win)
	name.SetText(t.editor.req.Name)
	if name.Text == "" {
		name.SetText(t.editor.url.Text)
	}
	items := []*widget.FormItem{
		widget.NewFormItem("Name", name),
		widget.NewFormItem("Save to", where),
		widget.NewFormItem("New collection", collName),
	}
	d := dialog.NewForm("Save request", "Save", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		if where.Selected == newCollectionChoice {
			mw.saveToNewCollection(t, collName.Text, name.Text)
			return
		}
		for _, dst := range dests {
			if dst.Label == where.Selected {
				t.SaveTo(dst.Collection, dst.Parent, name.Text)
			}
		}
	}, mw.win)
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
	d.Show()
}

// saveToNewCollection creates a collection, then saves t's request in it.
func (mw *MainWindow) saveToNewCollection(t *requestTab, collection, name string) {
	mw.bg.Go(func() func() {
		c, err := mw.core.CreateCollection(context.Background(), collection)
		return func() {
			if err != nil {
				showError(mw.win, "create the collection", err)
				return
			}
			t.SaveTo(c.ID, c.ID, name)
		}
	})
}
