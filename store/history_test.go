package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

func ids(s []model.HistorySummary) []model.ID {
	out := make([]model.ID, len(s))
	for i, e := range s {
		out[i] = e.ID
	}
	return out
}

func equalIDs(a, b []model.ID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// addHistory saves n entries (oldest first) and returns their IDs.
func addHistory(t *testing.T, db interface {
	Apply(context.Context, ...model.Op) error
}, urls []string) []model.ID {
	t.Helper()
	var out []model.ID
	var ops []model.Op
	for _, u := range urls {
		id := model.NewID()
		out = append(out, id)
		ops = append(ops, historyOp(t, id, "GET", u))
	}
	must(t, db.Apply(context.Background(), ops...))
	return out
}

func reversed(s []model.ID) []model.ID {
	out := make([]model.ID, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func TestHistoryPagesNewestFirst(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	all := addHistory(t, db, []string{"https://a/1", "https://a/2", "https://a/3", "https://a/4", "https://a/5"})
	newest := reversed(all)

	for _, tc := range []struct {
		name string
		q    app.HistoryQuery
		want []model.ID
	}{
		{"first page", app.HistoryQuery{Limit: 2}, newest[:2]},
		{"next page", app.HistoryQuery{Limit: 2, Before: newest[1]}, newest[2:4]},
		{"last page", app.HistoryQuery{Limit: 2, Before: newest[3]}, newest[4:]},
		{"before the oldest", app.HistoryQuery{Before: all[0]}, nil},
		{"before an unknown id past the end", app.HistoryQuery{Before: "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"}, newest},
		{"default limit", app.HistoryQuery{}, newest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.History(ctx, tc.q)
			if err != nil || !equalIDs(ids(got), tc.want) {
				t.Errorf("History(%+v) = %v, %v; want %v", tc.q, ids(got), err, tc.want)
			}
		})
	}
	got, _ := db.History(ctx, app.HistoryQuery{Limit: 1})
	want := model.HistorySummary{ID: newest[0], SentAt: got[0].SentAt, Method: "GET", URL: "https://a/5", Name: "req https://a/5", Status: 200, Duration: 42e6}
	if len(got) != 1 || got[0] != want {
		t.Errorf("summary = %+v; want %+v", got, want)
	}
}

func TestHistorySearchMatchesMethodURLAndNameIgnoringCase(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	all := addHistory(t, db, []string{"https://shop.example/Orders", "https://shop.example/users", "https://api.example/orders/7"})
	post := model.NewID()
	must(t, db.Apply(ctx, historyOp(t, post, "POST", "https://x.example/")))
	for _, tc := range []struct {
		search string
		want   []model.ID
	}{
		{"ORDERS", []model.ID{all[2], all[0]}},
		{"shop.example", []model.ID{all[1], all[0]}},
		{"post", []model.ID{post}},
		{"req https://api", []model.ID{all[2]}},
		{"nothing like it", nil},
	} {
		got, err := db.History(ctx, app.HistoryQuery{Search: tc.search})
		if err != nil || !equalIDs(ids(got), tc.want) {
			t.Errorf("search %q = %v, %v; want %v", tc.search, ids(got), err, tc.want)
		}
	}
}

func TestHistoryIndexFollowsLocalAndServerWrites(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	all := addHistory(t, db, []string{"https://a/1", "https://a/2"})
	must(t, db.Apply(ctx, model.DeleteOp(model.KindHistory, all[0])))
	_, err := db.QueueAllLocal(ctx) // signed in: the server's changes come
	must(t, err)
	remote := model.NewID()
	e, err := model.Encode(historyEntry(remote, "PUT", "https://remote/", 204))
	must(t, err)
	must(t, db.ApplyServerChanges(ctx, []model.Change{{Seq: 1, Kind: model.KindHistory, ID: remote, Fields: e.Fields}}, 1))
	if got, _ := db.History(ctx, app.HistoryQuery{}); !equalIDs(ids(got), []model.ID{remote, all[1]}) {
		t.Errorf("History = %v; want the server's entry and the undeleted local one", ids(got))
	}
	must(t, db.ApplyServerChanges(ctx, []model.Change{{Seq: 2, Kind: model.KindHistory, ID: remote, Fields: model.Fields{model.FieldDeleted: json.RawMessage("true")}}}, 2))
	if n, _ := db.HistoryCount(ctx); n != 1 {
		t.Errorf("HistoryCount = %d; want 1", n)
	}
	if got, _ := db.History(ctx, app.HistoryQuery{Search: "remote"}); len(got) != 0 {
		t.Errorf("a deleted entry is still found: %v", ids(got))
	}
}

func TestPruneHistoryDeletesTheOldestAsOps(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	all := addHistory(t, db, []string{"https://a/1", "https://a/2", "https://a/3", "https://a/4", "https://a/5"})
	n, err := db.PruneHistory(ctx, 3)
	if err != nil || n != 2 {
		t.Fatalf("PruneHistory(3) = %d, %v; want 2", n, err)
	}
	if got, _ := db.History(ctx, app.HistoryQuery{}); !equalIDs(ids(got), reversed(all[2:])) {
		t.Errorf("after pruning: %v; want the newest three", ids(got))
	}
	ops, _ := db.PendingOps(ctx, 0)
	last := ops[len(ops)-2:]
	for i, op := range last {
		if op.ID != all[i] || string(op.Fields[model.FieldDeleted]) != "true" {
			t.Errorf("pending op %d = %+v; want a delete of %s", i, op, all[i])
		}
	}
	if n, err := db.PruneHistory(ctx, 3); err != nil || n != 0 {
		t.Errorf("pruning again = %d, %v; want 0", n, err)
	}
	if _, err := db.PruneHistory(ctx, -1); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("PruneHistory(-1) = %v; want ErrInvalid", err)
	}
	if n, err := db.PruneHistory(ctx, 0); err != nil || n != 3 {
		t.Errorf("PruneHistory(0) = %d, %v; want 3", n, err)
	}
}

func TestHistorySummaryToleratesOddFields(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	id := model.NewID()
	must(t, db.Apply(ctx, model.Op{Kind: model.KindHistory, ID: id, Fields: model.Fields{
		"request": json.RawMessage(`"not an object"`), "response": json.RawMessage(`null`), "error": json.RawMessage(`"dial tcp: refused"`)}}))
	got, err := db.History(ctx, app.HistoryQuery{Search: "dial"})
	if err != nil || len(got) != 0 {
		t.Errorf("search of the error text = %v, %v; want nothing (errors are not searched)", got, err)
	}
	got, err = db.History(ctx, app.HistoryQuery{})
	if err != nil || len(got) != 1 || got[0].Error != "dial tcp: refused" || got[0].URL != "" {
		t.Errorf("History = %+v, %v; want one entry with only its error", got, err)
	}
}
