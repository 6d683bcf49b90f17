package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/model"
)

const petstoreJSON = `{"info":{"name":"Petstore","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
"item":[{"name":"Pets","item":[{"name":"List pets","request":{"method":"GET","url":"{{base}}/pets"}}]}],
"variable":[{"key":"base","value":"https://petstore.example.com","type":"string"}]}`

// importAndWait runs an importer over h's core and waits for its summary.
func importAndWait(t *testing.T, h *harness, start func(im *importer)) *importer {
	t.Helper()
	im := newImporter(h.core, h.mw.win, &h.mw.bg)
	done := false
	im.OnDone = func([]importResult) { done = true }
	start(im)
	h.loop.until(t, "the import ends", func() bool { return done })
	return im
}

func TestPastedTextInTheImportDialogImportsAndSaysWhat(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		summary    string
		collection string
	}{
		{"a collection", petstoreJSON, `imported collection "Petstore": 1 folder, 1 request, 1 variable`, "Petstore"},
		{"a cURL command", "curl -X DELETE https://example.com/pets/1", `imported collection "cURL import": 0 folders, 1 request, 0 variables`, "cURL import"},
		{"a broken file", petstoreJSON[:120], "The pasted text: not valid JSON at line ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			im := importAndWait(t, h, func(im *importer) {
				im.ShowDialog()
				im.paste.SetText(tt.text)
				test.Tap(im.pasteBtn)
			})
			if !strings.Contains(im.result.Text, tt.summary) {
				t.Fatalf("summary %q, want it to contain %q", im.result.Text, tt.summary)
			}
			if tt.collection == "" {
				if !strings.Contains(im.result.Text, "line ") {
					t.Errorf("the error %q does not name the place", im.result.Text)
				}
				cs, _ := h.core.Collections(context.Background())
				if len(cs) != 0 {
					t.Errorf("%d collections after a failed import", len(cs))
				}
				return
			}
			h.mw.collections.Reload()
			h.loop.until(t, "the sidebar shows the collection", func() bool { _, ok := h.findNode(tt.collection); return ok })
		})
	}
}

func TestImportingAFolderImportsEveryJSONFileAndReportsEach(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.postman_collection.json":  petstoreJSON,
		"b.postman_environment.json": `{"name":"Dev","values":[{"key":"k","value":"v","enabled":true}]}`,
		"c.json":                     `{"not":"postman"}`,
		"notes.txt":                  "ignored",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t)
	im := importAndWait(t, h, func(im *importer) {
		im.ImportDropped([]fyne.URI{storage.NewFileURI(dir)})
	})
	want := []string{
		`a.postman_collection.json: imported collection "Petstore"`,
		`b.postman_environment.json: imported environment "Dev": 1 variable`,
		`c.json: nothing imported: `,
	}
	for _, w := range want {
		if !strings.Contains(im.result.Text, w) {
			t.Errorf("summary %q lacks %q", im.result.Text, w)
		}
	}
	if len(im.results) != 3 {
		t.Errorf("%d results, want 3 (the .txt is skipped)", len(im.results))
	}
}

func TestCtrlOOpensTheImportDialog(t *testing.T) {
	h := newHarness(t)
	before := len(h.mw.win.Canvas().Overlays().List())
	h.tab().editor.url.TypedShortcut(shortcutImport) // from a focused field, as a user would
	if got := len(h.mw.win.Canvas().Overlays().List()); got != before+1 {
		t.Fatalf("overlays %d, want %d: no dialog opened", got, before+1)
	}
}

func TestACurlCommandPastedIntoTheURLFieldBecomesTheRequest(t *testing.T) {
	h := newHarness(t)
	tab := h.tab()
	cmd := "curl 'https://api.example.com/pets?limit=5' \\\n  -X POST -H 'Content-Type: application/json' -H 'X-Trace: 1' \\\n  -u ann:secret --data-raw '{\"name\":\"Rex\"}'"
	clip := fyne.CurrentApp().Clipboard()
	clip.SetContent(cmd)
	test.FocusNext(h.mw.win.Canvas())
	tab.editor.url.TypedShortcut(&fyne.ShortcutPaste{Clipboard: clip})
	r := tab.Request()
	if r.Method != "POST" || r.URL != "https://api.example.com/pets?limit=5" {
		t.Fatalf("method %q, URL %q", r.Method, r.URL)
	}
	if tab.editor.method.Selected != "POST" || tab.editor.url.Text != r.URL {
		t.Errorf("the editor shows %q %q", tab.editor.method.Selected, tab.editor.url.Text)
	}
	if got := fmt.Sprint(r.Headers); !strings.Contains(got, "X-Trace") || !strings.Contains(got, "application/json") {
		t.Errorf("headers %s", got)
	}
	if r.Body.Raw != `{"name":"Rex"}` || r.Auth.Type != model.AuthBasic || r.Auth.Param("username") != "ann" {
		t.Errorf("body %+v, auth %+v", r.Body, r.Auth)
	}
	if rows := tab.editor.params.Rows(); len(rows) != 1 || rows[0].Key != "limit" {
		t.Errorf("params %+v", rows)
	}
	if !tab.dirty {
		t.Error("the tab is not marked as changed")
	}
}

func TestTypingCurlByHandIsNotConverted(t *testing.T) {
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, "curl https://example.com")
	if got := tab.editor.url.Text; got != "curl https://example.com" {
		t.Errorf("URL field %q, want the text as typed", got)
	}
}

func TestCopyAsCurlPutsTheCommandOnTheClipboard(t *testing.T) {
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, "https://example.com/ping")
	clip := fyne.CurrentApp().Clipboard()
	clip.SetContent("")
	tab.CopyAsCurl(h.core.ExportCurl)
	h.loop.until(t, "the clipboard holds the command", func() bool { return clip.Content() != "" })
	if got := clip.Content(); !strings.HasPrefix(got, "curl ") || !strings.Contains(got, "https://example.com/ping") {
		t.Errorf("clipboard %q", got)
	}
}

func TestExportDialogsSayThatSecretsAreIncluded(t *testing.T) {
	h := newHarness(t)
	im := importAndWait(t, h, func(im *importer) { im.Run([]importSource{{Label: "text", Text: petstoreJSON}}) })
	if len(im.results) != 1 || im.results[0].Err != nil {
		t.Fatalf("import: %+v", im.results)
	}
	h.mw.collections.Reload()
	h.loop.until(t, "the collection shows", func() bool { _, ok := h.findNode("Petstore"); return ok })
	n, _ := h.findNode("Petstore")
	var export *fyne.MenuItem
	for _, it := range h.mw.collections.importExportItems(string(n.ID)) {
		if it.Label == "Export…" {
			export = it
		}
	}
	if export == nil {
		t.Fatal("no Export… in the collection's menu")
	}
	export.Action()
	h.loop.until(t, "the export dialog shows the secrets notice", func() bool {
		found := false
		for _, o := range h.mw.win.Canvas().Overlays().List() {
			walkAll(o, func(x fyne.CanvasObject) {
				if l, ok := x.(*widget.Label); ok && strings.Contains(l.Text, "secret variables") {
					found = true
				}
			})
		}
		return found
	})
	if got := safeFileName(`a/b:c "d".json`); got != "a_b_c _d_.json" {
		t.Errorf("safeFileName = %q", got)
	}
}

// walkAll calls fn on o and everything inside it, widgets' renderers
// included.
func walkAll(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walkAll(c, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walkAll(c, fn)
		}
	}
}
