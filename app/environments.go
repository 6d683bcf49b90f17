package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
)

// Environments returns every environment in display order.
func (a *App) Environments(ctx context.Context) ([]model.Environment, error) {
	es, err := listObj[model.Environment](ctx, a, model.KindEnvironment)
	if err != nil {
		return nil, err
	}
	sortFunc(es, func(x, y model.Environment) int { return byOrder(x.Order, x.Name, x.ID, y.Order, y.Name, y.ID) })
	return es, nil
}

// EnvironmentByName returns the environment called name: an exact match
// first, else a case-insensitive one, else an error wrapping
// model.ErrNotFound. With several of the same name, the first in display
// order wins.
func (a *App) EnvironmentByName(ctx context.Context, name string) (model.Environment, error) {
	es, err := a.Environments(ctx)
	if err != nil {
		return model.Environment{}, err
	}
	for _, e := range es {
		if e.Name == name {
			return e, nil
		}
	}
	for _, e := range es {
		if strings.EqualFold(e.Name, name) {
			return e, nil
		}
	}
	return model.Environment{}, fmt.Errorf("environment %q: %w", name, model.ErrNotFound)
}

// CreateEnvironment adds an empty environment at the end of the list.
// Errors wrap model.ErrInvalid for an empty name.
func (a *App) CreateEnvironment(ctx context.Context, name string) (model.Environment, error) {
	name, err := cleanName("environment", name)
	if err != nil {
		return model.Environment{}, err
	}
	es, err := a.Environments(ctx)
	if err != nil {
		return model.Environment{}, err
	}
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Order
	}
	e := model.Environment{ID: model.NewID(), Name: name, Order: keyAfter(keys)}
	if err := a.put(ctx, model.KindEnvironment, e.ID, &e); err != nil {
		return model.Environment{}, err
	}
	return e, nil
}

// RenameEnvironment renames environment id; see Rename.
func (a *App) RenameEnvironment(ctx context.Context, id model.ID, name string) error {
	return a.Rename(ctx, model.KindEnvironment, id, name)
}

// DeleteEnvironment deletes environment id and its variables in one Apply,
// and clears it as the active environment. Errors wrap model.ErrNotFound.
func (a *App) DeleteEnvironment(ctx context.Context, id model.ID) error {
	if _, err := a.store.Get(ctx, model.KindEnvironment, id); err != nil {
		return fmt.Errorf("delete environment %s: %w", id, err)
	}
	ops, err := a.variableDeleteOps(ctx, id)
	if err != nil {
		return err
	}
	ops = append([]model.Op{model.DeleteOp(model.KindEnvironment, id)}, ops...)
	if err := a.store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("delete environment %s: %w", id, err)
	}
	return a.updateSettings(ctx, func(s *Settings) {
		if s.ActiveEnvironment == id {
			s.ActiveEnvironment = ""
		}
	})
}

// Variables returns the variables of owner (an environment's or
// collection's ID, or model.GlobalsID) in display order.
func (a *App) Variables(ctx context.Context, owner model.ID) ([]model.Variable, error) {
	all, err := listObj[model.Variable](ctx, a, model.KindVariable)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, v := range all {
		if v.Owner == owner {
			out = append(out, v)
		}
	}
	sortFunc(out, func(x, y model.Variable) int { return byOrder(x.Order, x.Name, x.ID, y.Order, y.Name, y.ID) })
	return out, nil
}

// SaveVariable creates (empty ID: new ID, placed last) or updates (only
// the changed fields are written) a variable and returns it as stored. The
// owner must be model.GlobalsID or an existing environment or collection.
// Errors wrap model.ErrInvalid (empty name, name with braces) or
// model.ErrNotFound (owner or variable).
func (a *App) SaveVariable(ctx context.Context, v model.Variable) (model.Variable, error) {
	name, err := cleanName("variable", v.Name)
	if err != nil {
		return model.Variable{}, err
	}
	if strings.ContainsAny(name, "{}") {
		return model.Variable{}, fmt.Errorf("variable name %q must not contain braces: %w", name, model.ErrInvalid)
	}
	v.Name = name
	if err := a.checkOwner(ctx, v.Owner); err != nil {
		return model.Variable{}, err
	}
	if v.ID == "" {
		vs, err := a.Variables(ctx, v.Owner)
		if err != nil {
			return model.Variable{}, err
		}
		keys := make([]string, len(vs))
		for i, x := range vs {
			keys[i] = x.Order
		}
		v.ID, v.Order = model.NewID(), keyAfter(keys)
		return v, a.put(ctx, model.KindVariable, v.ID, &v)
	}
	old, err := a.store.Get(ctx, model.KindVariable, v.ID)
	if err != nil {
		return model.Variable{}, fmt.Errorf("save variable %s: %w", v.ID, err)
	}
	if v.Order == "" {
		prev, _ := model.Decode[model.Variable](old)
		v.Order = prev.Order
	}
	op, changed, err := updateOp(old, &v)
	if err != nil || !changed {
		return v, err
	}
	if err := a.store.Apply(ctx, op); err != nil {
		return model.Variable{}, fmt.Errorf("save variable %s: %w", v.ID, err)
	}
	return v, nil
}

func (a *App) checkOwner(ctx context.Context, owner model.ID) error {
	if owner == model.GlobalsID {
		return nil
	}
	if owner == "" {
		return fmt.Errorf("variable has no owner: %w", model.ErrInvalid)
	}
	_, err := a.store.Get(ctx, model.KindEnvironment, owner)
	if isNotFound(err) {
		_, err = a.store.Get(ctx, model.KindCollection, owner)
	}
	if err != nil {
		return fmt.Errorf("variable owner %s: %w", owner, err)
	}
	return nil
}

// DeleteVariable deletes variable id. Errors wrap model.ErrNotFound.
func (a *App) DeleteVariable(ctx context.Context, id model.ID) error {
	if _, err := a.store.Get(ctx, model.KindVariable, id); err != nil {
		return fmt.Errorf("delete variable %s: %w", id, err)
	}
	if err := a.store.Apply(ctx, model.DeleteOp(model.KindVariable, id)); err != nil {
		return fmt.Errorf("delete variable %s: %w", id, err)
	}
	return nil
}

// SetActiveEnvironment makes id the environment requests resolve with;
// empty means none. Errors wrap model.ErrNotFound.
func (a *App) SetActiveEnvironment(ctx context.Context, id model.ID) error {
	if id != "" {
		if _, err := a.store.Get(ctx, model.KindEnvironment, id); err != nil {
			return fmt.Errorf("activate environment %s: %w", id, err)
		}
	}
	return a.updateSettings(ctx, func(s *Settings) { s.ActiveEnvironment = id })
}

// ActiveEnvironment returns the active environment's ID, or empty when none
// is active or the active one was deleted (on another device, say).
func (a *App) ActiveEnvironment(ctx context.Context) (model.ID, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return "", err
	}
	if s.ActiveEnvironment == "" {
		return "", nil
	}
	if _, err := a.store.Get(ctx, model.KindEnvironment, s.ActiveEnvironment); err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("active environment: %w", err)
	}
	return s.ActiveEnvironment, nil
}

// scope gathers the enabled variables of the globals, collection coll and
// environment env (either may be empty), and the names that two enabled
// variables of one level share, each with its level ("globals", ...).
func (a *App) scope(ctx context.Context, coll, env model.ID) (Scope, map[string]string, error) {
	all, err := listObj[model.Variable](ctx, a, model.KindVariable)
	if err != nil {
		return Scope{}, nil, err
	}
	twins := map[string]string{}
	sortFunc(all, func(x, y model.Variable) int { return byOrder(x.Order, x.Name, x.ID, y.Order, y.Name, y.ID) })
	s := Scope{Globals: map[string]string{}, Collection: map[string]string{}, Environment: map[string]string{}}
	for _, v := range all {
		if !v.Enabled {
			continue
		}
		var m map[string]string
		var level string
		switch {
		case v.Owner == model.GlobalsID:
			m, level = s.Globals, "globals"
		case coll != "" && v.Owner == coll:
			m, level = s.Collection, "collection variables"
		case env != "" && v.Owner == env:
			m, level = s.Environment, "environment variables"
		default:
			continue
		}
		if _, dup := m[v.Name]; !dup { // the first in display order wins
			m[v.Name] = v.Value
		} else {
			twins[v.Name] = level
		}
	}
	return s, twins, nil
}
