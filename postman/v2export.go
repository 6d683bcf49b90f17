package postman

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
)

// ExportCollection writes collection c as a Postman Collection v2.1 file:
// its folders and requests (those whose Collection is c.ID; an item whose
// parent is missing goes to the root), siblings in order-key order, and
// the variables owned by c. Whatever the import kept in Extra maps is
// written back. It fails with model.ErrInvalid only when a kept value is
// not valid JSON.
func ExportCollection(c model.Collection, folders []model.Folder, reqs []model.Request, vars []model.Variable) ([]byte, error) {
	b, err := collectionJSON(c, folders, reqs, vars)
	if err != nil {
		return nil, err
	}
	return indent(b)
}

// indent checks that b, built from the model and the values the import
// kept, is valid JSON, and lays it out the way Postman writes its files
// (tabs, "key": value). A kept value that is not valid JSON makes it fail
// with model.ErrInvalid.
func indent(b []byte) ([]byte, error) {
	c, err := compactInPlace(context.Background(), b)
	if err != nil {
		return nil, fmt.Errorf("export: a kept value is broken: %w", err)
	}
	out := make([]byte, 0, len(c)+len(c)/3)
	depth := 0
	newline := func() {
		out = append(out, '\n')
		for range depth {
			out = append(out, '\t')
		}
	}
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; ch {
		case '"':
			n := skipString(c[i:])
			out = append(out, c[i:i+n]...)
			i += n - 1
		case '{', '[':
			if i+1 < len(c) && (c[i+1] == '}' || c[i+1] == ']') {
				out = append(out, ch, c[i+1])
				i++
				continue
			}
			out = append(out, ch)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			out = append(out, ch)
		case ',':
			out = append(out, ',')
			newline()
		case ':':
			out = append(out, ':', ' ')
		default:
			out = append(out, ch)
		}
	}
	return out, nil
}

// node is a folder or a request in the tree being exported.
type node struct {
	order  string
	id     model.ID
	folder *model.Folder
	req    *model.Request
}

type tree struct {
	children map[model.ID][]node
	visited  map[model.ID]bool
}

func buildTree(c model.Collection, folders []model.Folder, reqs []model.Request) *tree {
	t := &tree{children: map[model.ID][]node{}, visited: map[model.ID]bool{}}
	known := map[model.ID]bool{c.ID: true}
	for _, f := range folders {
		if f.Collection == c.ID || f.Collection == "" {
			known[f.ID] = true
		}
	}
	parentOf := func(p model.ID) model.ID {
		if known[p] {
			return p
		}
		return c.ID
	}
	for i := range folders {
		f := &folders[i]
		if known[f.ID] {
			t.children[parentOf(f.Parent)] = append(t.children[parentOf(f.Parent)], node{order: f.Order, id: f.ID, folder: f})
		}
	}
	for i := range reqs {
		r := &reqs[i]
		if r.Collection == c.ID || r.Collection == "" {
			p := parentOf(r.Parent)
			t.children[p] = append(t.children[p], node{order: r.Order, id: r.ID, req: r})
		}
	}
	for k := range t.children {
		sortByOrder(t.children[k], func(n node) (string, model.ID) { return n.order, n.id })
	}
	return t
}

func collectionJSON(c model.Collection, folders []model.Folder, reqs []model.Request, vars []model.Variable) ([]byte, error) {
	t := buildTree(c, folders, reqs)
	o := obj{}
	noInfo := isNull(c.Extra["info"])
	if noInfo {
		o.set("name", chooseShadow(c.Extra, "name", encodeStr(c.Name), recanonStr))
		o.set("description", exportDesc(c.Extra, "description", c.Description))
	} else {
		o.set("info", infoJSON(c))
	}
	t.visited[c.ID] = true
	o.setFunc("item", func(dst []byte) []byte {
		dst = append(dst, '[')
		dst = t.appendItems(dst, c.ID)
		// Folders in a parent cycle are reachable from nowhere: put them at the root.
		for i := range folders {
			f := &folders[i]
			if !t.visited[f.ID] && (f.Collection == c.ID || f.Collection == "") {
				t.visited[f.ID] = true
				if dst[len(dst)-1] != '[' {
					dst = append(dst, ',')
				}
				dst = t.appendFolder(dst, f)
			}
		}
		return append(dst, ']')
	})
	o.set("event", eventsJSON(c.Events, c.Extra))
	if a := encodeAuth(c.Auth); a != nil || c.Extra["auth"] != nil {
		o.set("auth", chooseShadow(c.Extra, "auth", a, recanonAuth))
	}
	if vs := ownVars(vars, c.ID); len(vs) > 0 {
		items := make([][]byte, len(vs))
		for i, v := range vs {
			items[i] = exportVar(v, varCollection)
		}
		o.set("variable", array(items))
	}
	skip := []string{"info", "item", "event", "auth"}
	if noInfo {
		skip = append(skip, "name", "description")
	}
	o.extras(c.Extra, skip...)
	return o.appendTo(make([]byte, 0, sizeHint(reqs, folders))), nil
}

// sizeHint guesses the size of an export, so its buffer grows rarely.
func sizeHint(reqs []model.Request, folders []model.Folder) int {
	n := 1 << 12
	for i := range reqs {
		r := &reqs[i]
		n += 256 + len(r.Name) + len(r.URL) + len(r.Body.Raw) + len(r.Events) + len(r.Description) + 64*len(r.Headers)
		for _, v := range r.Extra {
			n += len(v)
		}
	}
	for i := range folders {
		n += 128 + len(folders[i].Events) + len(folders[i].Description)
	}
	return n
}

func recanonStr(b []byte) []byte { return encodeStr(scalarText(b)) }

func ownVars(vars []model.Variable, owner model.ID) []model.Variable {
	var vs []model.Variable
	for _, v := range vars {
		if v.Owner == owner {
			vs = append(vs, v)
		}
	}
	sortByOrder(vs, func(v model.Variable) (string, model.ID) { return v.Order, v.ID })
	return vs
}

func infoJSON(c model.Collection) []byte {
	x := rawMap(c.Extra["info"])
	o := obj{}
	if id, ok := x["_postman_id"]; ok {
		o.set("_postman_id", compactRaw(id))
	}
	o.set("name", chooseShadow(x, "name", jstr(c.Name), func(b []byte) []byte { return jstr(scalarText(b)) }))
	o.set("description", exportDesc(x, "description", c.Description))
	o.set("schema", chooseShadow(x, "schema", jstr(schemaV21), func(b []byte) []byte {
		if s, _ := unquote(b); isV21Schema(s) {
			return jstr(schemaV21)
		}
		return nil
	}))
	o.extras(x, "name", "description", "schema")
	return o.bytes()
}

// appendItems appends the items under parent, separated by commas.
func (t *tree) appendItems(dst []byte, parent model.ID) []byte {
	first := true
	for _, n := range t.children[parent] {
		if t.visited[n.id] {
			continue
		}
		t.visited[n.id] = true
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if n.folder != nil {
			dst = t.appendFolder(dst, n.folder)
		} else {
			dst = append(dst, requestItemJSON(*n.req)...)
		}
	}
	return dst
}

func (t *tree) appendFolder(dst []byte, f *model.Folder) []byte {
	o := obj{}
	o.set("name", chooseShadow(f.Extra, "name", encodeStr(f.Name), recanonStr))
	o.set("description", exportDesc(f.Extra, "description", f.Description))
	o.setFunc("item", func(dst []byte) []byte {
		return append(t.appendItems(append(dst, '['), f.ID), ']')
	})
	o.set("event", eventsJSON(f.Events, f.Extra))
	if a := encodeAuth(f.Auth); a != nil || f.Extra["auth"] != nil {
		o.set("auth", chooseShadow(f.Extra, "auth", a, recanonAuth))
	}
	o.extras(f.Extra, "name", "description", "item", "event", "auth")
	return o.appendTo(dst)
}

func requestItemJSON(r model.Request) []byte {
	o := obj{}
	o.set("name", chooseShadow(r.Extra, "name", encodeStr(r.Name), recanonStr))
	descOnItem := string(r.Extra[keyDescOnItem]) == "true"
	if descOnItem {
		o.set("description", exportDesc(r.Extra, "description", r.Description))
	}
	o.set("event", eventsJSON(r.Events, r.Extra))
	o.set("request", requestJSON(r, descOnItem))
	o.extras(r.Extra, "name", "event", "request")
	return o.bytes()
}

// requestJSON writes the request object, or the file's URL string when
// the request was given as one and nothing but that URL is set.
func requestJSON(r model.Request, descOnItem bool) []byte {
	if string(r.Extra[keyNoRequest]) == "true" && isDefaultRequest(r, descOnItem) {
		return nil
	}
	sh := compactRaw(r.Extra["request"])
	if s, ok := unquote(sh); ok && s == r.URL && r.Method == "GET" && len(r.Headers) == 0 &&
		encodeBody(r.Body) == nil && encodeAuth(&r.Auth) == nil && (r.Description == "" || descOnItem) {
		return sh
	}
	var x map[string]json.RawMessage
	if len(sh) > 0 && sh[0] == '{' {
		x = rawMap(sh)
	}
	o := obj{}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	o.set("method", chooseShadow(x, "method", jstr(method), func(b []byte) []byte { return jstr(strings.ToUpper(scalarText(b))) }))
	o.set("header", chooseShadow(x, "header", encodeKVs(r.Headers), recanonHeaders))
	o.set("body", chooseShadow(x, "body", encodeBody(r.Body), recanonBody))
	o.set("auth", chooseShadow(x, "auth", encodeAuth(&r.Auth), recanonAuth))
	o.set("url", exportURL(x, r.URL))
	if !descOnItem {
		o.set("description", exportDesc(x, "description", r.Description))
	}
	o.extras(x, "method", "header", "body", "auth", "url", "description")
	return o.bytes()
}

func recanonBody(b []byte) []byte {
	body, err := decodeBody(b, "")
	if err != nil {
		return nil
	}
	return encodeBody(body)
}

// eventsJSON writes the event list, or an explicit null the file had.
func eventsJSON(ev json.RawMessage, extra map[string]json.RawMessage) []byte {
	if len(ev) > 0 && !isNull(ev) {
		return compactRaw(ev)
	}
	if x, ok := extra["event"]; ok {
		return compactRaw(x)
	}
	return nil
}

// isDefaultRequest reports whether r holds nothing but a GET: what an item
// without a request object imports as.
func isDefaultRequest(r model.Request, descOnItem bool) bool {
	return r.URL == "" && (r.Method == "GET" || r.Method == "") && len(r.Headers) == 0 &&
		encodeBody(r.Body) == nil && encodeAuth(&r.Auth) == nil && (r.Description == "" || descOnItem)
}
