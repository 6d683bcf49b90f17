package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// fakeHistory serves n generated entries, newest first, and counts what
// was asked for.
type fakeHistory struct {
	n       int
	now     time.Time
	mu      sync.Mutex
	queries []app.HistoryQuery
}

func (f *fakeHistory) id(i int) model.ID { return model.ID(fmt.Sprintf("%08d", i)) }

func (f *fakeHistory) History(_ context.Context, q app.HistoryQuery) ([]model.HistorySummary, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	start := f.n - 1
	if q.Before != "" {
		fmt.Sscanf(string(q.Before), "%d", &start)
		start--
	}
	var out []model.HistorySummary
	for i := start; i >= 0 && len(out) < q.Limit; i-- {
		out = append(out, model.HistorySummary{ID: f.id(i), SentAt: f.now.Add(-time.Duration(f.n-i) * time.Hour), Method: "GET", URL: fmt.Sprintf("https://example.org/%d", i), Status: 200})
	}
	return out, nil
}

func (f *fakeHistory) HistoryEntry(context.Context, model.ID) (model.HistoryEntry, error) {
	return model.HistoryEntry{}, model.ErrNotFound
}

func TestHistoryLoadsAPageAtATimeAsTheListScrolls(t *testing.T) {
	test.NewTempApp(t)
	loop := newUILoop()
	core := &fakeHistory{n: 100_000, now: time.Now()}
	win := test.NewWindow(nil)
	defer win.Close()
	p := newHistoryPanel(core, win, &tasks{do: loop.do})
	p.Reload()
	loop.until(t, "the first page", func() bool { return len(p.loaded) == historyPage })
	if len(p.rows) > historyPage+10 {
		t.Errorf("%d rows after the first page; want entries plus a few day headings", len(p.rows))
	}
	if p.rows[0].Day == "" || p.rows[1].Entry.ID != core.id(99_999) {
		t.Errorf("rows start %+v %+v; want a day heading then the newest entry", p.rows[0], p.rows[1])
	}

	p.updateItem(len(p.rows)-1, newHistoryItem()) // scrolled to the end
	loop.until(t, "the second page", func() bool { return len(p.loaded) == 2*historyPage })
	if got := p.loaded[historyPage].ID; got != core.id(99_899) {
		t.Errorf("the second page starts at %s, want the entry after the first page", got)
	}
	if len(core.queries) != 2 {
		t.Errorf("%d queries for two pages", len(core.queries))
	}
}

func TestHistorySearchReplacesTheListAndDropsLatePages(t *testing.T) {
	test.NewTempApp(t)
	loop := newUILoop()
	core := &fakeHistory{n: 500, now: time.Now()}
	win := test.NewWindow(nil)
	defer win.Close()
	p := newHistoryPanel(core, win, &tasks{do: loop.do})
	p.Reload()
	test.Type(p.search, "ex")
	loop.until(t, "the search result", func() bool { return len(p.loaded) == historyPage && !p.loading })
	loop.settle()
	core.mu.Lock()
	last := core.queries[len(core.queries)-1]
	core.mu.Unlock()
	if last.Search != "ex" || last.Before != "" {
		t.Errorf("last query = %+v, want a first page searching ex", last)
	}
	if len(p.loaded) != historyPage {
		t.Errorf("%d entries loaded; earlier queries' pages were appended", len(p.loaded))
	}
}
