package app

import (
	"fmt"
	"testing"

	"github.com/courierapp/courier/model"
)

// FuzzTree builds trees from arbitrary parent links and order keys, as
// other devices may leave them (parents deleted, folders moved into each
// other, equal or malformed keys), and checks that every item of the
// collection shows exactly once and that moves keep it so.
func FuzzTree(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{1, 0, 0, 1, 2, 2, 9, 9, 9})
	f.Add([]byte{255, 3, 3, 3, 3, 128, 7, 1, 0, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		ws, coll := fuzzWorkspace(data)
		checkTree(t, ws, coll)
		// Move every item somewhere the data says.
		for i, b := range data {
			id := fuzzID(i)
			kind := model.KindRequest
			if _, ok := ws.folders[id]; ok {
				kind = model.KindFolder
			}
			parent := coll
			if b%3 != 0 {
				parent = fuzzID(int(b) % len(data))
			}
			index := int(b)%5 - 1
			ops, err := ws.moveOps(kind, id, parent, index)
			if err != nil {
				continue
			}
			ws = applyOps(ws, ops)
			checkTree(t, ws, coll)
			checkPlace(t, ws, coll, id, parent, index)
		}
	})
}

func fuzzID(i int) model.ID { return model.ID(fmt.Sprintf("item%02d", i)) }

// fuzzWorkspace makes one collection whose items (folders for even bytes,
// requests for odd ones) take their parent and order key from data.
func fuzzWorkspace(data []byte) (*workspace, model.ID) {
	coll := model.ID("coll")
	ws := &workspace{colls: map[model.ID]model.Collection{coll: {ID: coll, Name: "c"}},
		folders: map[model.ID]model.Folder{}, reqs: map[model.ID]model.Request{}, trees: map[model.ID]*Tree{}}
	keys := []string{"", "V", "V", "0", "a0", "z", "zz", "1"}
	for i, b := range data {
		id := fuzzID(i)
		parent := coll
		switch b % 4 {
		case 1:
			parent = fuzzID(int(b/4) % len(data))
		case 2:
			parent = "gone"
		}
		order := keys[int(b)%len(keys)]
		if b%2 == 0 {
			ws.folders[id] = model.Folder{ID: id, Name: string(id), Collection: coll, Parent: parent, Order: order}
		} else {
			ws.reqs[id] = model.Request{ID: id, Name: string(id), Collection: coll, Parent: parent, Order: order}
		}
	}
	return ws, coll
}

func checkTree(t *testing.T, ws *workspace, coll model.ID) {
	t.Helper()
	tr, err := ws.tree(coll)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[model.ID]int{}
	var walk func(ns []*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			seen[n.ID()]++
			walk(n.Children)
		}
	}
	walk(tr.Root)
	for id := range ws.folders {
		if seen[id] != 1 {
			t.Fatalf("folder %s shown %d times", id, seen[id])
		}
	}
	for id := range ws.reqs {
		if seen[id] != 1 {
			t.Fatalf("request %s shown %d times", id, seen[id])
		}
	}
}

// applyOps returns a fresh workspace with ops merged in, as the store would.
func applyOps(ws *workspace, ops []model.Op) *workspace {
	out := &workspace{colls: ws.colls, folders: map[model.ID]model.Folder{}, reqs: map[model.ID]model.Request{}, trees: map[model.ID]*Tree{}}
	for id, f := range ws.folders {
		out.folders[id] = f
	}
	for id, r := range ws.reqs {
		out.reqs[id] = r
	}
	for _, op := range ops {
		switch op.Kind {
		case model.KindFolder:
			f := out.folders[op.ID]
			rec, _ := model.Encode(&f)
			rec.Apply(op.Fields)
			f, _ = model.Decode[model.Folder](rec)
			out.folders[op.ID] = f
		case model.KindRequest:
			r := out.reqs[op.ID]
			rec, _ := model.Encode(&r)
			rec.Apply(op.Fields)
			r, _ = model.Decode[model.Request](rec)
			out.reqs[op.ID] = r
		}
	}
	return out
}

// checkPlace checks that id shows at index among parent's children (last
// for an index out of range), unless the move closed a cycle of stored
// parents, which the tree breaks elsewhere.
func checkPlace(t *testing.T, ws *workspace, coll, id, parent model.ID, index int) {
	t.Helper()
	sibs, err := ws.siblings(coll, parent)
	if err != nil {
		return
	}
	pos := -1
	for i, n := range sibs {
		if n.ID() == id {
			pos = i
		}
	}
	if pos < 0 {
		return
	}
	want := index
	if index < 0 || index >= len(sibs) {
		want = len(sibs) - 1
	}
	if pos != want {
		t.Fatalf("%s at %d among %d children of %s, want %d", id, pos, len(sibs), parent, want)
	}
}
