package ui

import (
	"context"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// Core is what the main window needs from the application core; *app.App
// satisfies it. Each screen declares the part it uses.
type Core interface {
	collectionsCore
	historyCore
	environmentsCore
	presetsCore
	tabCore
	topCore
	settingsCore
	welcomeCore
	Subscribe(fn func(app.Changes)) (cancel func())
}

var _ Core = (*app.App)(nil)

// The window's shortcuts.
var (
	shortcutSend     = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSendPad  = &desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSave     = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutCloseTab = &desktop.CustomShortcut{KeyName: fyne.KeyW, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutNewTab   = &desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault}
)

// MainWindow is Courier's main window: the top bar, the sidebar (History,
// Collections, Environments, Header presets) and the request tabs.
type MainWindow struct {
	app         fyne.App
	win         fyne.Window
	core        Core
	bg          tasks
	keys        fyne.ShortcutHandler
	top         *topBar
	history     *historyPanel
	collections *collectionsPanel
	envs        *environmentsPanel
	presets     *presetsPanel
	welcome     *welcomePrompt
	sidebar     *container.AppTabs
	// started holds the sidebar panels that were shown or whose records
	// changed: the others load nothing until then, which keeps start-up
	// short.
	started     map[reloader]bool
	tabs        *container.DocTabs
	open        []*requestTab
	unsubscribe func()
}

// NewMainWindow builds the main window of fyneApp over core, loads its
// lists in the background and subscribes to changes of the store. It does
// not show the window.
func NewMainWindow(fyneApp fyne.App, core Core) *MainWindow {
	return newMainWindow(fyneApp, core, fyne.Do)
}

// newMainWindow is NewMainWindow with do running functions on the UI
// goroutine.
func newMainWindow(fyneApp fyne.App, core Core, do func(func())) *MainWindow {
	mw := newWindowShell(fyneApp, core, do)
	mw.build()
	return mw
}

// newWindowShell makes the empty window; build fills it. Run shows the
// shell first and builds once it is on screen, so the window appears as
// fast as any Fyne window and the widgets follow in the next frames.
func newWindowShell(fyneApp fyne.App, core Core, do func(func())) *MainWindow {
	mw := &MainWindow{app: fyneApp, core: core, win: fyneApp.NewWindow("Courier"), bg: tasks{do: do}}
	mw.win.Resize(fyne.NewSize(1280, 800))
	return mw
}

// build makes the widgets, loads the visible lists in the background and
// subscribes to changes of the store.
func (mw *MainWindow) build() {
	core := mw.core
	mw.top = newTopBar(core, mw.win, &mw.bg)
	mw.top.OnSettings = mw.showSettings
	mw.history = newHistoryPanel(core, mw.win, &mw.bg)
	mw.history.OnOpen = mw.openHistory
	mw.collections = newCollectionsPanel(core, mw.win, &mw.bg)
	mw.collections.OnOpen = mw.openRequest
	mw.envs = newEnvironmentsPanel(core, mw.win, &mw.bg)
	mw.presets = newPresetsPanel(core, mw.win, &mw.bg)
	mw.welcome = newWelcomePrompt(core, mw.win, &mw.bg)
	mw.sidebar = container.NewAppTabs(
		container.NewTabItemWithIcon("History", theme.HistoryIcon(), mw.history.Content()),
		container.NewTabItemWithIcon("Collections", theme.FolderIcon(), mw.collections.Content()),
		container.NewTabItemWithIcon("Environments", theme.ComputerIcon(), mw.envs.Content()),
		container.NewTabItemWithIcon("Presets", theme.ListIcon(), mw.presets.Content()),
	)
	// Tabs down the side: four names across would not fit a sidebar.
	mw.sidebar.SetTabLocation(container.TabLocationLeading)
	mw.started = map[reloader]bool{mw.history: true}
	mw.sidebar.OnSelected = mw.onSidebarSelected
	mw.tabs = container.NewDocTabs()
	mw.tabs.CreateTab = mw.newEmptyTabItem
	mw.tabs.CloseIntercept = mw.onTabCloseRequested
	split := container.NewHSplit(mw.sidebar, mw.tabs)
	split.Offset = 0.33
	mw.win.SetContent(container.NewBorder(container.NewVBox(mw.top.Content(), widget.NewSeparator()), nil, nil, nil, split))
	mw.addShortcuts()
	escapeClosesDialogs(mw.win) // dialogs.go
	mw.addImportExport()        // import.go: Ctrl+O, the Import button, dropped files
	mw.NewTab(model.Request{Method: "GET"})
	mw.unsubscribe = core.Subscribe(func(ch app.Changes) { mw.bg.do(func() { mw.onStoreChanged(ch) }) })
	mw.win.SetOnClosed(mw.onClosed)
	mw.reloadAll()
}

// Window returns the Fyne window.
func (mw *MainWindow) Window() fyne.Window { return mw.win }

// ShowWelcomeIfNeeded shows the first-launch prompt unless it was skipped.
func (mw *MainWindow) ShowWelcomeIfNeeded() { mw.welcome.ShowIfNeeded() }

// ApplySettings applies the stored theme. The system theme is Fyne's
// default, so it is left alone: setting a theme re-lays out every widget.
func (mw *MainWindow) ApplySettings() {
	s, err := mw.core.Settings(context.Background())
	if err != nil {
		slog.Warn("read settings", "err", err)
		return
	}
	if s.Theme != app.ThemeSystem {
		mw.applyTheme(s.Theme)
	}
}

// reloader is a view that reads its data again.
type reloader interface{ Reload() }

func (mw *MainWindow) reloadAll() {
	mw.top.Reload()
	for p := range mw.started {
		p.Reload()
	}
}

// onSidebarSelected loads a panel the first time it is shown.
func (mw *MainWindow) onSidebarSelected(item *container.TabItem) {
	panels := map[fyne.CanvasObject]reloader{
		mw.history.Content(): mw.history, mw.collections.Content(): mw.collections,
		mw.envs.Content(): mw.envs, mw.presets.Content(): mw.presets,
	}
	if p, ok := panels[item.Content]; ok && !mw.started[p] {
		mw.started[p] = true
		p.Reload()
	}
}

// ShowPanel selects the sidebar panel named name (History, Collections,
// Environments or Presets).
func (mw *MainWindow) ShowPanel(name string) {
	for _, it := range mw.sidebar.Items {
		if it.Text == name {
			mw.sidebar.Select(it)
		}
	}
}

// onStoreChanged refreshes only the views whose records changed.
func (mw *MainWindow) onStoreChanged(ch app.Changes) {
	reload := func(p reloader, kinds ...model.Kind) {
		for _, k := range kinds {
			if ch.Has(k) {
				mw.started[p] = true
				p.Reload()
				return
			}
		}
	}
	reload(mw.history, model.KindHistory)
	reload(mw.collections, model.KindCollection, model.KindFolder, model.KindRequest)
	reload(mw.envs, model.KindEnvironment, model.KindVariable)
	reload(mw.presets, model.KindHeaderPreset)
	if ch.Has(model.KindEnvironment) {
		mw.top.Reload()
	}
}

func (mw *MainWindow) onClosed() {
	if mw.unsubscribe != nil {
		mw.unsubscribe()
	}
	for _, t := range mw.open {
		t.Cancel()
	}
}

func (mw *MainWindow) addShortcuts() {
	mw.keys.AddShortcut(shortcutSend, func(fyne.Shortcut) { mw.onSendShortcut() })
	mw.keys.AddShortcut(shortcutSendPad, func(fyne.Shortcut) { mw.onSendShortcut() })
	mw.keys.AddShortcut(shortcutSave, func(fyne.Shortcut) { mw.onSaveShortcut() })
	mw.keys.AddShortcut(shortcutCloseTab, func(fyne.Shortcut) { mw.onCloseTabShortcut() })
	mw.keys.AddShortcut(shortcutNewTab, func(fyne.Shortcut) { mw.NewTab(model.Request{Method: "GET"}) })
	for _, s := range []fyne.Shortcut{shortcutSend, shortcutSendPad, shortcutSave, shortcutCloseTab, shortcutNewTab} {
		mw.win.Canvas().AddShortcut(s, mw.TypedShortcut)
	}
}

// TypedShortcut runs one of the window's shortcuts (focused fields pass
// theirs here), unless a dialog or menu is open: Ctrl+Enter in the
// welcome prompt or a form must not send the request behind it.
func (mw *MainWindow) TypedShortcut(s fyne.Shortcut) {
	if mw.win.Canvas().Overlays().Top() != nil {
		return
	}
	mw.keys.TypedShortcut(s)
}

func (mw *MainWindow) onSendShortcut() {
	if t := mw.current(); t != nil {
		t.Send()
	}
}

func (mw *MainWindow) onSaveShortcut() {
	if t := mw.current(); t != nil {
		t.Save()
	}
}

func (mw *MainWindow) onCloseTabShortcut() {
	if t := mw.current(); t != nil {
		mw.onTabCloseRequested(t.item)
	}
}

// current returns the selected request tab, or nil.
func (mw *MainWindow) current() *requestTab {
	sel := mw.tabs.Selected()
	for _, t := range mw.open {
		if t.item == sel {
			return t
		}
	}
	return nil
}

// NewTab opens req in a new tab and selects it.
func (mw *MainWindow) NewTab(req model.Request) *requestTab {
	t := mw.newRequestTab(req)
	mw.tabs.Append(t.item)
	mw.tabs.Select(t.item)
	return t
}

func (mw *MainWindow) newRequestTab(req model.Request) *requestTab {
	t := newRequestTab(mw.core, mw.win, &mw.bg, mw, req)
	t.OnTitle = func(*requestTab) { mw.tabs.Refresh() }
	t.OnSaveAs = mw.showSaveAs
	t.editor.OnPresets = func(anchor fyne.CanvasObject) { mw.showPresetsMenu(t, anchor) }
	mw.open = append(mw.open, t)
	return t
}

// newEmptyTabItem backs the tab bar's + button.
func (mw *MainWindow) newEmptyTabItem() *container.TabItem {
	return mw.newRequestTab(model.Request{Method: "GET"}).item
}

// openRequest selects the tab of a saved request, or opens it.
func (mw *MainWindow) openRequest(req model.Request) {
	for _, t := range mw.open {
		if req.ID != "" && t.editor.req.ID == req.ID {
			mw.tabs.Select(t.item)
			return
		}
	}
	mw.NewTab(req)
}

// openHistory opens a history entry as a new, unsaved request with its
// stored response.
func (mw *MainWindow) openHistory(e model.HistoryEntry) {
	req := e.Request.Request
	req.ID = ""
	t := mw.NewTab(req)
	t.ShowHistory(e)
}

// onTabCloseRequested closes a tab, asking first when it has unsaved
// changes.
func (mw *MainWindow) onTabCloseRequested(item *container.TabItem) {
	for _, t := range mw.open {
		if t.item != item {
			continue
		}
		if !t.dirty {
			mw.closeTab(t)
			return
		}
		dialog.ShowConfirm("Unsaved changes", "Close "+t.name()+" without saving?", func(ok bool) {
			if ok {
				mw.closeTab(t)
			}
		}, mw.win)
		return
	}
}

func (mw *MainWindow) closeTab(t *requestTab) {
	t.Cancel()
	for i, o := range mw.open {
		if o == t {
			mw.open = append(mw.open[:i], mw.open[i+1:]...)
			break
		}
	}
	mw.tabs.Remove(t.item)
	if len(mw.open) == 0 {
		mw.NewTab(model.Request{Method: "GET"})
	}
}

// showPresetsMenu reads the header presets and lists them; choosing one
// inserts its headers into the tab's request.
func (mw *MainWindow) showPresetsMenu(t *requestTab, anchor fyne.CanvasObject) {
	mw.bg.Go(func() func() {
		ps, err := mw.core.HeaderPresets(context.Background())
		return func() {
			if err != nil {
				showError(mw.win, "read the header presets", err)
				return
			}
			mw.popUpPresets(t, anchor, ps)
		}
	})
}

func (mw *MainWindow) popUpPresets(t *requestTab, anchor fyne.CanvasObject, ps []model.HeaderPreset) {
	var items []*fyne.MenuItem
	for _, p := range ps {
		items = append(items, fyne.NewMenuItem(p.Name, func() { mw.applyPreset(t, p) }))
	}
	if len(items) == 0 {
		none := fyne.NewMenuItem("No header presets yet: create one in the sidebar", nil)
		none.Disabled = true
		items = append(items, none)
	}
	c := mw.win.Canvas()
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(anchor).Add(fyne.NewPos(0, anchor.Size().Height))
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), c, pos)
}

// applyPreset inserts the preset's enabled headers into t's request.
func (mw *MainWindow) applyPreset(t *requestTab, p model.HeaderPreset) {
	req := app.ApplyPreset(t.Request(), p)
	t.editor.headers.SetRows(req.Headers)
	t.onEdited()
}
