package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/courierapp/courier/model"
)

// decoder carries what every step of one import needs.
type decoder struct {
	ctx   context.Context
	b     *Bundle
	items int
}

// checkCtx looks at the context every few hundred items, so a cancelled
// import of a large file stops promptly without paying for a check per item.
func (d *decoder) checkCtx() error {
	d.items++
	if d.items%256 != 0 {
		return nil
	}
	if err := d.ctx.Err(); err != nil {
		return fmt.Errorf("import cancelled: %w", err)
	}
	return nil
}

// orderKeys returns n order keys in increasing order.
func orderKeys(n int) []string {
	keys, _ := model.KeysBetween("", "", n) // cannot fail between open ends
	return keys
}

// collectionV2 imports a v2.0/v2.1 collection object (or one without an
// info block, whose name sits at the top level).
func (d *decoder) collectionV2(ms []member, path string, order string) error {
	c := model.Collection{ID: model.NewID(), Order: order}
	info, hasInfo := get(ms, "info")
	hasInfo = hasInfo && !isNull(info)
	if hasInfo {
		if err := d.info(&c, info, join(path, "info")); err != nil {
			return err
		}
	} else {
		setExtra(&c.Extra, "info", []byte("null"))
	}
	var items []byte
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "info":
		case "name":
			if hasInfo {
				setExtra(&c.Extra, m.key, m.val)
				continue
			}
			c.Name = scalarText(m.val)
			keepShadow(&c.Extra, m.key, m.val, encodeStr(c.Name))
		case "description":
			if hasInfo {
				setExtra(&c.Extra, m.key, m.val)
				continue
			}
			c.Description = descText(m.val)
			keepShadow(&c.Extra, m.key, m.val, encodeDesc(c.Description))
		case "item":
			if _, ok := elements(m.val); !ok {
				return pathErr(p, "must be an array of items, not %s", kindOf(m.val))
			}
			items = m.val
		case "event":
			c.Events, c.Extra = events(m.val, c.Extra)
		case "auth":
			a, err := decodeAuth(m.val, p)
			if err != nil {
				return err
			}
			c.Auth = a
			keepAuthShadow(&c.Extra, m.val, a)
		case "variable":
			if err := d.variables(m.val, p, c.ID, varCollection); err != nil {
				return err
			}
			if els, _ := elements(m.val); len(els) == 0 {
				setExtra(&c.Extra, m.key, m.val)
			}
		default:
			setExtra(&c.Extra, m.key, m.val)
		}
	}
	if err := d.items2(items, join(path, "item"), c.ID, c.ID); err != nil {
		return err
	}
	d.b.Collections = append(d.b.Collections, c)
	return nil
}

// keepAuthShadow keeps the file's auth when its canonical form differs,
// except for v2.0 attribute objects, which export converts to v2.1 arrays.
func keepAuthShadow(extra *map[string]json.RawMessage, orig []byte, a *model.Auth) {
	if authHasObjectAttrs(orig) {
		return
	}
	keepShadow(extra, "auth", orig, encodeAuth(a))
}

func authHasObjectAttrs(b []byte) bool {
	ms, _ := members(b)
	for _, m := range ms {
		if m.key != "type" && m.val[0] == '{' {
			if am, _ := members(m.val); len(am) > 0 {
				return true
			}
		}
	}
	return false
}

// info reads the info block: name and description are modelled; the
// schema is kept as a shadow when it names v2.1 (export always writes a
// v2.1 schema); everything else (_postman_id, version, ...) is kept.
func (d *decoder) info(c *model.Collection, b []byte, path string) error {
	ms, ok := members(b)
	if !ok {
		return pathErr(path, "info must be an object, not %s", kindOf(b))
	}
	var x map[string]json.RawMessage
	for _, m := range ms {
		switch m.key {
		case "name":
			c.Name = scalarText(m.val)
			keepShadow(&x, m.key, m.val, encodeStr(c.Name))
		case "description":
			c.Description = descText(m.val)
			keepShadow(&x, m.key, m.val, encodeDesc(c.Description))
		case "schema":
			if s, _ := unquote(m.val); isV21Schema(s) {
				keepShadow(&x, m.key, m.val, jstr(schemaV21))
			}
		default:
			setExtra(&x, m.key, m.val)
		}
	}
	if x == nil {
		x = map[string]json.RawMessage{}
	}
	setExtra(&c.Extra, "info", mapJSON(x))
	return nil
}

const schemaV21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

func isV21Schema(s string) bool { return strings.Contains(s, "v2.1.") }

// items2 imports a list of v2 items under parent.
func (d *decoder) items2(b []byte, path string, coll, parent model.ID) error {
	els, _ := elements(b)
	keys := orderKeys(len(els))
	for i, e := range els {
		if err := d.checkCtx(); err != nil {
			return err
		}
		p := index(path, i)
		ms, ok := members(e)
		if !ok {
			return pathErr(p, "an item must be an object, not %s", kindOf(e))
		}
		var err error
		if sub, ok := get(ms, "item"); ok && !isNull(sub) {
			err = d.folder(ms, p, coll, parent, keys[i])
		} else {
			err = d.requestItem(ms, p, coll, parent, keys[i])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) folder(ms []member, path string, coll, parent model.ID, order string) error {
	f := model.Folder{ID: model.NewID(), Collection: coll, Parent: parent, Order: order}
	var items []byte
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "name":
			f.Name = scalarText(m.val)
			keepStrShadow(&f.Extra, m.key, m.val, false, func() []byte { return encodeStr(f.Name) })
		case "description":
			f.Description = descText(m.val)
			keepStrShadow(&f.Extra, m.key, m.val, false, func() []byte { return encodeDesc(f.Description) })
		case "item":
			if _, ok := elements(m.val); !ok {
				return pathErr(p, "must be an array of items, not %s", kindOf(m.val))
			}
			items = m.val
		case "event":
			f.Events, f.Extra = events(m.val, f.Extra)
		case "auth":
			a, err := decodeAuth(m.val, p)
			if err != nil {
				return err
			}
			f.Auth = a
			keepAuthShadow(&f.Extra, m.val, a)
		default:
			setExtra(&f.Extra, m.key, m.val)
		}
	}
	d.b.Folders = append(d.b.Folders, f)
	return d.items2(items, join(path, "item"), coll, f.ID)
}

// requestItem imports an item that is a request. Item-level keys go to
// Request.Extra; the request object's own unknown keys and shadows go to
// Request.Extra["request"] (an object), or the whole request when the
// file gave it as a URL string.
func (d *decoder) requestItem(ms []member, path string, coll, parent model.ID, order string) error {
	r := model.Request{ID: model.NewID(), Method: "GET", Collection: coll, Parent: parent, Order: order}
	var reqRaw []byte
	for _, m := range ms {
		switch m.key {
		case "name":
			r.Name = scalarText(m.val)
			keepStrShadow(&r.Extra, m.key, m.val, false, func() []byte { return encodeStr(r.Name) })
		case "event":
			r.Events, r.Extra = events(m.val, r.Extra)
		case "request":
			reqRaw = m.val
		default:
			setExtra(&r.Extra, m.key, m.val)
		}
	}
	if reqRaw != nil {
		if err := decodeRequest(&r, reqRaw, join(path, "request")); err != nil {
			return err
		}
	} else {
		setExtra(&r.Extra, keyNoRequest, []byte("true"))
	}
	if r.Description == "" && !requestHasDescription(r) {
		if desc, ok := get(ms, "description"); ok && descText(desc) != "" {
			r.Description = descText(desc)
			setExtra(&r.Extra, keyDescOnItem, []byte("true"))
		}
	}
	d.b.Requests = append(d.b.Requests, r)
	return nil
}

// requestHasDescription reports whether the file's request object had a
// description key (possibly empty or null).
func requestHasDescription(r model.Request) bool {
	if !bytes.Contains(r.Extra["request"], []byte(`"description":`)) {
		return false
	}
	_, ok := reqExtra(r)["description"]
	return ok
}

// reqExtra returns the request-object extras of r (nil when none).
func reqExtra(r model.Request) map[string]json.RawMessage {
	b := r.Extra["request"]
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	return rawMap(b)
}

func decodeRequest(r *model.Request, b []byte, path string) error {
	if s, ok := unquote(b); ok {
		r.URL = s
		setExtra(&r.Extra, "request", b)
		return nil
	}
	ms, ok := members(b)
	if !ok {
		return pathErr(path, "request must be an object or a URL string, not %s", kindOf(b))
	}
	var x map[string]json.RawMessage
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "url":
			if m.val[0] != '"' && m.val[0] != '{' && !isNull(m.val) {
				return pathErr(p, "url must be a string or an object, not %s", kindOf(m.val))
			}
			r.URL = urlText(m.val)
			keepStrShadow(&x, m.key, m.val, false, func() []byte { return encodeURL(r.URL) })
		case "method":
			r.Method = strings.ToUpper(scalarText(m.val))
			keepShadow(&x, m.key, m.val, jstr(r.Method))
		case "header":
			h, err := decodeHeaders(m.val, p, kvV2)
			if err != nil {
				return err
			}
			r.Headers = h
			if els, ok := elements(m.val); !ok || len(els) == 0 {
				keepShadow(&x, m.key, m.val, encodeKVs(h))
			}
		case "body":
			body, err := decodeBody(m.val, p)
			if err != nil {
				return err
			}
			r.Body = body
			if !bodyExact(body, m.val) {
				keepShadow(&x, m.key, m.val, encodeBody(body))
			}
		case "auth":
			a, err := decodeAuth(m.val, p)
			if err != nil {
				return err
			}
			if a != nil {
				r.Auth = *a
			}
			if authHasObjectAttrs(m.val) {
				continue
			}
			keepShadow(&x, m.key, m.val, encodeAuth(a))
		case "description":
			r.Description = descText(m.val)
			keepStrShadow(&x, m.key, m.val, false, func() []byte { return encodeDesc(r.Description) })
		default:
			setExtra(&x, m.key, m.val)
		}
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	if x == nil {
		return nil
	}
	setExtra(&r.Extra, "request", mapJSON(x))
	return nil
}

// variables imports a list of variables owned by owner.
func (d *decoder) variables(b []byte, path string, owner model.ID, style varStyle) error {
	els, ok := elements(b)
	if !ok {
		if isNull(b) {
			return nil
		}
		return pathErr(path, "must be an array of variables, not %s", kindOf(b))
	}
	keys := orderKeys(len(els))
	for i, e := range els {
		v, err := decodeVar(e, index(path, i), owner, style)
		if err != nil {
			return err
		}
		v.ID = model.NewID()
		v.Order = keys[i]
		d.b.Variables = append(d.b.Variables, v)
	}
	return nil
}

// sortByOrder sorts s by order key, then ID.
func sortByOrder[T any](s []T, key func(T) (string, model.ID)) {
	slices.SortStableFunc(s, func(a, b T) int {
		ao, ai := key(a)
		bo, bi := key(b)
		if c := strings.Compare(ao, bo); c != 0 {
			return c
		}
		return strings.Compare(string(ai), string(bi))
	})
}

// events returns the event list to keep in Events. An explicit null goes to
// Extra instead: a stored record cannot tell a null field from an absent one.
func events(b []byte, extra map[string]json.RawMessage) (json.RawMessage, map[string]json.RawMessage) {
	if isNull(b) {
		setExtra(&extra, "event", b)
		return nil, extra
	}
	return raw(b), extra
}
