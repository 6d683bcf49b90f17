package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
)

// Node is one folder or request of a Tree. Exactly one of Folder and
// Request is set, by Kind.
type Node struct {
	Kind     model.Kind // model.KindFolder or model.KindRequest
	Folder   *model.Folder
	Request  *model.Request
	Children []*Node // folders only; in display order
}

// ID returns the node's folder or request ID.
func (n *Node) ID() model.ID {
	if n.Folder != nil {
		return n.Folder.ID
	}
	return n.Request.ID
}

// Name returns the node's folder or request name.
func (n *Node) Name() string {
	if n.Folder != nil {
		return n.Folder.Name
	}
	return n.Request.Name
}

func (n *Node) order() string {
	if n.Folder != nil {
		return n.Folder.Order
	}
	return n.Request.Order
}

// Tree is a collection with its folders and requests in display order.
type Tree struct {
	Collection model.Collection
	// Root holds the items directly in the collection, and any item whose
	// parent is gone (deleted on another device) or part of a cycle.
	Root []*Node
	// Index finds any node of the tree by ID.
	Index map[model.ID]*Node
}

// Collections returns every collection in display order.
func (a *App) Collections(ctx context.Context) ([]model.Collection, error) {
	cs, err := listObj[model.Collection](ctx, a, model.KindCollection)
	if err != nil {
		return nil, err
	}
	sortFunc(cs, func(x, y model.Collection) int { return byOrder(x.Order, x.Name, x.ID, y.Order, y.Name, y.ID) })
	return cs, nil
}

// Tree returns the collection id with its folders and requests, ordered by
// their order keys. Errors wrap model.ErrNotFound when the collection does
// not exist.
func (a *App) Tree(ctx context.Context, id model.ID) (*Tree, error) {
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.tree(id)
}

// CreateCollection adds an empty collection named name at the end of the
// list. Errors wrap model.ErrInvalid for an empty name.
func (a *App) CreateCollection(ctx context.Context, name string) (model.Collection, error) {
	name, err := cleanName("collection", name)
	if err != nil {
		return model.Collection{}, err
	}
	cs, err := a.Collections(ctx)
	if err != nil {
		return model.Collection{}, err
	}
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.Order
	}
	c := model.Collection{ID: model.NewID(), Name: name, Order: keyAfter(keys)}
	if err := a.put(ctx, model.KindCollection, c.ID, &c); err != nil {
		return model.Collection{}, err
	}
	return c, nil
}

// CreateFolder adds a folder named name at the end of parent, which is a
// collection or a folder. Errors wrap model.ErrNotFound when parent does not
// exist and model.ErrInvalid for an empty name.
func (a *App) CreateFolder(ctx context.Context, parent model.ID, name string) (model.Folder, error) {
	name, err := cleanName("folder", name)
	if err != nil {
		return model.Folder{}, err
	}
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return model.Folder{}, err
	}
	coll, err := ws.collectionOf(parent)
	if err != nil {
		return model.Folder{}, err
	}
	f := model.Folder{ID: model.NewID(), Name: name, Collection: coll, Parent: parent, Order: keyAfter(ws.childKeys(coll, parent))}
	if err := a.put(ctx, model.KindFolder, f.ID, &f); err != nil {
		return model.Folder{}, err
	}
	return f, nil
}

// Request returns the saved request id; errors wrap model.ErrNotFound.
func (a *App) Request(ctx context.Context, id model.ID) (model.Request, error) {
	return getObj[model.Request](ctx, a.store, model.KindRequest, id)
}

// Folder returns the folder id; errors wrap model.ErrNotFound.
func (a *App) Folder(ctx context.Context, id model.ID) (model.Folder, error) {
	return getObj[model.Folder](ctx, a.store, model.KindFolder, id)
}

// Collection returns the collection id; errors wrap model.ErrNotFound.
func (a *App) Collection(ctx context.Context, id model.ID) (model.Collection, error) {
	return getObj[model.Collection](ctx, a.store, model.KindCollection, id)
}

// SaveRequest saves req and returns it as stored.
//
// A request without an ID is new: it needs req.Collection (and optionally
// req.Parent, a folder of that collection; empty means the collection's
// root) and is placed last. A request with an ID updates the stored one:
// the fields that differ from the stored request are written (prefer
// SaveRequestChanges when the editor kept what it loaded), and its place
// (collection, parent, order) is kept as stored; use Move to move it. An empty method
// becomes GET and an empty name the URL.
//
// Errors wrap model.ErrInvalid (no collection), model.ErrNotFound (the
// collection, parent or request does not exist) or the store's error.
func (a *App) SaveRequest(ctx context.Context, req model.Request) (model.Request, error) {
	req.Method = strings.ToUpper(strings.TrimSpace(req.Method))
	if req.Method == "" {
		req.Method = "GET"
	}
	if strings.TrimSpace(req.Name) == "" {
		req.Name = cmpOr(strings.TrimSpace(req.URL), "New request")
	}
	if req.ID == "" {
		return a.createRequest(ctx, req)
	}
	return a.updateRequest(ctx, nil, req)
}

// SaveRequestChanges updates the saved request req.ID with the fields in
// which req differs from base, the request as the editor loaded it: a field
// the user did not touch is not written, so another device's edit of it
// survives (per-field last-writer-wins). It returns the request as stored
// afterwards. Its place is kept, as in SaveRequest. Errors wrap
// model.ErrNotFound or the store's error.
func (a *App) SaveRequestChanges(ctx context.Context, base, req model.Request) (model.Request, error) {
	if req.ID == "" || base.ID != req.ID {
		return model.Request{}, fmt.Errorf("save request changes: base %q is not request %q: %w", base.ID, req.ID, model.ErrInvalid)
	}
	return a.updateRequest(ctx, &base, req)
}

// updateRequest writes the fields of req that differ from base, or from
// the stored request when base is nil, keeping the stored place.
func (a *App) updateRequest(ctx context.Context, base *model.Request, req model.Request) (model.Request, error) {
	old, err := a.store.Get(ctx, model.KindRequest, req.ID)
	if err != nil {
		return model.Request{}, fmt.Errorf("save request %s: %w", req.ID, err)
	}
	stored, err := model.Decode[model.Request](old)
	if err != nil {
		return model.Request{}, err
	}
	req.Collection, req.Parent, req.Order = stored.Collection, stored.Parent, stored.Order
	from := old
	if base != nil {
		b := *base
		b.Collection, b.Parent, b.Order = req.Collection, req.Parent, req.Order
		if from, err = model.Encode(&b); err != nil {
			return model.Request{}, err
		}
	}
	op, changed, err := updateOp(from, &req)
	if err != nil {
		return model.Request{}, err
	}
	if changed {
		if err := a.store.Apply(ctx, op); err != nil {
			return model.Request{}, fmt.Errorf("save request %s: %w", req.ID, err)
		}
	}
	return a.Request(ctx, req.ID)
}

func (a *App) createRequest(ctx context.Context, req model.Request) (model.Request, error) {
	if req.Collection == "" {
		return model.Request{}, fmt.Errorf("save request %q: choose a collection: %w", req.Name, model.ErrInvalid)
	}
	ws, err := a.loadWorkspace(ctx)
	if err != nil {
		return model.Request{}, err
	}
	if req.Parent == "" {
		req.Parent = req.Collection
	}
	coll, err := ws.collectionOf(req.Parent)
	if err != nil {
		return model.Request{}, err
	}
	if coll != req.Collection {
		return model.Request{}, fmt.Errorf("save request: folder %s is not in collection %s: %w", req.Parent, req.Collection, model.ErrInvalid)
	}
	req.ID = model.NewID()
	req.Order = keyAfter(ws.childKeys(coll, req.Parent))
	if err := a.put(ctx, model.KindRequest, req.ID, &req); err != nil {
		return model.Request{}, err
	}
	return req, nil
}

// put writes every field of v as record (kind, id).
func (a *App) put(ctx context.Context, kind model.Kind, id model.ID, v any) error {
	op, err := model.UpsertOp(kind, id, v)
	if err != nil {
		return err
	}
	if err := a.store.Apply(ctx, op); err != nil {
		return fmt.Errorf("save %s %s: %w", kind, id, err)
	}
	return nil
}

// Rename sets the name of a collection, folder, request, environment or
// header preset. Errors wrap model.ErrNotFound, or model.ErrInvalid for an
// empty name or another kind.
func (a *App) Rename(ctx context.Context, kind model.Kind, id model.ID, name string) error {
	switch kind {
	case model.KindCollection, model.KindFolder, model.KindRequest, model.KindEnvironment, model.KindHeaderPreset:
	default:
		return fmt.Errorf("rename %s %s: cannot rename this kind: %w", kind, id, model.ErrInvalid)
	}
	name, err := cleanName(string(kind), name)
	if err != nil {
		return err
	}
	if _, err := a.store.Get(ctx, kind, id); err != nil {
		return fmt.Errorf("rename %s %s: %w", kind, id, err)
	}
	op, err := setFieldOp(kind, id, "name", name)
	if err != nil {
		return err
	}
	if err := a.store.Apply(ctx, op); err != nil {
		return fmt.Errorf("rename %s %s: %w", kind, id, err)
	}
	return nil
}

func cmpOr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
