package postman

import (
	"fmt"

	"github.com/courierapp/courier/model"
)

// dump imports a Postman data dump: {version, collections, environments,
// globals, headerPresets}. Collections may be v1 or v2; each is detected
// on its own.
func (d *decoder) dump(ms []member, after string) error {
	var colls, envs [][]byte
	for _, m := range ms {
		p := m.key
		switch m.key {
		case "collections", "environments":
			els, ok := elements(m.val)
			if !ok {
				if isNull(m.val) {
					continue
				}
				return pathErr(p, "must be an array, not %s", kindOf(m.val))
			}
			if m.key == "collections" {
				colls = els
			} else {
				envs = els
			}
		case "globals":
			if isNull(m.val) {
				continue
			}
			if err := d.globals(m.val, p); err != nil {
				return err
			}
		case "headerPresets":
			if err := d.headerPresets(m.val, p); err != nil {
				return err
			}
		default:
			setExtra(&d.b.DumpExtra, m.key, m.val)
		}
	}
	if err := d.dumpCollections(colls, after); err != nil {
		return err
	}
	keys, err := model.KeysBetween(after, "", len(envs))
	if err != nil {
		return fmt.Errorf("import: options: %w", err)
	}
	for i, e := range envs {
		p := index("environments", i)
		em, ok := members(e)
		if !ok {
			return pathErr(p, "an environment must be an object, not %s", kindOf(e))
		}
		if err := d.environment(em, p, keys[i]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) dumpCollections(colls [][]byte, after string) error {
	keys, err := model.KeysBetween(after, "", len(colls))
	if err != nil {
		return fmt.Errorf("import: options: %w", err)
	}
	for i, c := range colls {
		p := index("collections", i)
		cm, ok := members(c)
		if !ok {
			return pathErr(p, "a collection must be an object, not %s", kindOf(c))
		}
		k, err := detectCompact(c)
		switch {
		case err != nil:
			return pathErr(p, "not a collection: %v", err)
		case k == KindCollectionV1:
			err = d.collectionV1(cm, p, keys[i])
		case k == KindCollectionV20 || k == KindCollectionV21:
			err = d.collectionV2(cm, p, keys[i])
		default:
			return pathErr(p, "not a collection (looks like %s)", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// headerPresets imports [{id, name, headers: [{key, value, ...}]}]. The
// model keeps a preset's name and headers only: Postman's preset id and
// other preset keys are not kept (model.HeaderPreset has no Extra).
func (d *decoder) headerPresets(b []byte, path string) error {
	els, ok := elements(b)
	if !ok {
		if isNull(b) {
			return nil
		}
		return pathErr(path, "must be an array, not %s", kindOf(b))
	}
	keys := orderKeys(len(els))
	for i, e := range els {
		p := index(path, i)
		ms, ok := members(e)
		if !ok {
			return pathErr(p, "a header preset must be an object, not %s", kindOf(e))
		}
		hp := model.HeaderPreset{ID: model.NewID(), Order: keys[i]}
		for _, m := range ms {
			switch m.key {
			case "name":
				hp.Name = scalarText(m.val)
			case "headers":
				h, err := decodeHeaders(m.val, join(p, m.key), kvPreset)
				if err != nil {
					return err
				}
				hp.Headers = h
			}
		}
		d.b.HeaderPresets = append(d.b.HeaderPresets, hp)
	}
	return nil
}

// ExportDump writes the bundle as a Postman data dump: every collection
// (as v2.1, with its folders, requests and variables), every environment,
// the globals and the header presets.
func ExportDump(b *Bundle) ([]byte, error) {
	o := obj{}
	if v, ok := b.DumpExtra["version"]; ok {
		o.set("version", compactRaw(v))
	} else {
		o.set("version", []byte("1"))
	}
	colls := sortedCopy(b.Collections, func(c model.Collection) (string, model.ID) { return c.Order, c.ID })
	items := make([][]byte, 0, len(colls))
	for _, c := range colls {
		cb, err := collectionJSON(c, b.Folders, b.Requests, b.Variables)
		if err != nil {
			return nil, err
		}
		items = append(items, cb)
	}
	o.set("collections", array(items))
	envs := sortedCopy(b.Environments, func(e model.Environment) (string, model.ID) { return e.Order, e.ID })
	items = make([][]byte, 0, len(envs))
	for _, e := range envs {
		items = append(items, environmentJSON(e, b.Variables))
	}
	o.set("environments", array(items))
	o.set("headerPresets", headerPresetsJSON(b.HeaderPresets))
	meta := b.Globals
	if meta == nil {
		meta = &GlobalsMeta{Array: true}
	}
	o.set("globals", globalsJSON(b.Variables, meta))
	o.extras(b.DumpExtra, "version")
	return indent(o.bytes())
}

func headerPresetsJSON(hps []model.HeaderPreset) []byte {
	hps = sortedCopy(hps, func(h model.HeaderPreset) (string, model.ID) { return h.Order, h.ID })
	items := make([][]byte, len(hps))
	for i, hp := range hps {
		o := obj{}
		o.set("name", jstr(hp.Name))
		h := encodeKVsStyle(hp.Headers, kvPreset)
		if h == nil {
			h = []byte("[]")
		}
		o.set("headers", h)
		items[i] = o.bytes()
	}
	return array(items)
}

func sortedCopy[T any](s []T, key func(T) (string, model.ID)) []T {
	out := append([]T(nil), s...)
	sortByOrder(out, key)
	return out
}
