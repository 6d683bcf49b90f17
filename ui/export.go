package ui

import (
	"context"
	"io"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// exportCore is what exporting needs from the core.
type exportCore interface {
	ExportCollection(ctx context.Context, id model.ID) ([]byte, error)
	ExportEnvironment(ctx context.Context, id model.ID) ([]byte, error)
	ExportGlobals(ctx context.Context) ([]byte, error)
	ExportDump(ctx context.Context) ([]byte, error)
}

var _ exportCore = (*app.App)(nil)

// secretsNotice is said in every export dialog.
const secretsNotice = "The file holds the values of secret variables too: it is yours, keep it private " +
	"(collection links, which are public, leave them out)."

// importExportItems are the Collections menu's Import and Export entries
// for node id ("" for the section's own menu).
func (p *collectionsPanel) importExportItems(id string) []*fyne.MenuItem {
	var items []*fyne.MenuItem
	n, ok := p.data[id]
	if ex, can := p.core.(exportCore); can && ok && n.Kind == model.KindCollection {
		items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Export…", func() {
			exportTo(p.win, p.bg, "collection "+n.Name, n.Name+".postman_collection.json",
				func(ctx context.Context) ([]byte, error) { return ex.ExportCollection(ctx, n.ID) })
		}))
	}
	if im, can := p.core.(importCore); can && (id == "" || !ok) {
		items = append(items, fyne.NewMenuItem("Import…", func() { newImporter(im, p.win, p.bg).ShowDialog() }))
		if ex, can := p.core.(exportCore); can {
			items = append(items, fyne.NewMenuItem("Export everything…", func() {
				exportTo(p.win, p.bg, "everything (a Postman data dump)", "courier.postman_dump.json", ex.ExportDump)
			}))
		}
	}
	return items
}

// onExportTapped exports the selected environment, or the globals.
func (p *environmentsPanel) onExportTapped() {
	ex, ok := p.core.(exportCore)
	if !ok {
		return
	}
	owner := p.data.Owner
	if owner == model.GlobalsID {
		exportTo(p.win, p.bg, "the globals", "globals.postman_globals.json", ex.ExportGlobals)
		return
	}
	name := p.ownerName(owner)
	exportTo(p.win, p.bg, "environment "+name, name+".postman_environment.json",
		func(ctx context.Context) ([]byte, error) { return ex.ExportEnvironment(ctx, owner) })
}

// exportTo makes the file in the background, then shows the export dialog
// (what it holds, the secrets notice) and a save dialog that writes it.
func exportTo(win fyne.Window, bg *tasks, what, fileName string, build func(ctx context.Context) ([]byte, error)) {
	bg.Go(func() func() {
		data, err := build(context.Background())
		return func() {
			if err != nil {
				showError(win, "export "+what, err)
				return
			}
			confirmExport(win, bg, what, safeFileName(fileName), data)
		}
	})
}

func confirmExport(win fyne.Window, bg *tasks, what, fileName string, data []byte) {
	msg := widget.NewLabel("Export " + what + " as a Postman file (" + model.FormatSize(int64(len(data))) + ").\n\n" + secretsNotice)
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Export", "Save…", "Cancel", msg, func(ok bool) {
		if ok {
			saveExport(win, bg, fileName, data)
		}
	}, win)
	d.Resize(fyne.NewSize(460, 240))
	d.Show()
}

func saveExport(win fyne.Window, bg *tasks, fileName string, data []byte) {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		bg.Go(func() func() {
			werr := writeExport(w, data)
			return func() {
				if werr != nil {
					showError(win, "save the export", werr)
				}
			}
		})
	}, win)
	save.SetFileName(fileName)
	save.Show()
}

// writeExport writes data to w and closes it.
func writeExport(w io.WriteCloser, data []byte) error {
	_, err := w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

var unsafeFileChars = regexp.MustCompile(`[/\\:*?"<>|\x00-\x1f]+`)

// safeFileName replaces what file systems refuse in a suggested name.
func safeFileName(name string) string {
	name = strings.TrimSpace(unsafeFileChars.ReplaceAllString(name, "_"))
	if name == "" || strings.HasPrefix(name, ".") {
		name = "export" + name
	}
	return name
}
