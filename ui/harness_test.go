package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// uiLoop stands in for Fyne's event loop: background tasks queue their
// results and the test goroutine runs them, so widgets are touched from
// one goroutine only, as in the app.
type uiLoop struct{ q chan func() }

func newUILoop() *uiLoop { return &uiLoop{q: make(chan func(), 4096)} }

func (l *uiLoop) do(f func()) { l.q <- f }

// until runs queued UI work until cond holds, failing after a deadline.
func (l *uiLoop) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for drained := false; !drained; {
			select {
			case f := <-l.q:
				f()
			default:
				drained = true
			}
		}
		if cond() {
			return
		}
		select {
		case f := <-l.q:
			f()
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// settle runs queued UI work until nothing arrives for a short while.
func (l *uiLoop) settle() {
	for {
		select {
		case f := <-l.q:
			f()
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// harness is a main window over the real core and a real store in a
// temporary profile.
type harness struct {
	t    *testing.T
	core *app.App
	db   *store.DB
	loop *uiLoop
	mw   *MainWindow
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, loop: newUILoop()}
	h.mw, h.core, h.db = openWindow(t, store.Options{}, h.loop, nil)
	return h
}

// openWindow opens a real store in a temporary profile with opts, the
// real core over it and a main window over what wire makes of them (nil:
// the core itself), with loop as its event loop, settled. The window and
// the store close when the test ends; a failure to open fails t.
func openWindow(t *testing.T, opts store.Options, loop *uiLoop, wire func(*app.App, *store.DB) Core) (*MainWindow, *app.App, *store.DB) {
	t.Helper()
	fa := test.NewTempApp(t)
	db, err := store.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	core, err := app.New(db, app.Options{})
	if err != nil {
		t.Fatalf("new core: %v", err)
	}
	var c Core = core
	if wire != nil {
		c = wire(core, db)
	}
	mw := newMainWindow(fa, c, loop.do)
	t.Cleanup(func() {
		mw.win.Close()
		loop.settle()
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	loop.settle()
	return mw, core, db
}

// tab returns the selected request tab.
func (h *harness) tab() *requestTab {
	h.t.Helper()
	tab := h.mw.current()
	if tab == nil {
		h.t.Fatal("no request tab is selected")
	}
	return tab
}

// sent is one request a test server received.
type sent struct {
	Method, Path, Query string
	Header              http.Header
}

// recorder is a loopback HTTP server that records what it receives and
// answers with the status in ?status= (default 200) and a JSON body.
type recorder struct {
	*httptest.Server
	mu  sync.Mutex
	got []sent
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.got = append(r.got, sent{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone()})
	r.mu.Unlock()
	code := http.StatusOK
	switch req.URL.Query().Get("status") {
	case "301":
		code = http.StatusMovedPermanently
	case "404":
		code = http.StatusNotFound
	case "500":
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"ok":true,"items":[1,2,3],"name":"courier"}`))
}

func (r *recorder) requests() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.got...)
}

// historyHas reports whether the history list shows an entry for url.
func (h *harness) historyHas(url string) bool {
	for _, r := range h.mw.history.rows {
		if r.Day == "" && r.Entry.URL == url {
			return true
		}
	}
	return false
}

// findNode returns the collections tree node named name.
func (h *harness) findNode(name string) (colNode, bool) {
	for _, n := range h.mw.collections.data {
		if n.Name == name {
			return n, true
		}
	}
	return colNode{}, false
}

func (h *harness) activeEnvironment() model.ID {
	id, err := h.core.ActiveEnvironment(context.Background())
	if err != nil {
		h.t.Fatalf("active environment: %v", err)
	}
	return id
}

// walk calls fn on o and every object inside it.
func walk(o fyne.CanvasObject, fn func(any)) {
	fn(o)
	if c, ok := o.(*fyne.Container); ok {
		for _, child := range c.Objects {
			walk(child, fn)
		}
	}
}
