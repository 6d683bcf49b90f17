package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// historyPage is how many entries one page of the history list loads.
const historyPage = 100

// historyCore is what the History sidebar needs from the core.
type historyCore interface {
	History(ctx context.Context, q app.HistoryQuery) ([]model.HistorySummary, error)
	HistoryEntry(ctx context.Context, id model.ID) (model.HistoryEntry, error)
}

// histRow is one row of the history list: a day heading or an entry.
type histRow struct {
	Day   string
	Entry model.HistorySummary
}

// historyPanel is the History sidebar: entries newest first, grouped by
// day, searchable. It loads a page at a time as the list scrolls, so a
// history of 100,000 entries never sits in a widget whole.
type historyPanel struct {
	core    historyCore
	win     fyne.Window
	bg      *tasks
	search  *widget.Entry
	list    *widget.List
	content fyne.CanvasObject

	loaded  []model.HistorySummary
	rows    []histRow
	more    bool // another page may exist
	loading bool
	gen     int // bumped by every new query, so late pages are dropped

	// OnOpen opens an entry's request (and response) in a tab.
	OnOpen func(model.HistoryEntry)
}

func newHistoryPanel(core historyCore, win fyne.Window, bg *tasks) *historyPanel {
	p := &historyPanel{core: core, win: win, bg: bg}
	p.search = widget.NewEntry()
	p.search.SetPlaceHolder("Search history")
	p.search.OnChanged = p.onSearchChanged
	p.list = widget.NewList(p.length, p.createItem, p.updateItem)
	p.list.OnSelected = p.onSelected
	p.content = container.NewBorder(p.search, nil, nil, nil, p.list)
	return p
}

// Content is the panel's widget tree.
func (p *historyPanel) Content() fyne.CanvasObject { return p.content }

// Reload reads the first page again (after a change or a new search).
func (p *historyPanel) Reload() {
	p.gen++
	p.loadPage(p.gen, "")
}

func (p *historyPanel) loadPage(gen int, before model.ID) {
	p.loading = true
	q := app.HistoryQuery{Search: p.search.Text, Before: before, Limit: historyPage}
	p.bg.Go(func() func() {
		hs, err := p.core.History(context.Background(), q)
		return func() { p.applyPage(gen, before, hs, err) }
	})
}

func (p *historyPanel) applyPage(gen int, before model.ID, hs []model.HistorySummary, err error) {
	if gen != p.gen {
		return // a newer query replaced this one
	}
	p.loading = false
	if err != nil {
		showError(p.win, "load the history", err)
		return
	}
	if before == "" {
		p.loaded = nil
	}
	p.loaded = append(p.loaded, hs...)
	p.more = len(hs) == historyPage
	p.rows = groupRows(p.loaded, time.Now())
	p.list.Refresh()
}

// groupRows turns summaries (newest first) into day headings and entries.
func groupRows(hs []model.HistorySummary, now time.Time) []histRow {
	groups := app.GroupByDayAt(hs, now, nil)
	rows := make([]histRow, 0, len(hs)+len(groups))
	for _, g := range groups {
		rows = append(rows, histRow{Day: g.Label})
		for _, e := range g.Entries {
			rows = append(rows, histRow{Entry: e})
		}
	}
	return rows
}

func (p *historyPanel) length() int { return len(p.rows) }

func (p *historyPanel) createItem() fyne.CanvasObject { return newHistoryItem() }

// updateItem fills row id and, near the end of what is loaded, asks for
// the next page.
func (p *historyPanel) updateItem(id widget.ListItemID, o fyne.CanvasObject) {
	if id < 0 || id >= len(p.rows) {
		return
	}
	o.(*historyItem).Set(p.rows[id])
	if p.more && !p.loading && id >= len(p.rows)-20 && len(p.loaded) > 0 {
		p.loadPage(p.gen, p.loaded[len(p.loaded)-1].ID)
	}
}

func (p *historyPanel) onSearchChanged(string) { p.Reload() }

func (p *historyPanel) onSelected(id widget.ListItemID) {
	p.list.UnselectAll()
	if id < 0 || id >= len(p.rows) || p.rows[id].Day != "" {
		return
	}
	p.open(p.rows[id].Entry.ID)
}

// open reads the whole entry in the background and hands it to OnOpen.
func (p *historyPanel) open(id model.ID) {
	p.bg.Go(func() func() {
		e, err := p.core.HistoryEntry(context.Background(), id)
		return func() {
			if err != nil {
				showError(p.win, "open the history entry", err)
				return
			}
			if p.OnOpen != nil {
				p.OnOpen(e)
			}
		}
	})
}

// historyItem is one list row: a day heading, or method, status and URL.
type historyItem struct {
	widget.BaseWidget
	day    *widget.Label
	method *widget.Label
	status *widget.Label
	url    *widget.Label
	entry  *fyne.Container
}

func newHistoryItem() *historyItem {
	h := &historyItem{day: widget.NewLabel(""), method: widget.NewLabel(""), status: widget.NewLabel(""), url: widget.NewLabel("")}
	h.day.TextStyle.Bold = true
	h.method.TextStyle.Bold = true
	h.url.Truncation = fyne.TextTruncateEllipsis
	h.entry = container.NewBorder(nil, nil, container.NewHBox(h.method, h.status), nil, h.url)
	h.ExtendBaseWidget(h)
	return h
}

// Set shows row r.
func (h *historyItem) Set(r histRow) {
	if r.Day != "" {
		h.day.SetText(r.Day)
		h.day.Show()
		h.entry.Hide()
		return
	}
	h.day.Hide()
	h.entry.Show()
	e := r.Entry
	h.method.SetText(e.Method)
	h.method.Importance = methodImportance(e.Method)
	h.method.Refresh()
	if e.Error != "" {
		h.status.SetText("ERR")
		h.status.Importance = widget.DangerImportance
	} else {
		h.status.SetText(fmt.Sprint(e.Status))
		h.status.Importance = statusImportance(e.Status)
	}
	h.status.Refresh()
	h.url.SetText(e.URL)
}

// CreateRenderer stacks the two forms; one is hidden.
func (h *historyItem) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(h.day, h.entry))
}
