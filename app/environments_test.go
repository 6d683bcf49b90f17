package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

func TestEnvironments(t *testing.T) {
	ctx := context.Background()
	a, db := newApp(t, app.Options{})
	dev := must[model.Environment](t)(a.CreateEnvironment(ctx, "Dev"))
	prod := must[model.Environment](t)(a.CreateEnvironment(ctx, "Prod"))
	es := must[[]model.Environment](t)(a.Environments(ctx))
	if len(es) != 2 || es[0].ID != dev.ID || es[1].ID != prod.ID {
		t.Fatalf("environments = %+v", es)
	}
	v := must[model.Variable](t)(a.SaveVariable(ctx, model.Variable{Owner: dev.ID, Name: "host", Value: "a", Enabled: true}))
	v.Value = "b"
	must[model.Variable](t)(a.SaveVariable(ctx, v))
	must[model.Variable](t)(a.SaveVariable(ctx, model.Variable{Owner: dev.ID, Name: "token", Value: "t", Secret: true}))
	vs := must[[]model.Variable](t)(a.Variables(ctx, dev.ID))
	if len(vs) != 2 || vs[0].Value != "b" || vs[1].Name != "token" {
		t.Fatalf("variables = %+v", vs)
	}

	tests := []struct {
		name  string
		err   error
		errIs error
	}{
		{"variable with braces in its name", func() error {
			_, err := a.SaveVariable(ctx, model.Variable{Owner: dev.ID, Name: "{{x}}"})
			return err
		}(), model.ErrInvalid},
		{"variable without a name", func() error { _, err := a.SaveVariable(ctx, model.Variable{Owner: dev.ID}); return err }(), model.ErrInvalid},
		{"variable of a missing owner", func() error {
			_, err := a.SaveVariable(ctx, model.Variable{Owner: model.NewID(), Name: "x"})
			return err
		}(), model.ErrNotFound},
		{"activating a missing environment", a.SetActiveEnvironment(ctx, model.NewID()), model.ErrNotFound},
		{"empty environment name", func() error { _, err := a.CreateEnvironment(ctx, " "); return err }(), model.ErrInvalid},
		{"deleting a missing variable", a.DeleteVariable(ctx, model.NewID()), model.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.err, tt.errIs) })
	}

	if got := must[model.Environment](t)(a.EnvironmentByName(ctx, "prod")); got.ID != prod.ID {
		t.Fatalf("by name (any case) = %+v", got)
	}
	_, err := a.EnvironmentByName(ctx, "staging")
	wantErr(t, err, model.ErrNotFound)

	if err := a.SetActiveEnvironment(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if got := must[model.ID](t)(a.ActiveEnvironment(ctx)); got != dev.ID {
		t.Fatalf("active = %q", got)
	}
	if err := a.RenameEnvironment(ctx, dev.ID, "Development"); err != nil {
		t.Fatal(err)
	}
	copyID := must[model.ID](t)(a.Duplicate(ctx, model.KindEnvironment, dev.ID))
	if vs := must[[]model.Variable](t)(a.Variables(ctx, copyID)); len(vs) != 2 {
		t.Fatalf("copied environment has %d variables", len(vs))
	}
	es = must[[]model.Environment](t)(a.Environments(ctx))
	if len(es) != 3 || es[1].Name != "Development copy" {
		t.Fatalf("after duplicate: %+v", es)
	}
	if err := a.DeleteEnvironment(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if got := must[model.ID](t)(a.ActiveEnvironment(ctx)); got != "" {
		t.Fatalf("active after delete = %q", got)
	}
	if vs := must[[]model.Variable](t)(a.Variables(ctx, dev.ID)); len(vs) != 0 {
		t.Fatalf("variables left: %+v", vs)
	}
	// Deleted on another device while active here: reads as none.
	if err := a.SetActiveEnvironment(ctx, prod.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(ctx, model.DeleteOp(model.KindEnvironment, prod.ID)); err != nil {
		t.Fatal(err)
	}
	if got := must[model.ID](t)(a.ActiveEnvironment(ctx)); got != "" {
		t.Fatalf("active after a remote delete = %q", got)
	}
}

func TestHeaderPresets(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	p := must[model.HeaderPreset](t)(a.SaveHeaderPreset(ctx, model.HeaderPreset{Name: "JSON", Headers: []model.KV{{Key: "Accept", Value: "application/json"}}}))
	_, err := a.SaveHeaderPreset(ctx, model.HeaderPreset{Name: "Bad", Headers: []model.KV{{Value: "x"}}})
	wantErr(t, err, model.ErrInvalid)
	p.Headers = append(p.Headers, model.KV{Key: "Content-Type", Value: "application/json"})
	must[model.HeaderPreset](t)(a.SaveHeaderPreset(ctx, p))
	ps := must[[]model.HeaderPreset](t)(a.HeaderPresets(ctx))
	if len(ps) != 1 || len(ps[0].Headers) != 2 {
		t.Fatalf("presets = %+v", ps)
	}
	if err := a.DeleteHeaderPreset(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if ps := must[[]model.HeaderPreset](t)(a.HeaderPresets(ctx)); len(ps) != 0 {
		t.Fatalf("presets after delete = %+v", ps)
	}
}

func TestApplyPreset(t *testing.T) {
	preset := model.HeaderPreset{Name: "p", Headers: []model.KV{
		{Key: "accept", Value: "application/json"},
		{Key: "X-Trace", Value: "1"},
		{Key: "X-Off", Value: "1", Disabled: true},
	}}
	tests := []struct {
		name string
		in   []model.KV
		want []model.KV
	}{
		{"adds to an empty request", nil, []model.KV{{Key: "accept", Value: "application/json"}, {Key: "X-Trace", Value: "1"}}},
		{"replaces by name whatever the case, and enables", []model.KV{{Key: "Accept", Value: "*/*", Disabled: true}},
			[]model.KV{{Key: "Accept", Value: "application/json"}, {Key: "X-Trace", Value: "1"}}},
		{"keeps other headers", []model.KV{{Key: "A", Value: "b"}},
			[]model.KV{{Key: "A", Value: "b"}, {Key: "accept", Value: "application/json"}, {Key: "X-Trace", Value: "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := model.Request{Headers: tt.in}
			before := append([]model.KV(nil), tt.in...)
			got := app.ApplyPreset(req, preset).Headers
			if len(got) != len(tt.want) {
				t.Fatalf("headers = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key || got[i].Value != tt.want[i].Value || got[i].Disabled != tt.want[i].Disabled {
					t.Fatalf("headers = %+v, want %+v", got, tt.want)
				}
			}
			for i := range before {
				if req.Headers[i].Value != before[i].Value || req.Headers[i].Disabled != before[i].Disabled {
					t.Fatal("ApplyPreset changed its input")
				}
			}
		})
	}
}

func TestGroupByDay(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	now := time.Date(2026, 5, 10, 1, 0, 0, 0, loc) // 23:00 UTC on the 9th
	at := func(d, h int) model.HistorySummary {
		return model.HistorySummary{ID: model.NewID(), SentAt: time.Date(2026, 5, d, h, 0, 0, 0, loc).UTC()}
	}
	hs := []model.HistorySummary{at(10, 0), at(9, 23), at(9, 0), at(7, 12), at(7, 1)}
	got := app.GroupByDayAt(hs, now, loc)
	want := []struct {
		label string
		n     int
	}{{"Today", 1}, {"Yesterday", 2}, {"Thu 7 May 2026", 2}}
	if len(got) != len(want) {
		t.Fatalf("groups = %+v", got)
	}
	for i, w := range want {
		if got[i].Label != w.label || len(got[i].Entries) != w.n {
			t.Fatalf("group %d = %q with %d, want %q with %d", i, got[i].Label, len(got[i].Entries), w.label, w.n)
		}
	}
	if len(app.GroupByDayAt(nil, now, loc)) != 0 {
		t.Fatal("groups of nothing")
	}
}

func TestClearHistory(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	a, db := newApp(t, app.Options{})
	for range 3 {
		if _, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.ClearHistory(ctx); err != nil {
		t.Fatal(err)
	}
	if n := must[int](t)(db.HistoryCount(ctx)); n != 0 {
		t.Fatalf("%d entries after clear", n)
	}
}

// compactCounter is a real store that counts the App's calls of Compact.
type compactCounter struct {
	*store.DB
	calls int
}

func (c *compactCounter) Compact(ctx context.Context) (bool, error) {
	c.calls++
	return c.DB.Compact(ctx)
}

func TestDeletingHistoryAsksTheStoreToGiveItsRoomBack(t *testing.T) {
	ctx := context.Background()
	srv := echoServer(t)
	db := &compactCounter{DB: openStore(t)}
	a, err := app.New(db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo"}); err != nil {
			t.Fatal(err)
		}
	}
	if db.calls != 0 {
		t.Fatalf("Compact called %d times by sends within the history limit", db.calls)
	}
	if err := a.ClearHistory(ctx); err != nil {
		t.Fatal(err)
	}
	if db.calls != 1 {
		t.Fatalf("Compact called %d times by ClearHistory; want 1", db.calls)
	}
	// Pruning to a lower limit deletes entries too.
	for range 3 {
		if _, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo"}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := a.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.HistoryLimit = 1
	if err := a.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, model.Request{URL: srv.URL + "/echo"}); err != nil {
		t.Fatal(err)
	}
	if db.calls != 2 {
		t.Fatalf("Compact called %d times after pruning; want 2", db.calls)
	}
}
