package postman

import (
	"encoding/json"
	"fmt"

	"github.com/courierapp/courier/model"
)

// Kind is the kind of file Detect recognises.
type Kind string

// The kinds of file Import reads.
const (
	KindCollectionV1  Kind = "collection-v1" // Postman's older collection format
	KindCollectionV20 Kind = "collection-v2.0"
	KindCollectionV21 Kind = "collection-v2.1" // also v2-shaped files with no schema
	KindItems         Kind = "items"           // a bare JSON array of v2 items
	KindEnvironment   Kind = "environment"
	KindGlobals       Kind = "globals" // an object with values, or a bare array
	KindDump          Kind = "dump"    // a Postman data dump
	KindCurl          Kind = "curl"    // a cURL command line
)

// Bundle is everything one import yields, as domain values with fresh IDs,
// ready to be stored (Ops) or exported again. Root folders and requests
// have Parent set to their collection's ID; each list of siblings carries
// order keys in file order. Variables are owned by a collection, an
// environment, or model.GlobalsID.
type Bundle struct {
	Kind          Kind
	Collections   []model.Collection
	Folders       []model.Folder
	Requests      []model.Request
	Environments  []model.Environment
	Variables     []model.Variable
	HeaderPresets []model.HeaderPreset
	// Globals describes the globals file, when Kind is KindGlobals or a
	// dump held globals. The model has no globals record, so this is not
	// stored; it lets ExportGlobals write the same shape back.
	Globals *GlobalsMeta
	// DumpExtra keeps a dump's own top-level keys (version, ...); not
	// stored either.
	DumpExtra map[string]json.RawMessage
}

// GlobalsMeta is the shape of a globals file: a bare array of variables,
// or an object whose other keys (id, name, _postman_variable_scope, ...)
// are in Extra.
type GlobalsMeta struct {
	Array bool
	Extra map[string]json.RawMessage
}

// Ops returns one upsert per value of the bundle (collections, folders,
// requests, environments, variables, header presets, in that order). The
// caller applies them in one transaction.
func (b *Bundle) Ops() ([]model.Op, error) {
	n := len(b.Collections) + len(b.Folders) + len(b.Requests) + len(b.Environments) + len(b.Variables) + len(b.HeaderPresets)
	ops := make([]model.Op, 0, n)
	add := func(kind model.Kind, id model.ID, v any) error {
		op, err := model.UpsertOp(kind, id, v)
		if err != nil {
			return fmt.Errorf("import %s %s: %w", kind, id, err)
		}
		ops = append(ops, op)
		return nil
	}
	for i := range b.Collections {
		if err := add(model.KindCollection, b.Collections[i].ID, &b.Collections[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Folders {
		if err := add(model.KindFolder, b.Folders[i].ID, &b.Folders[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Requests {
		if err := add(model.KindRequest, b.Requests[i].ID, &b.Requests[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Environments {
		if err := add(model.KindEnvironment, b.Environments[i].ID, &b.Environments[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Variables {
		if err := add(model.KindVariable, b.Variables[i].ID, &b.Variables[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.HeaderPresets {
		if err := add(model.KindHeaderPreset, b.HeaderPresets[i].ID, &b.HeaderPresets[i]); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// VariablesOf returns the variables owned by owner, in order.
func (b *Bundle) VariablesOf(owner model.ID) []model.Variable {
	var out []model.Variable
	for _, v := range b.Variables {
		if v.Owner == owner {
			out = append(out, v)
		}
	}
	sortByOrder(out, func(v model.Variable) (string, model.ID) { return v.Order, v.ID })
	return out
}
