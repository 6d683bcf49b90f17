package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

func TestSkipAtTheWelcomePromptIsRemembered(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowWelcomeIfNeeded()
	if !h.mw.welcome.Visible() {
		t.Fatal("the welcome prompt is not shown on first launch")
	}
	test.Tap(h.mw.welcome.skip)
	if h.mw.welcome.Visible() {
		t.Fatal("the welcome prompt stays after Skip")
	}
	h.loop.until(t, "Skip is stored", func() bool { return !h.core.NeedsWelcome(context.Background()) })

	again := newMainWindow(test.NewTempApp(t), h.core, h.loop.do)
	defer again.win.Close()
	again.ShowWelcomeIfNeeded()
	if again.welcome.Visible() {
		t.Error("the welcome prompt shows again after Skip")
	}
}

// TestEscapeAtTheWelcomePromptSkips: Escape at the first-launch prompt
// does what Skip does, remembered too.
func TestEscapeAtTheWelcomePromptSkips(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowWelcomeIfNeeded()
	if !h.mw.welcome.Visible() {
		t.Fatal("the welcome prompt is not shown on first launch")
	}
	h.mw.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.mw.welcome.Visible() {
		t.Fatal("Escape left the welcome prompt open")
	}
	h.loop.until(t, "Skip is stored", func() bool { return !h.core.NeedsWelcome(context.Background()) })
}

// While a dialog (here the welcome prompt) is open, the window's shortcuts
// do nothing: Ctrl+Enter must not send the request behind it.
func TestShortcutsWaitWhileADialogIsOpen(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/things")
	h.mw.ShowWelcomeIfNeeded()
	if !h.mw.welcome.Visible() {
		t.Fatal("no welcome prompt to test with")
	}
	h.mw.TypedShortcut(shortcutSend)
	h.loop.settle()
	if n := len(srv.requests()); n != 0 || responded(tab) {
		t.Fatalf("Ctrl+Enter behind the welcome prompt sent %d requests", n)
	}
	test.Tap(h.mw.welcome.skip)
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "the request is sent once the prompt is gone", func() bool { return responded(tab) })
}

func TestCtrlEnterInTheURLFieldSendsAndShowsTheStatusAndAHistoryRow(t *testing.T) {
	srv := newRecorder(t)
	tests := []struct {
		name   string
		query  string
		status string
		colour widget.Importance
	}{
		{"2xx is green", "", "200 OK", widget.SuccessImportance},
		{"3xx is blue", "?status=301", "301 Moved Permanently", widget.HighImportance},
		{"4xx is orange", "?status=404", "404 Not Found", widget.WarningImportance},
		{"5xx is red", "?status=500", "500 Internal Server Error", widget.DangerImportance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tab := h.tab()
			url := srv.URL + "/things" + tt.query
			test.Type(tab.editor.url, url)
			tab.editor.url.TypedShortcut(shortcutSend)
			h.loop.until(t, "the response arrives", func() bool { return responded(tab) })
			if got := tab.response.StatusText(); got != tt.status {
				t.Fatalf("status shown = %q, want %q", got, tt.status)
			}
			if got := tab.response.status.Importance; got != tt.colour {
				t.Errorf("status colour = %v, want %v", got, tt.colour)
			}
			if !strings.Contains(tab.response.text.Text(), `"name": "courier"`) {
				t.Errorf("pretty body not shown; got %q", tab.response.text.Text())
			}
			h.loop.until(t, "a history row for the URL", func() bool { return h.historyHas(url) })
			if !strings.HasPrefix(tab.item.Text, "● ") {
				t.Errorf("an edited unsaved tab is titled %q, want the unsaved mark", tab.item.Text)
			}
		})
	}
}

func TestOpeningAHistoryRowOpensTheRequestWithItsResponse(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	url := srv.URL + "/again?status=404"
	test.Type(h.tab().editor.url, url)
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "a history row", func() bool { return h.historyHas(url) })

	for i, r := range h.mw.history.rows {
		if r.Day == "" {
			h.mw.history.list.Select(i)
			break
		}
	}
	h.loop.until(t, "a second tab", func() bool { return len(h.mw.open) == 2 })
	tab := h.tab()
	if tab.editor.url.Text != url {
		t.Errorf("opened URL = %q, want %q", tab.editor.url.Text, url)
	}
	if got := tab.response.StatusText(); got != "404 Not Found" {
		t.Errorf("stored status shown = %q, want 404 Not Found", got)
	}
}

func TestCtrlSSavesANewRequestIntoTheChosenCollectionThenInPlace(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	h.mw.collections.createCollection("Shop API")
	h.loop.until(t, "the collection shows", func() bool { _, ok := h.findNode("Shop API"); return ok })
	coll, _ := h.findNode("Shop API")
	h.mw.collections.createFolder(coll.ID, "Orders")
	h.loop.until(t, "the folder shows", func() bool { _, ok := h.findNode("Orders"); return ok })

	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/orders")
	tab.editor.url.TypedShortcut(shortcutSave)
	h.loop.until(t, "a dialog to pick a collection", func() bool {
		return strings.Contains(test.RenderToMarkup(h.mw.win.Canvas()), "Save request")
	})
	var dest destination
	for _, d := range h.mw.collections.data.destinations() {
		if d.Label == "Shop API / Orders" {
			dest = d
		}
	}
	if dest.Parent == "" {
		t.Fatalf("no destination Shop API / Orders in %+v", h.mw.collections.data.destinations())
	}
	tapOverlayButton(t, h.mw.win, "Cancel") // and save as its Save would:
	tab.SaveTo(dest.Collection, dest.Parent, "List orders")
	h.loop.until(t, "the request shows in the tree", func() bool { _, ok := h.findNode("List orders"); return ok })
	h.loop.until(t, "the tab is clean", func() bool { return tab.item.Text == "List orders" })
	saved, _ := h.findNode("List orders")
	if saved.Parent != dest.Parent {
		t.Errorf("saved under %s, want the folder %s", saved.Parent, dest.Parent)
	}

	test.Type(tab.editor.url, "?page=2")
	if !strings.HasPrefix(tab.item.Text, "● ") {
		t.Errorf("an edit leaves the title %q without the unsaved mark", tab.item.Text)
	}
	h.mw.TypedShortcut(shortcutSave)
	h.loop.until(t, "the edit is saved in place", func() bool {
		r, err := h.core.Request(context.Background(), saved.ID)
		return err == nil && r.URL == srv.URL+"/orders?page=2" && tab.item.Text == "List orders"
	})
}

func TestAnEnvironmentVariableInTheURLIsSentResolved(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	h.mw.envs.createEnvironment("Staging")
	h.loop.until(t, "the environment is selected in the sidebar", func() bool { return h.mw.envs.title.Text == "Staging" })
	env := h.mw.envs.data.Owner
	h.mw.envs.saveVariable(model.Variable{Owner: env, Name: "base", Value: srv.URL, Enabled: true})
	h.loop.until(t, "the variable shows", func() bool { return len(h.mw.envs.data.Vars) == 1 })
	h.loop.until(t, "the top bar lists the environment", func() bool { return len(h.mw.top.env.Options) == 2 })
	h.mw.top.SelectEnvironment("Staging")
	h.loop.until(t, "Staging is active", func() bool { return h.activeEnvironment() == env })

	tab := h.tab()
	test.Type(tab.editor.url, "{{base}}/users/7")
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "the response arrives", func() bool { return tab.response.StatusText() == "200 OK" })
	got := srv.requests()
	if len(got) != 1 || got[0].Path != "/users/7" {
		t.Fatalf("server received %+v, want one GET /users/7", got)
	}
}

// TestASendThatUsesTwinVariablesSaysSo: the send's warnings show under
// the response's status.
func TestASendThatUsesTwinVariablesSaysSo(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	ctx := context.Background()
	for _, v := range []string{"first", "second"} {
		if _, err := h.core.SaveVariable(ctx, model.Variable{Owner: model.GlobalsID, Name: "part", Value: v, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/{{part}}")
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "the response arrives", func() bool { return tab.response.StatusText() == "200 OK" })
	if got := srv.requests(); len(got) != 1 || got[0].Path != "/first" {
		t.Fatalf("server received %+v, want one GET /first", got)
	}
	if note := tab.response.note; note.Hidden || !strings.Contains(note.Text, `Warning: two enabled globals are called "part"`) {
		t.Errorf("response note %q (hidden %v), want the twins' warning", note.Text, note.Hidden)
	}
}

func TestUnresolvedVariablesAreShownBeforeSending(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/{{missing}}")
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "a dialog lists the variable", func() bool {
		return strings.Contains(test.RenderToMarkup(h.mw.win.Canvas()), "{{missing}}")
	})
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server received %d requests before the user chose Send anyway", n)
	}
	tab.startSend(tab.Request(), true)
	h.loop.until(t, "Send anyway sends", func() bool { return len(srv.requests()) == 1 })
}

func TestAHeaderPresetIsInsertedAndSent(t *testing.T) {
	srv := newRecorder(t)
	h := newHarness(t)
	h.mw.presets.savePreset(model.HeaderPreset{Name: "JSON API", Headers: []model.KV{
		{Key: "Accept", Value: "application/json"}, {Key: "X-Off", Value: "1", Disabled: true},
	}})
	h.loop.until(t, "the preset is listed", func() bool { return len(h.mw.presets.Presets()) == 1 })

	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/p")
	h.mw.applyPreset(tab, h.mw.presets.Presets()[0])
	rows := tab.editor.headers.Rows()
	if len(rows) != 1 || rows[0].Key != "Accept" || rows[0].Value != "application/json" {
		t.Fatalf("headers after the preset = %+v, want only the enabled Accept", rows)
	}
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "the request arrives", func() bool { return len(srv.requests()) == 1 })
	if got := srv.requests()[0].Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept sent = %q, want application/json", got)
	}
}

// TestTypingInTheURLKeepsTheParamEditors: a key typed in the URL updates
// the Params table in place (a new parameter adds one row) rather than
// rebuilding every row's editors, which made typing a URL with tens of
// parameters fall seconds behind the keyboard.
func TestTypingInTheURLKeepsTheParamEditors(t *testing.T) {
	h := newHarness(t)
	e := h.tab().editor
	var q []string
	for i := range 30 {
		q = append(q, fmt.Sprintf("p%d=v%d", i, i))
	}
	test.Type(e.url, "https://example.org/?"+strings.Join(q, "&"))
	first := e.params.box.Objects[0]
	test.Type(e.url, "9&extra=1")
	rows := e.params.Rows()
	if len(rows) != 31 || rows[29].Value != "v299" || rows[30].Key != "extra" || rows[30].Value != "1" {
		t.Fatalf("params after typing = %d rows, last two %+v", len(rows), rows[len(rows)-2:])
	}
	if e.params.box.Objects[0] != first {
		t.Error("the first row's editors were rebuilt for a key typed at the end")
	}
	if got := e.params.cells[29].val.Text; got != "v299" {
		t.Errorf("the edited row shows %q, want v299", got)
	}
	// Removing parameters rebuilds, and stays right.
	e.url.SetText("https://example.org/?p0=v0")
	if rows := e.params.Rows(); len(rows) != 1 || len(e.params.box.Objects) != 1 || e.params.cells[0].key.Text != "p0" {
		t.Errorf("after removing parameters: rows %+v, %d editors", rows, len(e.params.box.Objects))
	}
}

func TestParamsAndURLStayInStep(t *testing.T) {
	h := newHarness(t)
	e := h.tab().editor
	test.Type(e.url, "https://example.org/search?q=fyne&page=2")
	rows := e.params.Rows()
	if len(rows) != 2 || rows[0].Key != "q" || rows[0].Value != "fyne" || rows[1].Key != "page" || rows[1].Value != "2" {
		t.Fatalf("params from the URL = %+v", rows)
	}
	e.params.rows[1].Disabled = true
	e.params.changed()
	if e.url.Text != "https://example.org/search?q=fyne" {
		t.Errorf("URL after disabling page = %q", e.url.Text)
	}
	test.Type(e.url, "&lang=go")
	rows = e.params.Rows()
	if len(rows) != 3 || rows[1].Key != "lang" || !rows[2].Disabled {
		t.Errorf("params after typing in the URL = %+v, want q, lang and the disabled page", rows)
	}
}

func TestCtrlWClosesTheTab(t *testing.T) {
	h := newHarness(t)
	first := h.tab()
	second := h.mw.NewTab(model.Request{Name: "Second", Method: "GET"})
	second.editor.url.TypedShortcut(shortcutCloseTab)
	if len(h.mw.open) != 1 || h.mw.current() != first {
		t.Fatalf("after Ctrl+W %d tabs are open, want the first one only", len(h.mw.open))
	}
}

// overlayTexts returns the texts of the labels and buttons on the
// window's dialogs, and their buttons by label.
func overlayTexts(win fyne.Window) (string, map[string]*widget.Button) {
	var b strings.Builder
	buttons := map[string]*widget.Button{}
	for _, o := range win.Canvas().Overlays().List() {
		visit(o, func(obj fyne.CanvasObject) {
			switch x := obj.(type) {
			case *widget.Label:
				b.WriteString(x.Text + "\n")
			case *widget.Button:
				buttons[x.Text] = x
			}
		})
	}
	return b.String(), buttons
}

func TestClosingAnUnsavedTabAsksByItsName(t *testing.T) {
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, "http://127.0.0.1:1/a")
	h.mw.onTabCloseRequested(tab.item)
	text, _ := overlayTexts(h.mw.win)
	if !strings.Contains(text, "Close http://127.0.0.1:1/a without saving?") || strings.Contains(text, "●") {
		t.Errorf("the question reads %q", text)
	}
}

func TestANameDialogWaitsForAName(t *testing.T) {
	h := newHarness(t)
	var got []string
	askName(h.mw.win, "New environment", "Name", "", func(s string) { got = append(got, s) })
	_, buttons := overlayTexts(h.mw.win)
	ok := buttons["OK"]
	if ok == nil || !ok.Disabled() {
		t.Fatalf("OK with no name: %v", ok)
	}
	var entry *dialogEntry
	for _, o := range h.mw.win.Canvas().Overlays().List() {
		visit(o, func(obj fyne.CanvasObject) {
			if e, isEntry := obj.(*dialogEntry); isEntry && entry == nil {
				entry = e
			}
		})
	}
	test.Type(entry, "Staging")
	if ok.Disabled() {
		t.Fatal("OK stays disabled with a name")
	}
	test.Tap(ok)
	if len(got) != 1 || got[0] != "Staging" {
		t.Errorf("names given %q", got)
	}
}

func TestTheTreeRefreshesWhenTheStoreChangesElsewhere(t *testing.T) {
	h := newHarness(t)
	h.mw.ShowPanel("Collections")
	done := make(chan error, 1)
	go func() { // as sync would, from another goroutine
		_, err := h.core.CreateCollection(context.Background(), "From another device")
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("create collection: %v", err)
	}
	h.loop.until(t, "the tree shows the new collection", func() bool { _, ok := h.findNode("From another device"); return ok })
}

func TestSettingsApplyTheThemeAtOnceAndAreStored(t *testing.T) {
	h := newHarness(t)
	s, err := h.core.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := newSettingsForm(h.mw.win, s)
	f.theme.SetSelected("Dark")
	f.timeout.SetText("12.5")
	h.mw.saveSettings(f)
	if vt, ok := h.mw.app.Settings().Theme().(variantTheme); !ok || vt.variant != theme.VariantDark {
		t.Errorf("theme after choosing Dark = %#v", h.mw.app.Settings().Theme())
	}
	h.loop.until(t, "settings stored", func() bool {
		got, err := h.core.Settings(context.Background())
		return err == nil && got.Theme == app.ThemeDark && got.Timeout.Seconds() == 12.5
	})
}

func TestSettingsRejectABadNumberWithASentence(t *testing.T) {
	f := newSettingsForm(test.NewWindow(nil), app.DefaultSettings())
	f.historyLimit.SetText("lots")
	if _, err := f.Settings(); err == nil || !strings.Contains(err.Error(), "history limit") {
		t.Errorf("Settings() error = %v, want one naming the history limit", err)
	}
}

// TestSettingsFieldsSayWhatIsWrongBeforeSave: a bad number or proxy is
// told beneath its field (Save waits for it), so no edit is lost to a
// dialog that closed on it.
func TestSettingsFieldsSayWhatIsWrongBeforeSave(t *testing.T) {
	f := newSettingsForm(test.NewWindow(nil), app.DefaultSettings())
	for _, tt := range []struct {
		e    *dialogEntry
		bad  []string
		good string
	}{
		{f.timeout, []string{"abc", "0", "-1", "100000000"}, "12.5"},
		{f.maxRedirects, []string{"x", "-1", "101"}, "0"},
		{f.historyLimit, []string{"lots", "0", "100001"}, "10000"},
		{f.proxy, []string{"ftp://proxy:21", "http://"}, "socks5://127.0.0.1:1080"},
	} {
		for _, v := range tt.bad {
			tt.e.SetText(v)
			if tt.e.Validate() == nil {
				t.Errorf("%q passes", v)
			}
		}
		tt.e.SetText(tt.good)
		if err := tt.e.Validate(); err != nil {
			t.Errorf("%q refused: %v", tt.good, err)
		}
	}
	if _, err := f.Settings(); err != nil {
		t.Errorf("Settings() with every field right = %v", err)
	}
}

// TestSettingsStayOpenAfterAnErrorWithTheEdits: a problem only Save can
// find (a CA file without certificates) is told, and the form comes back
// with what was typed.
func TestSettingsStayOpenAfterAnErrorWithTheEdits(t *testing.T) {
	h := newHarness(t)
	bad := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	onTop := func(fn func(fyne.CanvasObject)) {
		for _, o := range h.mw.win.Canvas().Overlays().List() {
			visit(o, fn)
		}
	}
	h.mw.showSettings()
	var form *widget.Form
	h.loop.until(t, "the settings dialog", func() bool {
		onTop(func(o fyne.CanvasObject) {
			if f, ok := o.(*widget.Form); ok {
				form = f
			}
		})
		return form != nil
	})
	var proxy, ca *dialogEntry
	for _, it := range form.Items {
		switch it.Text {
		case "Proxy":
			proxy = it.Widget.(*dialogEntry)
		case "CA certificates":
			visit(it.Widget, func(o fyne.CanvasObject) {
				if e, ok := o.(*dialogEntry); ok && ca == nil {
					ca = e
				}
			})
		}
	}
	proxy.SetText("http://proxy.example:3128")
	ca.SetText(bad)
	tap := func(label string) {
		var b *widget.Button
		onTop(func(o fyne.CanvasObject) {
			if x, ok := o.(*widget.Button); ok && x.Text == label && b == nil {
				b = x
			}
		})
		if b == nil {
			t.Fatalf("no %s button", label)
		}
		test.Tap(b)
	}
	tap("Save")
	shows := func(s string) bool {
		found := false
		onTop(func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widget.Label:
				found = found || strings.Contains(x.Text, s)
			case *dialogEntry:
				found = found || strings.Contains(x.Text, s)
			}
		})
		return found
	}
	h.loop.until(t, "the error", func() bool { return shows("Could not save the settings. The CA certificates") })
	tap("OK")
	h.loop.until(t, "the form again, with the edits", func() bool { return shows("http://proxy.example:3128") })
}

func TestSettingsCheckTheCAFileBeforeSaving(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newSettingsForm(test.NewWindow(nil), app.DefaultSettings())
	f.caFile.SetText(bad)
	if _, err := f.Settings(); err == nil || !strings.Contains(err.Error(), "CA certificates") || !strings.Contains(err.Error(), bad) {
		t.Errorf("Settings() with a file of no certificate = %v, want a sentence naming it", err)
	}
	f.caFile.SetText("  ")
	if s, err := f.Settings(); err != nil || s.CAFile != "" {
		t.Errorf("Settings() without a CA file = %+v, %v", s, err)
	}
}

// responded reports whether tab shows the outcome of a send.
func responded(tab *requestTab) bool {
	s := tab.response.StatusText()
	return !tab.Sending() && s != "No response yet" && s != "Sending…"
}

func TestHiddenPanelsLoadWhenFirstShown(t *testing.T) {
	h := newHarness(t)
	if _, err := h.core.CreateCollection(context.Background(), "Later"); err != nil {
		t.Fatal(err)
	}
	h.loop.settle()
	mw := newMainWindow(test.NewTempApp(t), h.core, h.loop.do)
	defer mw.win.Close()
	h.loop.settle()
	if len(mw.collections.data[""].Children) != 0 {
		t.Error("the hidden Collections panel loaded at start")
	}
	mw.ShowPanel("Collections")
	h.loop.until(t, "the panel loads when shown", func() bool { return len(mw.collections.data[""].Children) == 1 })
}

// TestEscapeClosesTheTopDialog: Escape leaves a dialog as its Cancel,
// Close or No would, and never picks an action.
func TestEscapeClosesTheTopDialog(t *testing.T) {
	h := newHarness(t)
	escape := func() { h.mw.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape}) }
	open := func() int {
		n := 0
		for _, o := range h.mw.win.Canvas().Overlays().List() {
			if o.Visible() {
				n++
			}
		}
		return n
	}
	h.mw.showSettings()
	h.loop.until(t, "the settings dialog", func() bool { return open() == 1 })
	escape()
	if open() != 0 {
		t.Error("Escape left the settings dialog open")
	}
	answered := ""
	dialog.ShowConfirm("Delete", "Delete it?", func(ok bool) { answered = fmt.Sprint(ok) }, h.mw.win)
	escape()
	if open() != 0 || answered != "false" {
		t.Errorf("Escape on a confirmation: %d open, answered %q; want closed, answered no", open(), answered)
	}
	dialog.ShowInformation("Courier", "Something to know.", h.mw.win)
	escape()
	if open() != 0 {
		t.Error("Escape left an information dialog open")
	}
	escape() // nothing open: nothing happens
}
