package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// fakeSharer is a LinkSharer in memory.
type fakeSharer struct {
	mu       sync.Mutex
	findings []app.Finding
	links    []app.Link
	ttls     []time.Duration
	drafts   int
}

func (f *fakeSharer) Draft(_ context.Context, id model.ID) (app.LinkDraft, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drafts++
	return app.LinkDraft{Collection: id, Name: "Pets", JSON: []byte(`{}`), Findings: f.findings}, nil
}

func (f *fakeSharer) draftCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drafts
}

func (f *fakeSharer) Create(_ context.Context, d app.LinkDraft, ttl time.Duration) (app.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := app.Link{ID: fmt.Sprint("L", len(f.links)+1), Name: d.Name, Collection: d.Collection, URL: "https://links.test/c/tok", UpdatedAt: time.Now()}
	f.links = append(f.links, l)
	f.ttls = append(f.ttls, ttl)
	return l, nil
}

func (f *fakeSharer) DraftUpdate(ctx context.Context, id string) (app.LinkDraft, error) {
	return f.Draft(ctx, "C1")
}

func (f *fakeSharer) Update(_ context.Context, id string, d app.LinkDraft) (app.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[0], nil
}

func (f *fakeSharer) SetExpiry(_ context.Context, id string, ttl time.Duration) (app.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ttls = append(f.ttls, ttl)
	f.links[0].ExpiresAt = time.Time{}
	if ttl > 0 {
		f.links[0].ExpiresAt = time.Now().Add(ttl)
	}
	return f.links[0], nil
}

func (f *fakeSharer) Revoke(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = nil
	return nil
}

func (f *fakeSharer) List(context.Context) ([]app.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]app.Link(nil), f.links...), nil
}

// tapOverlayButton taps the button labelled text in the window's top
// overlay (a dialog).
func tapOverlayButton(t *testing.T, win fyne.Window, text string) {
	t.Helper()
	var found *widget.Button
	for _, o := range win.Canvas().Overlays().List() {
		walkAll(o, func(x fyne.CanvasObject) {
			if b, ok := x.(*widget.Button); ok && b.Text == text {
				found = b
			}
		})
	}
	if found == nil {
		t.Fatalf("no %q button in a dialog", text)
	}
	test.Tap(found)
}

func TestShareDialogCreatesCopiesExpiresAndRevokes(t *testing.T) {
	fa := test.NewTempApp(t)
	win := fa.NewWindow("test")
	win.Resize(fyne.NewSize(900, 700))
	loop := newUILoop()
	sharer := &fakeSharer{}
	d := newShareDialog(win, &tasks{do: loop.do}, sharer, model.Collection{ID: "C1", Name: "Pets"})
	d.Show()
	loop.settle()
	if d.create.Disabled() || !d.copyURL.Disabled() || !d.revoke.Disabled() {
		t.Fatal("a collection without a link offers only Create")
	}

	d.expiry.SetSelectedIndex(3) // 7 days, before creating: no call
	test.Tap(d.create)
	loop.until(t, "the link is shown", func() bool { return d.url.Text == "https://links.test/c/tok" })
	sharer.mu.Lock()
	ttls := append([]time.Duration(nil), sharer.ttls...)
	sharer.mu.Unlock()
	if len(ttls) != 1 || ttls[0] != 7*24*time.Hour || !d.create.Disabled() || d.revoke.Disabled() {
		t.Fatalf("created with ttls %v; create disabled %v", ttls, d.create.Disabled())
	}
	test.Tap(d.copyURL)
	if got := fyne.CurrentApp().Clipboard().Content(); got != "https://links.test/c/tok" {
		t.Fatalf("clipboard = %q", got)
	}
	d.expiry.SetSelectedIndex(0)
	loop.until(t, "the expiry is removed", func() bool { return strings.Contains(d.status.Text, "never expires") })

	test.Tap(d.revoke)
	tapOverlayButton(t, win, "Yes")
	loop.until(t, "the link is revoked", func() bool { return d.link == nil && !d.create.Disabled() })
	if l, _ := sharer.List(context.Background()); len(l) != 0 {
		t.Fatal("Revoke was not called")
	}
}

func TestShareDialogAsksBeforePublishingCredentials(t *testing.T) {
	fa := test.NewTempApp(t)
	win := fa.NewWindow("test")
	win.Resize(fyne.NewSize(900, 700))
	loop := newUILoop()
	sharer := &fakeSharer{findings: []app.Finding{{Where: `request "Login" › header Authorization`, What: "Authorization header", Preview: "Bear…"}}}
	d := newShareDialog(win, &tasks{do: loop.do}, sharer, model.Collection{ID: "C1", Name: "Pets"})
	d.Show()
	loop.settle()

	test.Tap(d.create)
	loop.until(t, "the findings are shown", func() bool {
		shown := false
		for _, o := range win.Canvas().Overlays().List() {
			walkAll(o, func(x fyne.CanvasObject) {
				if l, ok := x.(*widget.Label); ok && strings.Contains(l.Text, "header Authorization") {
					shown = true
				}
			})
		}
		return shown
	})
	tapOverlayButton(t, win, "Cancel")
	loop.settle()
	if l, _ := sharer.List(context.Background()); len(l) != 0 || d.create.Disabled() {
		t.Fatal("cancelling published, or left Create disabled")
	}
	test.Tap(d.create)
	loop.until(t, "the question is asked again", func() bool { return sharer.draftCount() == 2 })
	loop.settle()
	tapOverlayButton(t, win, "Publish anyway")
	loop.until(t, "the link is published", func() bool { return d.url.Text != "" })
}

func TestLinksDialogListsAndRevokes(t *testing.T) {
	fa := test.NewTempApp(t)
	win := fa.NewWindow("test")
	win.Resize(fyne.NewSize(900, 700))
	loop := newUILoop()
	sharer := &fakeSharer{links: []app.Link{
		{ID: "L1", Name: "Pets", URL: "https://links.test/c/1", Size: 2048, ExpiresAt: time.Now().Add(-time.Hour)},
		{ID: "L2", Name: "Store", Size: 10},
	}}
	d := newLinksDialog(win, &tasks{do: loop.do}, sharer)
	d.Show()
	loop.until(t, "the links are listed", func() bool { return len(d.rows.Objects) == 2 })
	var texts []string
	walkAll(d.rows, func(x fyne.CanvasObject) {
		if l, ok := x.(*widget.Label); ok {
			texts = append(texts, l.Text)
		}
	})
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Pets", "expired", "https://links.test/c/1", "Store", "shown on the device that created it"} {
		if !strings.Contains(all, want) {
			t.Errorf("the list lacks %q:\n%s", want, all)
		}
	}
	var revoke *widget.Button
	walkAll(d.rows.Objects[0], func(x fyne.CanvasObject) {
		if b, ok := x.(*widget.Button); ok && b.Text == "Revoke…" {
			revoke = b
		}
	})
	test.Tap(revoke)
	tapOverlayButton(t, win, "Yes")
	loop.until(t, "the list is empty", func() bool {
		return len(d.rows.Objects) == 1 && strings.Contains(d.rows.Objects[0].(*widget.Label).Text, "No links yet")
	})
}
