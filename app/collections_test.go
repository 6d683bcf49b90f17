package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// fixture is a collection "API" holding, in order: folder "Users" (with
// requests "List users" and "Get user"), request "Health", folder "Empty".
type fixture struct {
	a                 *app.App
	db                app.Store
	coll              model.Collection
	users, empty      model.Folder
	list, get, health model.Request
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	a, db := newApp(t, app.Options{})
	f := &fixture{a: a, db: db}
	f.coll = must[model.Collection](t)(a.CreateCollection(ctx, "API"))
	f.users = must[model.Folder](t)(a.CreateFolder(ctx, f.coll.ID, "Users"))
	f.list = must[model.Request](t)(a.SaveRequest(ctx, model.Request{Name: "List users", URL: "http://x/users", Collection: f.coll.ID, Parent: f.users.ID}))
	f.get = must[model.Request](t)(a.SaveRequest(ctx, model.Request{Name: "Get user", URL: "http://x/users/1", Collection: f.coll.ID, Parent: f.users.ID}))
	f.health = must[model.Request](t)(a.SaveRequest(ctx, model.Request{Name: "Health", URL: "http://x/health", Collection: f.coll.ID}))
	f.empty = must[model.Folder](t)(a.CreateFolder(ctx, f.coll.ID, "Empty"))
	return f
}

func (f *fixture) tree(t *testing.T) string {
	t.Helper()
	tr := must[*app.Tree](t)(f.a.Tree(context.Background(), f.coll.ID))
	return strings.Join(names(tr.Root), " ")
}

func TestTreeOrder(t *testing.T) {
	f := newFixture(t)
	if got, want := f.tree(t), "Users[List users Get user] Health Empty[]"; got != want {
		t.Fatalf("tree = %q, want %q", got, want)
	}
	if f.health.Parent != f.coll.ID || f.health.Method != "GET" {
		t.Fatalf("new request at the root: parent %q method %q", f.health.Parent, f.health.Method)
	}
}

func TestTreeShowsOrphansAndCyclesAtTheRoot(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Another device deleted a folder this one still had a request in, and
	// two devices moved folders into each other.
	orphan := model.Request{ID: model.NewID(), Name: "Orphan", Method: "GET", Collection: f.coll.ID, Parent: model.NewID(), Order: "V"}
	a := model.Folder{ID: model.NewID(), Name: "A", Collection: f.coll.ID, Order: "X"}
	b := model.Folder{ID: model.NewID(), Name: "B", Collection: f.coll.ID, Parent: a.ID, Order: "Y"}
	a.Parent = b.ID
	var ops []model.Op
	for _, v := range []any{&orphan, &a, &b} {
		op, err := model.UpsertOp(model.KindOf(v), idOf(v), v)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if err := f.db.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	got := f.tree(t)
	for _, want := range []string{"Orphan", "A[B[]]"} {
		if !strings.Contains(got, want) {
			t.Fatalf("tree %q lacks %q", got, want)
		}
	}
}

func idOf(v any) model.ID {
	switch o := v.(type) {
	case *model.Request:
		return o.ID
	case *model.Folder:
		return o.ID
	}
	return ""
}

func TestMove(t *testing.T) {
	tests := []struct {
		name  string
		move  func(f *fixture) (model.Kind, model.ID, model.ID, int)
		want  string
		errIs error
	}{
		{"reorder within a folder", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindRequest, f.get.ID, f.users.ID, 0
		}, "Users[Get user List users] Health Empty[]", nil},
		{"to the end with a negative index", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindFolder, f.users.ID, f.coll.ID, -1
		}, "Health Empty[] Users[List users Get user]", nil},
		{"into another folder", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindRequest, f.health.ID, f.empty.ID, 0
		}, "Users[List users Get user] Empty[Health]", nil},
		{"a folder into another folder", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindFolder, f.users.ID, f.empty.ID, 5
		}, "Health Empty[Users[List users Get user]]", nil},
		{"out of a folder to the root between two items", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindRequest, f.list.ID, f.coll.ID, 2
		}, "Users[Get user] Health List users Empty[]", nil},
		{"a folder into itself is refused", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindFolder, f.users.ID, f.users.ID, 0
		}, "", model.ErrInvalid},
		{"a missing parent is not found", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindRequest, f.get.ID, model.NewID(), 0
		}, "", model.ErrNotFound},
		{"a collection does not move", func(f *fixture) (model.Kind, model.ID, model.ID, int) {
			return model.KindCollection, f.coll.ID, f.coll.ID, 0
		}, "", model.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			kind, id, parent, index := tt.move(f)
			err := f.a.Move(context.Background(), kind, id, parent, index)
			if tt.errIs != nil {
				wantErr(t, err, tt.errIs)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.tree(t); got != tt.want {
				t.Fatalf("tree = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMoveAcrossCollectionsCarriesDescendants(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other := must[model.Collection](t)(f.a.CreateCollection(ctx, "Other"))
	if err := f.a.Move(ctx, model.KindFolder, f.users.ID, other.ID, 0); err != nil {
		t.Fatal(err)
	}
	tr := must[*app.Tree](t)(f.a.Tree(ctx, other.ID))
	if got := strings.Join(names(tr.Root), " "); got != "Users[List users Get user]" {
		t.Fatalf("other tree = %q", got)
	}
	r := must[model.Request](t)(f.a.Request(ctx, f.get.ID))
	if r.Collection != other.ID {
		t.Fatalf("request below the moved folder is in collection %s, want %s", r.Collection, other.ID)
	}
	if got := f.tree(t); got != "Health Empty[]" {
		t.Fatalf("old tree = %q", got)
	}
}

func TestMoveRenumbersSiblingsWithEqualKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Two devices gave both requests of Users the same key.
	for _, id := range []model.ID{f.list.ID, f.get.ID} {
		if err := f.db.Apply(ctx, model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{"order": json.RawMessage(`"V"`)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.a.Move(ctx, model.KindRequest, f.health.ID, f.users.ID, 1); err != nil {
		t.Fatal(err)
	}
	tr := must[*app.Tree](t)(f.a.Tree(ctx, f.coll.ID))
	kids := tr.Index[f.users.ID].Children
	if len(kids) != 3 || kids[1].ID() != f.health.ID {
		t.Fatalf("Users = %v, want Health second", names(kids))
	}
	if kids[0].Request.Order >= kids[1].Request.Order || kids[1].Request.Order >= kids[2].Request.Order {
		t.Fatalf("keys not increasing after renumbering: %q %q %q", kids[0].Request.Order, kids[1].Request.Order, kids[2].Request.Order)
	}
}

func TestDuplicate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		dup  func(f *fixture) (model.Kind, model.ID)
		want string
	}{
		{"a request lands right after the original", func(f *fixture) (model.Kind, model.ID) {
			return model.KindRequest, f.list.ID
		}, "Users[List users List users copy Get user] Health Empty[]"},
		{"a folder is copied deep", func(f *fixture) (model.Kind, model.ID) {
			return model.KindFolder, f.users.ID
		}, "Users[List users Get user] Users copy[List users Get user] Health Empty[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			kind, id := tt.dup(f)
			newID := must[model.ID](t)(f.a.Duplicate(ctx, kind, id))
			if newID == id || newID == "" {
				t.Fatalf("copy ID %q", newID)
			}
			if got := f.tree(t); got != tt.want {
				t.Fatalf("tree = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a collection is copied with its variables and new IDs", func(t *testing.T) {
		f := newFixture(t)
		must[model.Variable](t)(f.a.SaveVariable(ctx, model.Variable{Owner: f.coll.ID, Name: "host", Value: "x", Enabled: true}))
		newID := must[model.ID](t)(f.a.Duplicate(ctx, model.KindCollection, f.coll.ID))
		tr := must[*app.Tree](t)(f.a.Tree(ctx, newID))
		if tr.Collection.Name != "API copy" || strings.Join(names(tr.Root), " ") != "Users[List users Get user] Health Empty[]" {
			t.Fatalf("copy %q: %v", tr.Collection.Name, names(tr.Root))
		}
		for id := range tr.Index {
			if id == f.users.ID || id == f.list.ID || id == f.health.ID {
				t.Fatalf("copy reuses ID %s", id)
			}
		}
		vs := must[[]model.Variable](t)(f.a.Variables(ctx, newID))
		if len(vs) != 1 || vs[0].Name != "host" {
			t.Fatalf("copied variables = %+v", vs)
		}
		cs := must[[]model.Collection](t)(f.a.Collections(ctx))
		if len(cs) != 2 || cs[1].ID != newID {
			t.Fatalf("collections = %+v", cs)
		}
	})
}

func TestDeleteIsRecursiveAndOneTransaction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	must[model.Variable](t)(f.a.SaveVariable(ctx, model.Variable{Owner: f.coll.ID, Name: "host", Value: "x", Enabled: true}))
	var mu sync.Mutex
	var changes []app.Changes
	cancel := f.a.Subscribe(func(c app.Changes) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, c)
	})
	defer cancel()

	if err := f.a.Delete(ctx, model.KindFolder, f.users.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.tree(t); got != "Health Empty[]" {
		t.Fatalf("tree after deleting Users = %q", got)
	}
	_, err := f.a.Request(ctx, f.get.ID)
	wantErr(t, err, model.ErrNotFound)

	if err := f.a.Delete(ctx, model.KindCollection, f.coll.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.a.Tree(ctx, f.coll.ID)
	wantErr(t, err, model.ErrNotFound)
	for _, k := range []model.Kind{model.KindFolder, model.KindRequest, model.KindVariable} {
		if recs := must[[]model.Record](t)(f.db.List(ctx, k)); len(recs) != 0 {
			t.Fatalf("%d %s records left after deleting the collection", len(recs), k)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(changes) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || len(changes[0].Keys) != 3 || len(changes[1].Keys) != 4 {
		t.Fatalf("changes = %+v, want one of 3 keys (folder, 2 requests) then one of 4 (collection, folder, request, variable)", changes)
	}
	wantErr(t, f.a.Delete(ctx, model.KindRequest, model.NewID()), model.ErrNotFound)
}

func TestSaveRequest(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t.Run("new without a collection is refused", func(t *testing.T) {
		_, err := f.a.SaveRequest(ctx, model.Request{URL: "http://x"})
		wantErr(t, err, model.ErrInvalid)
	})
	t.Run("new in a missing folder is not found", func(t *testing.T) {
		_, err := f.a.SaveRequest(ctx, model.Request{URL: "http://x", Collection: f.coll.ID, Parent: model.NewID()})
		wantErr(t, err, model.ErrNotFound)
	})
	t.Run("update of a missing request is not found", func(t *testing.T) {
		_, err := f.a.SaveRequest(ctx, model.Request{ID: model.NewID(), URL: "http://x"})
		wantErr(t, err, model.ErrNotFound)
	})
	t.Run("update keeps the place; changes over a base keep other edits", func(t *testing.T) {
		base := f.get
		// Another device changed the URL and this one moved the request.
		if err := f.db.Apply(ctx, model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: f.get.ID,
			Fields: model.Fields{"url": json.RawMessage(`"http://y/users/1"`)}}); err != nil {
			t.Fatal(err)
		}
		if err := f.a.Move(ctx, model.KindRequest, f.get.ID, f.coll.ID, 0); err != nil {
			t.Fatal(err)
		}
		edited := base
		edited.Name = "Fetch user"
		edited.Parent = f.users.ID
		saved := must[model.Request](t)(f.a.SaveRequestChanges(ctx, base, edited))
		got := must[model.Request](t)(f.a.Request(ctx, f.get.ID))
		if got.Name != "Fetch user" || got.URL != "http://y/users/1" || got.Parent != f.coll.ID {
			t.Fatalf("stored %+v", got)
		}
		if saved.Parent != f.coll.ID || saved.URL != "http://y/users/1" {
			t.Fatalf("returned %+v, want the stored request", saved)
		}
		// A plain save writes what differs from the stored request.
		edited.Name = "Get one user"
		saved = must[model.Request](t)(f.a.SaveRequest(ctx, edited))
		if saved.Name != "Get one user" || saved.URL != base.URL || saved.Parent != f.coll.ID {
			t.Fatalf("plain save stored %+v", saved)
		}
	})
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name  string
		kind  model.Kind
		id    model.ID
		to    string
		errIs error
	}{
		{"a folder", model.KindFolder, f.users.ID, "People", nil},
		{"a collection, trimmed", model.KindCollection, f.coll.ID, "  Public API ", nil},
		{"an empty name is refused", model.KindRequest, f.get.ID, "  ", model.ErrInvalid},
		{"a missing request is not found", model.KindRequest, model.NewID(), "x", model.ErrNotFound},
		{"history cannot be renamed", model.KindHistory, f.get.ID, "x", model.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.a.Rename(ctx, tt.kind, tt.id, tt.to)
			if tt.errIs != nil {
				wantErr(t, err, tt.errIs)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := must[model.Record](t)(f.db.Get(ctx, tt.kind, tt.id))
			var name string
			_ = json.Unmarshal(rec.Fields["name"], &name)
			if name != strings.TrimSpace(tt.to) {
				t.Fatalf("name = %q", name)
			}
		})
	}
	cs := must[[]model.Collection](t)(f.a.Collections(ctx))
	if !slices.ContainsFunc(cs, func(c model.Collection) bool { return c.Name == "Public API" }) {
		t.Fatalf("collections = %+v", cs)
	}
}
