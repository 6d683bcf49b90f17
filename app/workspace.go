package app

import (
	"context"
	"fmt"

	"github.com/courierapp/courier/model"
)

// workspace is a snapshot of every collection, folder and request, read
// once per use case so the tree logic works on plain maps.
type workspace struct {
	colls   map[model.ID]model.Collection
	folders map[model.ID]model.Folder
	reqs    map[model.ID]model.Request
	trees   map[model.ID]*Tree
}

func (a *App) loadWorkspace(ctx context.Context) (*workspace, error) {
	cs, err := listObj[model.Collection](ctx, a, model.KindCollection)
	if err != nil {
		return nil, err
	}
	fs, err := listObj[model.Folder](ctx, a, model.KindFolder)
	if err != nil {
		return nil, err
	}
	rs, err := listObj[model.Request](ctx, a, model.KindRequest)
	if err != nil {
		return nil, err
	}
	ws := &workspace{
		colls: make(map[model.ID]model.Collection, len(cs)), folders: make(map[model.ID]model.Folder, len(fs)),
		reqs: make(map[model.ID]model.Request, len(rs)), trees: map[model.ID]*Tree{},
	}
	for _, c := range cs {
		ws.colls[c.ID] = c
	}
	for _, f := range fs {
		ws.folders[f.ID] = f
	}
	for _, r := range rs {
		ws.reqs[r.ID] = r
	}
	return ws, nil
}

// collectionOf returns the collection that parent (a collection or a
// folder) belongs to.
func (ws *workspace) collectionOf(parent model.ID) (model.ID, error) {
	if _, ok := ws.colls[parent]; ok {
		return parent, nil
	}
	if f, ok := ws.folders[parent]; ok {
		if _, ok := ws.colls[f.Collection]; ok {
			return f.Collection, nil
		}
	}
	return "", fmt.Errorf("collection or folder %s: %w", parent, model.ErrNotFound)
}

// tree builds (once) the display tree of collection id.
func (ws *workspace) tree(id model.ID) (*Tree, error) {
	if t, ok := ws.trees[id]; ok {
		return t, nil
	}
	c, ok := ws.colls[id]
	if !ok {
		return nil, fmt.Errorf("collection %s: %w", id, model.ErrNotFound)
	}
	t := &Tree{Collection: c, Index: map[model.ID]*Node{}}
	children := map[model.ID][]*Node{}
	var root []*Node
	add := func(n *Node, parent model.ID) {
		if f, ok := ws.folders[parent]; ok && f.Collection == id && parent != n.ID() {
			children[parent] = append(children[parent], n)
			return
		}
		root = append(root, n)
	}
	for _, f := range ws.folders {
		if f.Collection == id {
			n := &Node{Kind: model.KindFolder, Folder: &f}
			t.Index[f.ID] = n
			add(n, f.Parent)
		}
	}
	for _, r := range ws.reqs {
		if r.Collection == id {
			n := &Node{Kind: model.KindRequest, Request: &r}
			t.Index[r.ID] = n
			add(n, r.Parent)
		}
	}
	visited := map[model.ID]bool{}
	t.Root = attach(sortNodes(root), children, visited)
	// Folders not reached from the root form a cycle (two devices moved
	// folders into each other): show them at the root.
	var lost []*Node
	for fid, n := range t.Index {
		if n.Kind == model.KindFolder && !visited[fid] {
			lost = append(lost, n)
		}
	}
	for _, n := range sortNodes(lost) {
		if !visited[n.ID()] {
			t.Root = append(t.Root, attach([]*Node{n}, children, visited)...)
		}
	}
	t.Root = sortNodes(t.Root)
	ws.trees[id] = t
	return t, nil
}

// attach fills in the children of each folder of nodes, depth first,
// skipping anything already placed, and returns the nodes not yet placed.
func attach(nodes []*Node, children map[model.ID][]*Node, visited map[model.ID]bool) []*Node {
	out := nodes[:0:0]
	for _, n := range nodes {
		if visited[n.ID()] {
			continue
		}
		visited[n.ID()] = true
		out = append(out, n)
		if n.Kind == model.KindFolder {
			n.Children = attach(sortNodes(children[n.ID()]), children, visited)
		}
	}
	return out
}

func sortNodes(ns []*Node) []*Node {
	sortFunc(ns, func(x, y *Node) int { return byOrder(x.order(), x.Name(), x.ID(), y.order(), y.Name(), y.ID()) })
	return ns
}

// siblings returns the display children of parent (the collection itself
// or one of its folders) in collection coll.
func (ws *workspace) siblings(coll, parent model.ID) ([]*Node, error) {
	t, err := ws.tree(coll)
	if err != nil {
		return nil, err
	}
	if parent == coll {
		return t.Root, nil
	}
	n, ok := t.Index[parent]
	if !ok || n.Kind != model.KindFolder {
		return nil, fmt.Errorf("folder %s in collection %s: %w", parent, coll, model.ErrNotFound)
	}
	return n.Children, nil
}

// childKeys returns the order keys of parent's children.
func (ws *workspace) childKeys(coll, parent model.ID) []string {
	sib, err := ws.siblings(coll, parent)
	if err != nil {
		return nil
	}
	keys := make([]string, len(sib))
	for i, n := range sib {
		keys[i] = n.order()
	}
	return keys
}

// descendants returns every node below n, depth first.
func descendants(n *Node) []*Node {
	var out []*Node
	for _, c := range n.Children {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}
