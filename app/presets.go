package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/courierapp/courier/model"
)

// HeaderPresets returns every header preset in display order.
func (a *App) HeaderPresets(ctx context.Context) ([]model.HeaderPreset, error) {
	ps, err := listObj[model.HeaderPreset](ctx, a, model.KindHeaderPreset)
	if err != nil {
		return nil, err
	}
	sortFunc(ps, func(x, y model.HeaderPreset) int { return byOrder(x.Order, x.Name, x.ID, y.Order, y.Name, y.ID) })
	return ps, nil
}

// SaveHeaderPreset creates (empty ID: placed last) or updates (only the
// changed fields are written) a preset and returns it as stored. Errors
// wrap model.ErrInvalid (empty name, a header without a name) or
// model.ErrNotFound.
func (a *App) SaveHeaderPreset(ctx context.Context, p model.HeaderPreset) (model.HeaderPreset, error) {
	name, err := cleanName("preset", p.Name)
	if err != nil {
		return model.HeaderPreset{}, err
	}
	p.Name = name
	for i, h := range p.Headers {
		if strings.TrimSpace(h.Key) == "" {
			return model.HeaderPreset{}, fmt.Errorf("preset %q: header %d has no name: %w", name, i+1, model.ErrInvalid)
		}
	}
	if p.ID == "" {
		ps, err := a.HeaderPresets(ctx)
		if err != nil {
			return model.HeaderPreset{}, err
		}
		keys := make([]string, len(ps))
		for i, x := range ps {
			keys[i] = x.Order
		}
		p.ID, p.Order = model.NewID(), keyAfter(keys)
		return p, a.put(ctx, model.KindHeaderPreset, p.ID, &p)
	}
	old, err := a.store.Get(ctx, model.KindHeaderPreset, p.ID)
	if err != nil {
		return model.HeaderPreset{}, fmt.Errorf("save preset %s: %w", p.ID, err)
	}
	if p.Order == "" {
		prev, _ := model.Decode[model.HeaderPreset](old)
		p.Order = prev.Order
	}
	op, changed, err := updateOp(old, &p)
	if err != nil || !changed {
		return p, err
	}
	if err := a.store.Apply(ctx, op); err != nil {
		return model.HeaderPreset{}, fmt.Errorf("save preset %s: %w", p.ID, err)
	}
	return p, nil
}

// DeleteHeaderPreset deletes preset id. Errors wrap model.ErrNotFound.
func (a *App) DeleteHeaderPreset(ctx context.Context, id model.ID) error {
	return a.Delete(ctx, model.KindHeaderPreset, id)
}

// ApplyPreset returns req with the preset's enabled headers added: a header
// req already has (same name, case-insensitively) takes the preset's value
// and is enabled; others are appended in the preset's order. req is not
// modified.
func ApplyPreset(req model.Request, preset model.HeaderPreset) model.Request {
	req.Headers = slices.Clone(req.Headers)
	for _, h := range preset.Headers {
		if h.Disabled || strings.TrimSpace(h.Key) == "" {
			continue
		}
		i := slices.IndexFunc(req.Headers, func(x model.KV) bool { return strings.EqualFold(x.Key, h.Key) })
		if i < 0 {
			req.Headers = append(req.Headers, model.KV{Key: h.Key, Value: h.Value, Description: h.Description})
			continue
		}
		req.Headers[i].Value = h.Value
		req.Headers[i].Disabled = false
	}
	return req
}
