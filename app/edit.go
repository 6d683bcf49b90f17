package app

import (
	"context"
	"fmt"

	"github.com/courierapp/courier/model"
)

// Delete deletes the record (kind, id) and everything it holds, as delete
// ops in one Apply: a collection with its folders, requests and variables; a
// folder with everything below it; an environment with its variables; a
// history entry with its body file. Errors wrap model.ErrNotFound.
func (a *App) Delete(ctx context.Context, kind model.Kind, id model.ID) error {
	if _, err := a.store.Get(ctx, kind, id); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	var ops []model.Op
	switch kind {
	case model.KindCollection, model.KindFolder:
		ws, err := a.loadWorkspace(ctx)
		if err != nil {
			return err
		}
		ops = ws.deleteOps(kind, id)
		if kind == model.KindCollection {
			vops, err := a.variableDeleteOps(ctx, id)
			if err != nil {
				return err
			}
			ops = append(ops, vops...)
		}
	case model.KindEnvironment:
		return a.DeleteEnvironment(ctx, id)
	case model.KindHistory:
		return a.DeleteHistory(ctx, id)
	default:
		ops = []model.Op{model.DeleteOp(kind, id)}
	}
	if err := a.store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return nil
}

// deleteOps lists the delete ops of a collection or folder and all it holds.
func (ws *workspace) deleteOps(kind model.Kind, id model.ID) []model.Op {
	ops := []model.Op{model.DeleteOp(kind, id)}
	if kind == model.KindCollection {
		// Every item of the collection, reachable or not.
		for fid, f := range ws.folders {
			if f.Collection == id {
				ops = append(ops, model.DeleteOp(model.KindFolder, fid))
			}
		}
		for rid, r := range ws.reqs {
			if r.Collection == id {
				ops = append(ops, model.DeleteOp(model.KindRequest, rid))
			}
		}
		return ops
	}
	f := ws.folders[id]
	t, err := ws.tree(f.Collection)
	if err != nil {
		return ops
	}
	if n, ok := t.Index[id]; ok {
		for _, d := range descendants(n) {
			ops = append(ops, model.DeleteOp(d.Kind, d.ID()))
		}
	}
	return ops
}

func (a *App) variableDeleteOps(ctx context.Context, owner model.ID) ([]model.Op, error) {
	vs, err := a.Variables(ctx, owner)
	if err != nil {
		return nil, err
	}
	ops := make([]model.Op, 0, len(vs))
	for _, v := range vs {
		ops = append(ops, model.DeleteOp(model.KindVariable, v.ID))
	}
	return ops, nil
}

// Move puts a folder or request under newParent (its collection, or a
// folder of any collection) at position index among newParent's children,
// counted without the item itself (index < 0 or past the end means last).
// Only the moved item's parent and order change (and the collection of it
// and everything below it, when it changes collection), unless the
// siblings' order keys are unusable (imported, or equal after concurrent
// edits), in which case the siblings are renumbered in the same Apply.
//
// Errors wrap model.ErrNotFound (item or parent), or model.ErrInvalid (a
// folder into itself or below itself, another kind).
func (a *App) Move(ctx context.Context, kind model.Kind, id, newParent model.ID, index int) error {
	if kind != model.KindFolder && kind != model.KindRequest {
		return fmt.Errorf("move %s %s: only folders and requests move: %w", kind, id, model.ErrInvalid)
	}
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return err
	}
	ops, err := ws.moveOps(kind, id, newParent, index)
	if err != nil {
		return fmt.Errorf("move %s %s: %w", kind, id, err)
	}
	if err := a.store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("move %s %s: %w", kind, id, err)
	}
	return nil
}

func (ws *workspace) moveOps(kind model.Kind, id, newParent model.ID, index int) ([]model.Op, error) {
	oldColl, ok := ws.itemCollection(kind, id)
	if !ok {
		return nil, model.ErrNotFound
	}
	newColl, err := ws.collectionOf(newParent)
	if err != nil {
		return nil, err
	}
	var moved []*Node // the item and, for a folder, everything below it
	if t, err := ws.tree(oldColl); err == nil {
		if n, ok := t.Index[id]; ok {
			moved = append([]*Node{n}, descendants(n)...)
		}
	}
	for _, n := range moved {
		if n.ID() == newParent {
			return nil, fmt.Errorf("a folder cannot move into itself or below itself: %w", model.ErrInvalid)
		}
	}
	sibs, err := ws.siblings(newColl, newParent)
	if err != nil {
		return nil, err
	}
	others := make([]*Node, 0, len(sibs))
	for _, s := range sibs {
		if s.ID() != id {
			others = append(others, s)
		}
	}
	if index < 0 || index > len(others) {
		index = len(others)
	}
	ops, key, err := orderOps(others, index)
	if err != nil {
		return nil, err
	}
	itemOp := model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: model.Fields{}}
	itemOp.Fields["parent"] = mustJSON(newParent)
	itemOp.Fields["order"] = mustJSON(key)
	if newColl != oldColl {
		itemOp.Fields["collection"] = mustJSON(newColl)
		for _, d := range moved[1:] {
			ops = append(ops, model.Op{OpID: model.NewID(), Kind: d.Kind, ID: d.ID(), Fields: model.Fields{"collection": mustJSON(newColl)}})
		}
	}
	return append([]model.Op{itemOp}, ops...), nil
}

func (ws *workspace) itemCollection(kind model.Kind, id model.ID) (model.ID, bool) {
	if kind == model.KindFolder {
		f, ok := ws.folders[id]
		return f.Collection, ok
	}
	r, ok := ws.reqs[id]
	return r.Collection, ok
}

// orderOps finds the order key for a new item at index among sibs. When the
// siblings' keys leave no room (empty, equal, malformed), it renumbers them
// and returns their ops too.
func orderOps(sibs []*Node, index int) ([]model.Op, string, error) {
	if keysUsable(sibs) {
		prev, next := "", ""
		if index > 0 {
			prev = sibs[index-1].order()
		}
		if index < len(sibs) {
			next = sibs[index].order()
		}
		if key, err := model.KeyBetween(prev, next); err == nil {
			return nil, key, nil
		}
	}
	keys, err := model.KeysBetween("", "", len(sibs)+1)
	if err != nil {
		return nil, "", err
	}
	var ops []model.Op
	k := 0
	var itemKey string
	for i := 0; i <= len(sibs); i++ {
		if i == index {
			itemKey = keys[k]
			k++
		}
		if i == len(sibs) {
			break
		}
		ops = append(ops, model.Op{OpID: model.NewID(), Kind: sibs[i].Kind, ID: sibs[i].ID(), Fields: model.Fields{"order": mustJSON(keys[k])}})
		k++
	}
	return ops, itemKey, nil
}

// keysUsable reports whether sibs have non-empty, strictly increasing,
// well-formed keys.
func keysUsable(sibs []*Node) bool {
	for i, s := range sibs {
		k := s.order()
		if k == "" {
			return false
		}
		if _, err := model.KeyBetween(k, ""); err != nil {
			return false
		}
		if i > 0 && sibs[i-1].order() >= k {
			return false
		}
	}
	return true
}
