package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/courierapp/courier/model"
)

// copySuffix is appended to the name of a duplicate.
const copySuffix = " copy"

// Duplicate copies a collection, folder, request, environment or header
// preset, with new IDs, and places the copy right after the original. A
// folder is copied with everything below it; a collection with its folders,
// requests and variables; an environment with its variables. It returns
// the copy's ID. Errors wrap model.ErrNotFound, or model.ErrInvalid for
// another kind.
func (a *App) Duplicate(ctx context.Context, kind model.Kind, id model.ID) (model.ID, error) {
	var (
		ops   []model.Op
		newID model.ID
		err   error
	)
	switch kind {
	case model.KindRequest, model.KindFolder:
		ops, newID, err = a.duplicateItem(ctx, kind, id)
	case model.KindCollection:
		ops, newID, err = a.duplicateCollection(ctx, id)
	case model.KindEnvironment:
		ops, newID, err = a.duplicateEnvironment(ctx, id)
	case model.KindHeaderPreset:
		ops, newID, err = a.duplicatePreset(ctx, id)
	default:
		err = fmt.Errorf("cannot duplicate this kind: %w", model.ErrInvalid)
	}
	if err != nil {
		return "", fmt.Errorf("duplicate %s %s: %w", kind, id, err)
	}
	if err := a.store.Apply(ctx, ops...); err != nil {
		return "", fmt.Errorf("duplicate %s %s: %w", kind, id, err)
	}
	return newID, nil
}

// duplicateItem copies a request or a folder tree within its parent.
func (a *App) duplicateItem(ctx context.Context, kind model.Kind, id model.ID) ([]model.Op, model.ID, error) {
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return nil, "", err
	}
	coll, ok := ws.itemCollection(kind, id)
	if !ok {
		return nil, "", model.ErrNotFound
	}
	t, err := ws.tree(coll)
	if err != nil {
		return nil, "", err
	}
	n := t.Index[id]
	parent := coll
	if p := nodeParent(n); p != "" && t.Index[p] != nil && t.Index[p].Kind == model.KindFolder && containsNode(t.Index[p].Children, id) {
		parent = p
	}
	sibs, _ := ws.siblings(coll, parent)
	pos := len(sibs)
	for i, s := range sibs {
		if s.ID() == id {
			pos = i + 1
		}
	}
	renumber, key, err := orderOps(sibs, pos)
	if err != nil {
		return nil, "", err
	}
	ids := map[model.ID]model.ID{coll: coll}
	ops, err := copyNodes(append([]*Node{n}, descendants(n)...), ids, coll, parent)
	if err != nil {
		return nil, "", err
	}
	first := ops[0]
	first.Fields["order"] = mustJSON(key)
	first.Fields["name"] = mustJSON(n.Name() + copySuffix)
	return append(ops, renumber...), ids[id], nil
}

func nodeParent(n *Node) model.ID {
	if n.Folder != nil {
		return n.Folder.Parent
	}
	return n.Request.Parent
}

func containsNode(ns []*Node, id model.ID) bool {
	for _, n := range ns {
		if n.ID() == id {
			return true
		}
	}
	return false
}

// copyNodes returns create ops for copies of nodes (parents before their
// children) into collection coll. ids maps old IDs to new ones and is
// filled in; the first node goes under parent, the others under the copy
// of their parent (or the collection root when it is not among them).
func copyNodes(nodes []*Node, ids map[model.ID]model.ID, coll, parent model.ID) ([]model.Op, error) {
	for _, n := range nodes {
		ids[n.ID()] = model.NewID()
	}
	ops := make([]model.Op, 0, len(nodes))
	for i, n := range nodes {
		p := parent
		if i > 0 {
			p = coll
			if np, ok := ids[nodeParent(n)]; ok {
				p = np
			}
		}
		var op model.Op
		var err error
		if n.Folder != nil {
			f := *n.Folder
			f.ID, f.Collection, f.Parent = ids[n.ID()], coll, p
			op, err = model.UpsertOp(model.KindFolder, f.ID, &f)
		} else {
			r := *n.Request
			r.ID, r.Collection, r.Parent = ids[n.ID()], coll, p
			op, err = model.UpsertOp(model.KindRequest, r.ID, &r)
		}
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (a *App) duplicateCollection(ctx context.Context, id model.ID) ([]model.Op, model.ID, error) {
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return nil, "", err
	}
	t, err := ws.tree(id)
	if err != nil {
		return nil, "", err
	}
	cs, err := a.Collections(ctx)
	if err != nil {
		return nil, "", err
	}
	c := t.Collection
	c.ID = model.NewID()
	c.Name += copySuffix
	c.Order = keyAfterItem(orderKeys(cs, func(c model.Collection) (model.ID, string) { return c.ID, c.Order }), id)
	op, err := model.UpsertOp(model.KindCollection, c.ID, &c)
	if err != nil {
		return nil, "", err
	}
	ids := map[model.ID]model.ID{id: c.ID}
	var nodes []*Node
	for _, n := range t.Root {
		nodes = append(nodes, n)
		nodes = append(nodes, descendants(n)...)
	}
	items, err := copyNodes(nodes, ids, c.ID, c.ID)
	if err != nil {
		return nil, "", err
	}
	vars, err := a.copyVariables(ctx, id, c.ID)
	if err != nil {
		return nil, "", err
	}
	return append(append([]model.Op{op}, items...), vars...), c.ID, nil
}

func (a *App) copyVariables(ctx context.Context, from, to model.ID) ([]model.Op, error) {
	vs, err := a.Variables(ctx, from)
	if err != nil {
		return nil, err
	}
	ops := make([]model.Op, 0, len(vs))
	for _, v := range vs {
		v.ID, v.Owner = model.NewID(), to
		op, err := model.UpsertOp(model.KindVariable, v.ID, &v)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (a *App) duplicateEnvironment(ctx context.Context, id model.ID) ([]model.Op, model.ID, error) {
	e, err := getObj[model.Environment](ctx, a.store, model.KindEnvironment, id)
	if err != nil {
		return nil, "", err
	}
	envs, err := a.Environments(ctx)
	if err != nil {
		return nil, "", err
	}
	e.Order = keyAfterItem(orderKeys(envs, func(e model.Environment) (model.ID, string) { return e.ID, e.Order }), id)
	e.ID = model.NewID()
	e.Name += copySuffix
	op, err := model.UpsertOp(model.KindEnvironment, e.ID, &e)
	if err != nil {
		return nil, "", err
	}
	vars, err := a.copyVariables(ctx, id, e.ID)
	if err != nil {
		return nil, "", err
	}
	return append([]model.Op{op}, vars...), e.ID, nil
}

func (a *App) duplicatePreset(ctx context.Context, id model.ID) ([]model.Op, model.ID, error) {
	p, err := getObj[model.HeaderPreset](ctx, a.store, model.KindHeaderPreset, id)
	if err != nil {
		return nil, "", err
	}
	ps, err := a.HeaderPresets(ctx)
	if err != nil {
		return nil, "", err
	}
	p.Order = keyAfterItem(orderKeys(ps, func(p model.HeaderPreset) (model.ID, string) { return p.ID, p.Order }), id)
	p.ID = model.NewID()
	p.Name += copySuffix
	op, err := model.UpsertOp(model.KindHeaderPreset, p.ID, &p)
	if err != nil {
		return nil, "", err
	}
	return []model.Op{op}, p.ID, nil
}

type idKey struct {
	id  model.ID
	key string
}

func orderKeys[T any](items []T, f func(T) (model.ID, string)) []idKey {
	out := make([]idKey, len(items))
	for i, it := range items {
		out[i].id, out[i].key = f(it)
	}
	return out
}

// keyAfterItem returns a key between item id and the next one in the
// ordered list keys; when there is no room, a key after the last.
func keyAfterItem(keys []idKey, id model.ID) string {
	for i, k := range keys {
		if k.id != id {
			continue
		}
		next := ""
		if i+1 < len(keys) {
			next = keys[i+1].key
		}
		if k.key != "" {
			if key, err := model.KeyBetween(k.key, next); err == nil {
				return key
			}
		}
	}
	all := make([]string, len(keys))
	for i, k := range keys {
		all[i] = k.key
	}
	return keyAfter(all)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // only called with strings and IDs
	}
	return b
}
