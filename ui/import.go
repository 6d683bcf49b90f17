package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// importCore is what importing needs from the core.
type importCore interface {
	Import(ctx context.Context, src io.Reader, opts app.ImportOptions) (app.ImportSummary, error)
	ImportURL(ctx context.Context, url string, opts app.ImportOptions) (app.ImportSummary, error)
}

var _ importCore = (*app.App)(nil)

// shortcutImport opens the Import dialog.
var shortcutImport = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault}

// addImportExport wires importing into the window: Ctrl+O and an Import
// button in the top bar open the Import dialog, and files dropped on the
// window are imported.
func (mw *MainWindow) addImportExport() {
	core, ok := mw.core.(importCore)
	if !ok {
		return
	}
	open := func() { newImporter(core, mw.win, &mw.bg).ShowDialog() }
	mw.keys.AddShortcut(shortcutImport, func(fyne.Shortcut) { open() })
	mw.win.Canvas().AddShortcut(shortcutImport, mw.TypedShortcut)
	mw.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { newImporter(core, mw.win, &mw.bg).ImportDropped(uris) })
	if bar, ok := mw.top.content.(*fyne.Container); ok && len(bar.Objects) > 0 {
		btn := widget.NewButtonWithIcon("Import", theme.UploadIcon(), open)
		last := len(bar.Objects) - 1 // before the settings button
		bar.Objects = append(bar.Objects[:last], btn, bar.Objects[last])
		bar.Refresh()
	}
}

// importSource is one thing to import: a file, pasted text or a URL.
type importSource struct {
	Label string // what the summary and errors call it
	Path  string
	Text  string
	URL   string
}

// importResult is the outcome of one source.
type importResult struct {
	Source  importSource
	Summary app.ImportSummary
	Err     error
}

// importer runs imports off the UI goroutine with a progress dialog that
// can cancel, and shows a summary at the end.
type importer struct {
	core importCore
	win  fyne.Window
	bg   *tasks

	dlg      dialog.Dialog // the Import dialog (file, folder, paste, URL)
	paste    *dialogEntry
	pasteBtn *widget.Button
	url      *dialogEntry
	progress *widget.ProgressBar
	status   *widget.Label
	cancelB  *widget.Button
	running  dialog.Dialog
	cancel   context.CancelFunc
	result   *widget.Label // the summary shown at the end
	results  []importResult

	// OnDone is told when an import ends (tests).
	OnDone func([]importResult)
}

func newImporter(core importCore, win fyne.Window, bg *tasks) *importer {
	return &importer{core: core, win: win, bg: bg}
}

// ShowDialog shows the Import dialog: a file, every .json of a folder,
// pasted text or a URL.
func (im *importer) ShowDialog() {
	im.paste = newDialogMultiLineEntry(im.win)
	im.paste.SetPlaceHolder("Paste a Postman collection, environment or globals JSON, or a cURL command")
	im.paste.Wrapping = fyne.TextWrapOff
	im.url = newDialogEntry(im.win)
	im.url.SetPlaceHolder("https://example.org/collection.json or a collection link")
	file := widget.NewButtonWithIcon("Choose a file…", theme.FileIcon(), im.onChooseFileTapped)
	folder := widget.NewButtonWithIcon("Choose a folder…", theme.FolderOpenIcon(), im.onChooseFolderTapped)
	im.pasteBtn = widget.NewButtonWithIcon("Import text", theme.UploadIcon(), im.onImportTextTapped)
	urlBtn := widget.NewButtonWithIcon("Import from URL", theme.UploadIcon(), im.onImportURLTapped)
	hint := widget.NewLabel("Postman collections (v1, v2.0, v2.1), environments, globals, data dumps and cURL commands. You can also drop files on the window.")
	hint.Wrapping = fyne.TextWrapWord
	tabs := container.NewAppTabs(
		container.NewTabItem("File", container.NewVBox(file, widget.NewLabel("A folder imports every .json file in it."), folder)),
		container.NewTabItem("Text", container.NewBorder(nil, container.NewHBox(im.pasteBtn), nil, nil, im.paste)),
		container.NewTabItem("URL", container.NewVBox(im.url, container.NewHBox(urlBtn))),
	)
	im.dlg = dialog.NewCustom("Import", "Close", container.NewBorder(hint, nil, nil, nil, tabs), im.win)
	im.dlg.Resize(fyne.NewSize(620, 460))
	im.dlg.Show()
}

func (im *importer) closeDialog() {
	if im.dlg != nil {
		im.dlg.Hide()
	}
}

func (im *importer) onChooseFileTapped() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		_ = r.Close()
		im.closeDialog()
		im.Run([]importSource{{Label: r.URI().Name(), Path: r.URI().Path()}})
	}, im.win)
	d.Show()
}

func (im *importer) onChooseFolderTapped() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil || l == nil {
			return
		}
		srcs, err := folderSources(l.Path())
		if err != nil {
			showError(im.win, "read the folder", err)
			return
		}
		im.closeDialog()
		im.Run(srcs)
	}, im.win)
	d.Show()
}

func (im *importer) onImportTextTapped() {
	text := im.paste.Text
	if strings.TrimSpace(text) == "" {
		return
	}
	im.closeDialog()
	im.Run([]importSource{{Label: "The pasted text", Text: text}})
}

func (im *importer) onImportURLTapped() {
	u := strings.TrimSpace(im.url.Text)
	if u == "" {
		return
	}
	im.closeDialog()
	im.Run([]importSource{{Label: u, URL: u}})
}

// ImportDropped imports files dropped on the window; a dropped folder
// gives its .json files.
func (im *importer) ImportDropped(uris []fyne.URI) {
	var srcs []importSource
	for _, u := range uris {
		p := u.Path()
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			more, err := folderSources(p)
			if err != nil {
				showError(im.win, "read the folder", err)
				return
			}
			srcs = append(srcs, more...)
			continue
		}
		srcs = append(srcs, importSource{Label: u.Name(), Path: p})
	}
	if len(srcs) > 0 {
		im.Run(srcs)
	}
}

// folderSources lists the .json files directly in dir, by name.
func folderSources(dir string) ([]importSource, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var srcs []importSource
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".json") {
			srcs = append(srcs, importSource{Label: e.Name(), Path: filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Label < srcs[j].Label })
	if len(srcs) == 0 {
		return nil, fmt.Errorf("%s holds no .json files", dir)
	}
	return srcs, nil
}

// Run imports srcs one after the other in the background (each in one
// transaction of its own), showing progress with Cancel, then a summary.
func (im *importer) Run(srcs []importSource) {
	ctx, cancel := context.WithCancel(context.Background())
	im.cancel = cancel
	im.showProgress(len(srcs))
	im.bg.Go(func() func() {
		results := im.importAll(ctx, srcs)
		return func() {
			cancel()
			im.cancel = nil
			if im.running != nil {
				im.running.Hide()
			}
			im.showSummary(results)
		}
	})
}

func (im *importer) showProgress(n int) {
	im.progress = widget.NewProgressBar()
	im.status = widget.NewLabel(fmt.Sprintf("Reading %s…", importPlural(n, "file")))
	im.cancelB = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), im.Cancel)
	body := container.NewVBox(im.status, im.progress, container.NewCenter(im.cancelB))
	im.running = dialog.NewCustomWithoutButtons("Importing", body, im.win)
	im.running.Resize(fyne.NewSize(420, im.running.MinSize().Height))
	im.running.Show()
}

// Cancel stops a running import; what was not stored yet is not stored.
func (im *importer) Cancel() {
	if im.cancel != nil {
		im.cancel()
	}
}

// importAll runs on a background goroutine.
func (im *importer) importAll(ctx context.Context, srcs []importSource) []importResult {
	results := make([]importResult, 0, len(srcs))
	for i, src := range srcs {
		if ctx.Err() != nil {
			results = append(results, importResult{Source: src, Err: ctx.Err()})
			continue
		}
		s, err := im.importOne(ctx, src, im.progressFunc(i, len(srcs), src.Label))
		results = append(results, importResult{Source: src, Summary: s, Err: err})
	}
	return results
}

// progressFunc reports progress to the bar on the UI goroutine, at most
// once per percent so a big file does not flood the UI queue.
func (im *importer) progressFunc(i, n int, label string) func(read, total int64) {
	last := -1
	return func(read, total int64) {
		frac := 0.0
		if total > 0 {
			frac = min(1, float64(read)/float64(total))
		}
		pct := int(frac * 100)
		if pct == last {
			return
		}
		last = pct
		overall := (float64(i) + frac) / float64(n)
		text := fmt.Sprintf("Reading %s: %s", label, model.FormatSize(read))
		if total > 0 && read >= total {
			text = fmt.Sprintf("Storing %s (%s)…", label, model.FormatSize(read))
		}
		im.bg.do(func() {
			im.progress.SetValue(overall)
			im.status.SetText(text)
		})
	}
}

func (im *importer) importOne(ctx context.Context, src importSource, progress func(read, total int64)) (app.ImportSummary, error) {
	opts := app.ImportOptions{Progress: progress}
	switch {
	case src.URL != "":
		return im.core.ImportURL(ctx, src.URL, opts)
	case src.Path != "":
		f, err := os.Open(src.Path)
		if err != nil {
			return app.ImportSummary{}, err
		}
		defer f.Close()
		return im.core.Import(ctx, f, opts)
	}
	return im.core.Import(ctx, strings.NewReader(src.Text), opts)
}

// showSummary tells what each source imported, or why it did not.
func (im *importer) showSummary(results []importResult) {
	im.results = results
	var lines []string
	failed := 0
	for _, r := range results {
		prefix := ""
		if len(results) > 1 {
			prefix = r.Source.Label + ": "
		}
		switch {
		case errors.Is(r.Err, context.Canceled):
			lines = append(lines, prefix+"cancelled, nothing imported")
			failed++
		case r.Err != nil && len(results) == 1:
			// The title says nothing was imported; the line says why,
			// and of what.
			lines = append(lines, r.Source.Label+": "+importErrorText(r.Err))
			failed++
		case r.Err != nil:
			lines = append(lines, prefix+"nothing imported: "+importErrorText(r.Err))
			failed++
		default:
			for _, l := range r.Summary.Lines() {
				lines = append(lines, prefix+"imported "+l)
			}
			for _, w := range r.Summary.Warnings {
				lines = append(lines, prefix+"Warning: "+w)
			}
		}
	}
	im.result = widget.NewLabel(strings.Join(lines, "\n"))
	im.result.Wrapping = fyne.TextWrapWord
	title := "Import finished"
	if failed == len(results) {
		title = "Nothing imported"
	} else if failed > 0 {
		title = fmt.Sprintf("Imported %d of %d", len(results)-failed, len(results))
	}
	d := dialog.NewCustom(title, "OK", container.NewVScroll(im.result), im.win)
	d.Resize(fyne.NewSize(560, 300))
	d.Show()
	if im.OnDone != nil {
		im.OnDone(results)
	}
}

// importErrorText is an import error in words, the place of the problem
// included (the postman package names a JSON path or a line and column).
func importErrorText(err error) string {
	msg := err.Error()
	for _, w := range []string{": invalid input", ": not found", ": too large", ": unavailable"} {
		msg = strings.ReplaceAll(msg, w, "")
	}
	return msg
}

func importPlural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
