package ui

import (
	"context"
	"fmt"
	"strings"
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
	slow    string // a search answered late
	answers int
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
	if q.Search == f.slow {
		time.Sleep(100 * time.Millisecond) // this answer arrives after a later query's
	}
	var out []model.HistorySummary
	for i := start; i >= 0 && len(out) < q.Limit; i-- {
		if !strings.Contains(fmt.Sprint(i), q.Search) {
			continue
		}
		out = append(out, model.HistorySummary{ID: f.id(i), SentAt: f.now.Add(-time.Duration(f.n-i) * time.Hour), Method: "GET", URL: fmt.Sprintf("https://example.org/%d", i), Status: 200})
	}
	f.mu.Lock()
	f.answers++
	f.mu.Unlock()
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

func TestHistorySearchShowsTheLatestQueryEvenWhenAnEarlierOneAnswersLate(t *testing.T) {
	test.NewTempApp(t)
	loop := newUILoop()
	core := &fakeHistory{n: 5000, now: time.Now(), slow: "1"}
	win := test.NewWindow(nil)
	defer win.Close()
	p := newHistoryPanel(core, win, &tasks{do: loop.do})
	test.Type(p.search, "12") // queries "1", then "12"
	loop.until(t, "both answers arrived", func() bool {
		core.mu.Lock()
		defer core.mu.Unlock()
		return core.answers == 2
	})
	loop.settle()
	if len(p.loaded) == 0 {
		t.Fatal("no entries shown for the search")
	}
	for _, e := range p.loaded {
		if !strings.Contains(e.URL, "12") {
			t.Fatalf("entry %s shown for the search 12: the late answer to 1 replaced it", e.URL)
		}
	}
}

// A history entry whose request the history cut says so when opened:
// sending it again sends only what is left.
func TestOpeningACutHistoryRequestWarns(t *testing.T) {
	h := newHarness(t)
	for _, cut := range []bool{false, true} {
		h.mw.openHistory(model.HistoryEntry{
			ID:       model.NewID(),
			Request:  model.HistoryRequest{Request: model.Request{Method: "POST", URL: "https://a.example/", Body: model.Body{Mode: model.BodyRaw, Raw: "part"}}, Truncated: cut},
			Response: &model.Response{Status: 200},
		})
		note := h.tab().response.note.Text
		if got := strings.Contains(note, truncatedRequestWarning); got != cut {
			t.Errorf("request cut %v: the note %q warns %v", cut, note, got)
		}
	}
}
