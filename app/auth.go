package app

import (
	"context"
	"fmt"

	"github.com/courierapp/courier/model"
)

// maxDepth bounds walks up a folder chain, so a cycle made by two devices
// moving folders into each other cannot loop forever.
const maxDepth = 256

// EffectiveAuth returns the auth req is sent with: its own unless its type
// is model.AuthInherit, else that of the nearest folder above it, else its
// collection's; model.AuthNone when nothing up the chain sets one. from is
// the folder or collection it came from (empty for the request's own or
// none). A missing parent is skipped (the request shows at its collection's
// root); other store errors are returned.
func (a *App) EffectiveAuth(ctx context.Context, req model.Request) (auth model.Auth, from model.ID, err error) {
	if req.Auth.Type != model.AuthInherit {
		return req.Auth, "", nil
	}
	none := model.Auth{Type: model.AuthNone}
	if req.Collection == "" {
		return none, "", nil
	}
	parent := req.Parent
	for range maxDepth {
		if parent == "" || parent == req.Collection {
			break
		}
		f, err := getObj[model.Folder](ctx, a.store, model.KindFolder, parent)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return none, "", fmt.Errorf("auth of request %s: %w", req.ID, err)
		}
		if f.Collection != req.Collection {
			break
		}
		if f.Auth != nil && f.Auth.Type != model.AuthInherit {
			return *f.Auth, f.ID, nil
		}
		parent = f.Parent
	}
	c, err := getObj[model.Collection](ctx, a.store, model.KindCollection, req.Collection)
	if isNotFound(err) {
		return none, "", nil
	}
	if err != nil {
		return none, "", fmt.Errorf("auth of request %s: %w", req.ID, err)
	}
	if c.Auth != nil && c.Auth.Type != model.AuthInherit {
		return *c.Auth, c.ID, nil
	}
	return none, "", nil
}
