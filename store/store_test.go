package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

var _ app.Store = (*store.DB)(nil)

// openStore opens the profile dir and closes it when the test ends.
func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// sampleObjects returns one value of every kind, with its ops.
func sampleOps(t testing.TB) []model.Op {
	t.Helper()
	objs := []any{
		&model.Collection{ID: model.NewID(), Name: "Shop API", Order: "a0"},
		&model.Folder{ID: model.NewID(), Name: "Orders", Collection: "c1", Parent: "c1"},
		&model.Request{ID: model.NewID(), Name: "List orders", Method: "GET", URL: "https://shop.example/orders?page=1",
			Headers: []model.KV{{Key: "Accept", Value: "application/json"}}, Body: model.Body{Mode: model.BodyRaw, Raw: "{}"}},
		&model.Environment{ID: model.NewID(), Name: "Staging"},
		&model.Variable{ID: model.NewID(), Owner: model.GlobalsID, Name: "token", Value: "s3cr3t", Enabled: true, Secret: true},
		&model.HeaderPreset{ID: model.NewID(), Name: "JSON", Headers: []model.KV{{Key: "Content-Type", Value: "application/json"}}},
		historyEntry(model.NewID(), "POST", "https://shop.example/orders", 201),
	}
	var ops []model.Op
	for _, o := range objs {
		kind := model.KindOf(o)
		id := reflect.ValueOf(o).Elem().FieldByName("ID").Interface().(model.ID)
		op, err := model.UpsertOp(kind, id, o)
		if err != nil {
			t.Fatalf("UpsertOp %s: %v", kind, err)
		}
		ops = append(ops, op)
	}
	return ops
}

func historyEntry(id model.ID, method, url string, status int) *model.HistoryEntry {
	return &model.HistoryEntry{
		ID:      id,
		SentAt:  time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		Request: model.HistoryRequest{Request: model.Request{Name: "req " + url, Method: method, URL: url}},
		Response: &model.Response{Status: status, Timings: model.Timings{Total: 42 * time.Millisecond},
			Body: []byte(`{"ok":true}`), Size: 11},
	}
}

func historyOp(t testing.TB, id model.ID, method, url string) model.Op {
	t.Helper()
	op, err := model.UpsertOp(model.KindHistory, id, historyEntry(id, method, url, 200))
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// sameFields compares two field maps by their JSON values' meaning.
func sameFields(a, b model.Fields) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		var x, y any
		if json.Unmarshal(va, &x) != nil || json.Unmarshal(vb, &y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestEveryKindSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ops := sampleOps(t)
	db := openStore(t, dir)
	if err := db.Apply(ctx, ops...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db = openStore(t, dir)
	for _, op := range ops {
		got, err := db.Get(ctx, op.Kind, op.ID)
		if err != nil {
			t.Fatalf("Get %s after reopen: %v", op.Kind, err)
		}
		if !sameFields(got.Fields, op.Fields) {
			t.Errorf("%s after reopen = %v, want %v", op.Kind, got.Fields, op.Fields)
		}
		list, err := db.List(ctx, op.Kind)
		if err != nil || len(list) != 1 || list[0].ID != op.ID {
			t.Errorf("List(%s) = %v, %v; want the one record", op.Kind, list, err)
		}
		if _, err := model.Decode[model.Request](got); op.Kind == model.KindRequest && err != nil {
			t.Errorf("decode request: %v", err)
		}
	}
	if n, err := db.HistoryCount(ctx); err != nil || n != 1 {
		t.Errorf("HistoryCount = %d, %v; want 1", n, err)
	}
}

func TestApplyMergesFieldsAndHidesDeleted(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	id := model.NewID()
	must(t, db.Apply(ctx, model.Op{Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": json.RawMessage(`"a"`), "url": json.RawMessage(`"u"`)}}))
	must(t, db.Apply(ctx, model.Op{Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": json.RawMessage(`"b"`)}}))
	got, err := db.Get(ctx, model.KindRequest, id)
	if err != nil || string(got.Fields["name"]) != `"b"` || string(got.Fields["url"]) != `"u"` {
		t.Fatalf("after two ops: %v, %v; want name b and url u", got.Fields, err)
	}
	must(t, db.Apply(ctx, model.DeleteOp(model.KindRequest, id)))
	if _, err := db.Get(ctx, model.KindRequest, id); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get deleted = %v; want ErrNotFound", err)
	}
	if list, _ := db.List(ctx, model.KindRequest); len(list) != 0 {
		t.Errorf("List after delete = %v; want none", list)
	}
}

func TestApplyRejectsBadOpsAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	good := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{"name": json.RawMessage(`"ok"`)}}
	dup := model.NewID()
	for _, tc := range []struct {
		name string
		bad  model.Op
		want error
	}{
		{"unknown kind", model.Op{Kind: "widget", ID: "x", Fields: model.Fields{"name": json.RawMessage(`1`)}}, model.ErrInvalid},
		{"empty id", model.Op{Kind: model.KindRequest, Fields: model.Fields{"name": json.RawMessage(`1`)}}, model.ErrInvalid},
		{"id with slash", model.Op{Kind: model.KindRequest, ID: "a/b", Fields: model.Fields{"name": json.RawMessage(`1`)}}, model.ErrInvalid},
		{"unknown field", model.Op{Kind: model.KindRequest, ID: "x", Fields: model.Fields{"colour": json.RawMessage(`1`)}}, model.ErrInvalid},
		{"invalid JSON", model.Op{Kind: model.KindRequest, ID: "x", Fields: model.Fields{"name": json.RawMessage(`{`)}}, model.ErrInvalid},
		{"no fields", model.Op{Kind: model.KindRequest, ID: "x"}, model.ErrInvalid},
		{"op_id twice", model.Op{OpID: dup, Kind: model.KindRequest, ID: "x", Fields: model.Fields{"name": json.RawMessage(`1`)}}, model.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := []model.Op{good, tc.bad}
			if tc.name == "op_id twice" {
				ops = []model.Op{{OpID: dup, Kind: model.KindRequest, ID: "y", Fields: model.Fields{"name": json.RawMessage(`1`)}}, tc.bad}
			}
			err := db.Apply(ctx, ops...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply = %v; want %v", err, tc.want)
			}
			if list, _ := db.List(ctx, model.KindRequest); len(list) != 0 {
				t.Errorf("a failed Apply wrote %d records", len(list))
			}
		})
	}
}

func TestGetAndListRejectBadInput(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	if _, err := db.Get(ctx, "widget", "x"); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Get unknown kind = %v; want ErrInvalid", err)
	}
	if _, err := db.Get(ctx, model.KindRequest, ""); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Get empty id = %v; want ErrInvalid", err)
	}
	if _, err := db.Get(ctx, model.KindRequest, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get missing = %v; want ErrNotFound", err)
	}
	if _, err := db.List(ctx, "widget"); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("List unknown kind = %v; want ErrInvalid", err)
	}
}

func TestSettingsRoundTripAndSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	type window struct{ W, H int }
	var w window
	if err := db.Setting(ctx, "window", &w); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("unset setting = %v; want ErrNotFound", err)
	}
	must(t, db.SetSetting(ctx, "window", window{800, 600}))
	must(t, db.Close())
	db = openStore(t, dir)
	if err := db.Setting(ctx, "window", &w); err != nil || w != (window{800, 600}) {
		t.Errorf("setting after reopen = %+v, %v", w, err)
	}
	var s string
	if err := db.Setting(ctx, "window", &s); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("decoding into the wrong type = %v; want ErrInvalid", err)
	}
	if err := db.SetSetting(ctx, "", 1); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("empty setting name = %v; want ErrInvalid", err)
	}
	if err := db.SetSetting(ctx, "f", func() {}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("unencodable setting = %v; want ErrInvalid", err)
	}
}

func TestDirIsTheAbsoluteProfileDir(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	if db.Dir() != dir {
		t.Errorf("Dir() = %q; want %q", db.Dir(), dir)
	}
	if db.Notice() != "" {
		t.Errorf("Notice() on a fresh profile = %q; want empty", db.Notice())
	}
	if fi, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, %v; want mode 0600", fi, err)
	}
}

func TestOpenCreatesTheProfileDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "profile")
	openStore(t, dir)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("profile dir: %v, %v; want mode 0700", fi, err)
	}
}

func TestClosedStoreReportsUnavailable(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.Close())
	must(t, db.Close())
	if _, err := db.List(ctx, model.KindRequest); !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("List after Close = %v; want ErrUnavailable saying closed", err)
	}
	if err := db.Apply(ctx, sampleOps(t)...); !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("Apply after Close = %v; want ErrUnavailable", err)
	}
}

func TestCopyToIsAUsableDatabase(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	ops := sampleOps(t)
	must(t, db.Apply(ctx, ops...))
	aside := t.TempDir()
	must(t, db.CopyTo(ctx, filepath.Join(aside, store.FileName)))
	must(t, db.Apply(ctx, model.DeleteOp(ops[0].Kind, ops[0].ID)))
	cp := openStore(t, aside)
	if _, err := cp.Get(ctx, ops[0].Kind, ops[0].ID); err != nil {
		t.Errorf("the copy lost a record deleted after the copy: %v", err)
	}
	if err := db.CopyTo(ctx, filepath.Join(aside, "no", "such", "dir", "x.db")); !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("CopyTo an impossible path = %v; want ErrUnavailable", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	var wg sync.WaitGroup
	const writers, each = 4, 25
	for range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range each {
				if err := db.Apply(ctx, historyOp(t, model.NewID(), "GET", "https://concurrent/")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				if _, err := db.History(ctx, app.HistoryQuery{Search: "concurrent", Limit: 10}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, err := db.HistoryCount(ctx); err != nil || n != writers*each {
		t.Errorf("HistoryCount = %d, %v; want %d", n, err, writers*each)
	}
}
