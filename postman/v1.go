package postman

import (
	"encoding/json"
	"strings"

	"github.com/courierapp/courier/model"
)

// v1 collections ({id, name, order, folders, folders_order, requests}) are
// mapped onto the model the way Postman's own transformer maps them to
// v2.1: their export is v2.1, so they round-trip as records, not as v1
// text. What v2.1 has no place for (helper attributes, the flat response
// list, timestamps) is kept under Extra["courier:v1"], never exported.

type v1Coll struct {
	d       *decoder
	coll    model.ID
	reqs    map[string][]byte // v1 request id -> raw request
	reqPath map[string]string
	placed  map[string]bool
	folders map[string][]member
	fPath   map[string]string
	fPlaced map[string]bool
}

func (d *decoder) collectionV1(ms []member, path string, order string) error {
	c := model.Collection{ID: model.NewID(), Order: order}
	v := &v1Coll{d: d, coll: c.ID, reqs: map[string][]byte{}, reqPath: map[string]string{}, placed: map[string]bool{},
		folders: map[string][]member{}, fPath: map[string]string{}, fPlaced: map[string]bool{}}
	var order1, foldersOrder []string
	var folderList [][]byte
	var reqIDs []string
	var left map[string]json.RawMessage
	info := map[string]json.RawMessage{}
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "id":
			info["_postman_id"] = raw(m.val)
		case "name":
			c.Name = scalarText(m.val)
		case "description":
			c.Description = descText(m.val)
		case "order":
			order1 = stringList(m.val)
		case "folders_order":
			foldersOrder = stringList(m.val)
		case "folders":
			els, ok := elements(m.val)
			if !ok && !isNull(m.val) {
				return pathErr(p, "must be an array, not %s", kindOf(m.val))
			}
			folderList = els
		case "requests":
			ids, err := v.indexRequests(m.val, p)
			if err != nil {
				return err
			}
			reqIDs = ids
		case "auth":
			a, err := decodeAuth(m.val, p)
			if err != nil {
				return err
			}
			c.Auth = a
		case "events":
			if !isNull(m.val) {
				c.Events = raw(m.val)
			}
		case "variables":
			if err := d.variables(m.val, p, c.ID, varCollection); err != nil {
				return err
			}
		default:
			setExtra(&left, m.key, m.val)
		}
	}
	folderIDs, err := v.indexFolders(folderList, join(path, "folders"))
	if err != nil {
		return err
	}
	ib := mapJSON(info)
	setExtra(&c.Extra, "info", ib)
	if left != nil {
		lb := mapJSON(left)
		setExtra(&c.Extra, keyV1, lb)
	}
	if err := v.place(c.ID, foldersOrder, order1, folderIDs, reqIDs); err != nil {
		return err
	}
	d.b.Collections = append(d.b.Collections, c)
	return nil
}

// indexRequests records each v1 request under its id (a fresh one when
// it has none or repeats one) and returns the ids in file order.
func (v *v1Coll) indexRequests(b []byte, path string) ([]string, error) {
	els, ok := elements(b)
	if !ok && !isNull(b) {
		return nil, pathErr(path, "must be an array, not %s", kindOf(b))
	}
	ids := make([]string, 0, len(els))
	for i, e := range els {
		rm, ok := members(e)
		if !ok {
			return nil, pathErr(index(path, i), "a request must be an object, not %s", kindOf(e))
		}
		id := ""
		if idv, ok := get(rm, "id"); ok {
			id = scalarText(idv)
		}
		if _, dup := v.reqs[id]; dup || id == "" {
			id = string(model.NewID()) // unnamed or duplicate: still imported
		}
		v.reqs[id], v.reqPath[id] = e, index(path, i)
		ids = append(ids, id)
	}
	return ids, nil
}

// indexFolders records each v1 folder under its id (a fresh one when it
// has none or repeats one) and returns the ids in file order.
func (v *v1Coll) indexFolders(list [][]byte, path string) ([]string, error) {
	ids := make([]string, 0, len(list))
	for i, f := range list {
		fm, ok := members(f)
		if !ok {
			return nil, pathErr(index(path, i), "a folder must be an object, not %s", kindOf(f))
		}
		id := ""
		if idv, ok := get(fm, "id"); ok {
			id = scalarText(idv)
		}
		if _, dup := v.folders[id]; dup || id == "" {
			id = string(model.NewID())
		}
		v.folders[id], v.fPath[id] = fm, index(path, i)
		ids = append(ids, id)
	}
	return ids, nil
}

// place imports, under parent, the folders then the requests named by the
// order lists. At the collection level, folders and requests that no order
// list names are added at the end, so nothing in the file is dropped.
func (v *v1Coll) place(parent model.ID, folderOrder, reqOrder, allFolders, allReqs []string) error {
	var fids, rids []string
	for _, id := range folderOrder {
		if _, ok := v.folders[id]; ok && !v.fPlaced[id] {
			v.fPlaced[id] = true
			fids = append(fids, id)
		}
	}
	for _, id := range reqOrder {
		if _, ok := v.reqs[id]; ok && !v.placed[id] {
			v.placed[id] = true
			rids = append(rids, id)
		}
	}
	if parent == v.coll {
		// Top-level folders are those no other folder lists as a child.
		child := map[string]bool{}
		for _, fm := range v.folders {
			for _, id := range childFolders(fm) {
				child[id] = true
			}
		}
		for _, id := range allFolders {
			if !v.fPlaced[id] && !child[id] {
				v.fPlaced[id] = true
				fids = append(fids, id)
			}
		}
	}
	keys := orderKeys(len(fids) + len(rids) + len(allReqs))
	k := 0
	for _, id := range fids {
		if err := v.folder(id, parent, keys[k]); err != nil {
			return err
		}
		k++
	}
	for _, id := range rids {
		if err := v.request(id, parent, keys[k]); err != nil {
			return err
		}
		k++
	}
	if parent == v.coll {
		for _, id := range allReqs {
			if !v.placed[id] {
				v.placed[id] = true
				if err := v.request(id, parent, keys[k]); err != nil {
					return err
				}
				k++
			}
		}
	}
	return nil
}

func childFolders(fm []member) []string {
	for _, k := range []string{"folders_order", "folders"} {
		if b, ok := get(fm, k); ok {
			return stringList(b)
		}
	}
	return nil
}

func (v *v1Coll) folder(id string, parent model.ID, order string) error {
	fm := v.folders[id]
	path := v.fPath[id]
	f := model.Folder{ID: model.NewID(), Collection: v.coll, Parent: parent, Order: order}
	var left map[string]json.RawMessage
	var reqOrder []string
	for _, m := range fm {
		switch m.key {
		case "id":
			setExtra(&f.Extra, "_postman_id", m.val)
		case "name":
			f.Name = scalarText(m.val)
		case "description":
			f.Description = descText(m.val)
		case "order":
			reqOrder = stringList(m.val)
		case "folders_order", "folders":
		case "auth":
			a, err := decodeAuth(m.val, join(path, m.key))
			if err != nil {
				return err
			}
			f.Auth = a
		case "events":
			if !isNull(m.val) {
				f.Events = raw(m.val)
			}
		default:
			setExtra(&left, m.key, m.val)
		}
	}
	if left != nil {
		lb := mapJSON(left)
		setExtra(&f.Extra, keyV1, lb)
	}
	v.d.b.Folders = append(v.d.b.Folders, f)
	return v.place(f.ID, childFolders(fm), reqOrder, nil, nil)
}

func (v *v1Coll) request(id string, parent model.ID, order string) error {
	if err := v.d.checkCtx(); err != nil {
		return err
	}
	rm, _ := members(v.reqs[id])
	path := v.reqPath[id]
	r := model.Request{ID: model.NewID(), Method: "GET", Collection: v.coll, Parent: parent, Order: order}
	var f v1Fields
	if err := f.read(&r, rm, path); err != nil {
		return err
	}
	var err error
	if r.Headers, err = v1Headers(f.headerData, f.headers, path); err != nil {
		return err
	}
	if r.Body, err = v1Body(scalarText(f.dataMode), f.data, f.rawMode, join(path, "data")); err != nil {
		return err
	}
	if r.Events == nil {
		r.Events = v1Events(f.prereq, f.tests)
	}
	if f.left != nil {
		setExtra(&r.Extra, keyV1, mapJSON(f.left))
	}
	v.d.b.Requests = append(v.d.b.Requests, r)
	return nil
}

// v1Fields holds the members of a v1 request that need each other to be
// understood (headers, body, scripts), and those v2.1 has no place for.
type v1Fields struct {
	headers, headerData, data, rawMode, dataMode []byte
	tests, prereq                                string
	left                                         map[string]json.RawMessage
}

// read sets what r takes directly from the members and keeps the rest.
func (f *v1Fields) read(r *model.Request, rm []member, path string) error {
	for _, m := range rm {
		switch m.key {
		case "id":
			setExtra(&r.Extra, "_postman_id", m.val)
		case "name":
			r.Name = scalarText(m.val)
		case "description":
			r.Description = descText(m.val)
		case "method":
			if s := scalarText(m.val); s != "" {
				r.Method = strings.ToUpper(s)
			}
		case "url":
			r.URL = scalarText(m.val)
		case "headers":
			f.headers = m.val
		case "headerData":
			f.headerData = m.val
		case "data":
			f.data = m.val
		case "rawModeData":
			f.rawMode = m.val
		case "dataMode":
			f.dataMode = m.val
		case "auth":
			a, err := decodeAuth(m.val, join(path, m.key))
			if err != nil {
				return err
			}
			if a != nil {
				r.Auth = *a
			}
		case "events":
			if !isNull(m.val) {
				r.Events = raw(m.val)
			}
		case "tests":
			f.tests = scalarText(m.val)
		case "preRequestScript":
			f.prereq = scalarText(m.val)
		case "protocolProfileBehavior":
			setExtra(&r.Extra, m.key, m.val)
		case "responses":
			if ex := v1Responses(m.val); ex != nil {
				setExtra(&r.Extra, "response", ex)
			}
			setExtra(&f.left, m.key, m.val)
		default:
			setExtra(&f.left, m.key, m.val)
		}
	}
	return nil
}

func v1Headers(headerData, headers []byte, path string) ([]model.KV, error) {
	if els, ok := elements(headerData); ok && len(els) > 0 {
		return decodeKVs(headerData, join(path, "headerData"), kvV1)
	}
	if headers != nil {
		if s, ok := unquote(headers); ok {
			return parseHeaderLines(s), nil
		}
	}
	return nil, nil
}

func v1Body(mode string, data, rawMode []byte, path string) (model.Body, error) {
	var body model.Body
	switch mode {
	case "raw":
		body.Mode = model.BodyRaw
		body.Raw = scalarText(rawMode)
		if s, ok := unquote(data); ok && body.Raw == "" {
			body.Raw = s
		}
	case "urlencoded", "params":
		kvs, err := decodeKVs(orNull(data), path, kvV1)
		if err != nil {
			return body, err
		}
		body.Mode = model.BodyURLEncoded
		if mode == "params" {
			body.Mode = model.BodyFormData
			body.FormData = kvs
		} else {
			body.URLEncoded = kvs
		}
	case "binary", "file":
		body.Mode = model.BodyFile
		if s, ok := unquote(rawMode); ok {
			body.File = s
		}
	case "graphql":
		body.Mode = model.BodyGraphQL
		body.GraphQL = decodeGraphQL(data)
		if body.GraphQL == nil {
			body.GraphQL = &model.GraphQLBody{}
		}
	}
	return body, nil
}

func orNull(b []byte) []byte {
	if len(b) == 0 || b[0] != '[' {
		return []byte("null")
	}
	return b
}

// v1Events turns v1's script strings into v2 events.
func v1Events(prereq, tests string) json.RawMessage {
	var evs [][]byte
	for _, e := range []struct{ listen, src string }{{"prerequest", prereq}, {"test", tests}} {
		if strings.TrimSpace(e.src) == "" {
			continue
		}
		lines := strings.Split(strings.ReplaceAll(e.src, "\r\n", "\n"), "\n")
		exec := make([][]byte, len(lines))
		for i, l := range lines {
			exec[i] = jstr(l)
		}
		script := obj{{key: "type", val: jstr("text/javascript")}, {key: "exec", val: array(exec)}}
		evs = append(evs, obj{{key: "listen", val: jstr(e.listen)}, {key: "script", val: script.bytes()}}.bytes())
	}
	if len(evs) == 0 {
		return nil
	}
	return json.RawMessage(array(evs))
}

func stringList(b []byte) []string {
	els, _ := elements(b)
	out := make([]string, 0, len(els))
	for _, e := range els {
		out = append(out, scalarText(e))
	}
	return out
}

// v1Responses turns v1 saved responses into v2 examples (as Postman's
// transformer does for the keys both formats have); nil when there are none.
func v1Responses(b []byte) []byte {
	els, _ := elements(b)
	var out [][]byte
	for _, e := range els {
		ms, ok := members(e)
		if !ok {
			continue
		}
		o := obj{}
		for _, k := range []string{"id", "name"} {
			if v, ok := get(ms, k); ok {
				o.set(k, v)
			}
		}
		if req, ok := get(ms, "request"); ok && req[0] == '{' {
			o.set("originalRequest", v1OriginalRequest(req))
		}
		if rc, ok := get(ms, "responseCode"); ok {
			rcm, _ := members(rc)
			if name, ok := get(rcm, "name"); ok {
				o.set("status", name)
			}
			if code, ok := get(rcm, "code"); ok {
				o.set("code", code)
			}
		}
		if l, ok := get(ms, "language"); ok {
			o.set("_postman_previewlanguage", l)
		}
		if h, ok := get(ms, "headers"); ok {
			kvs, _ := decodeKVs(orNull(h), "", kvV1)
			o.set("header", orEmptyArray(encodeKVs(stripKV(kvs))))
		}
		if c, ok := get(ms, "cookies"); ok {
			o.set("cookie", c)
		}
		if t, ok := get(ms, "text"); ok {
			o.set("body", t)
		}
		if t, ok := get(ms, "time"); ok {
			o.set("responseTime", t)
		}
		out = append(out, o.bytes())
	}
	if len(out) == 0 {
		return nil
	}
	return array(out)
}

func v1OriginalRequest(b []byte) []byte {
	ms, _ := members(b)
	o := obj{}
	if m, ok := get(ms, "method"); ok {
		o.set("method", m)
	}
	if h, ok := get(ms, "headers"); ok {
		var kvs []model.KV
		if s, ok := unquote(h); ok {
			kvs = parseHeaderLines(s)
		} else {
			kvs, _ = decodeKVs(orNull(h), "", kvV1)
		}
		o.set("header", orEmptyArray(encodeKVs(stripKV(kvs))))
	}
	if u, ok := get(ms, "url"); ok {
		o.set("url", u)
	}
	return o.bytes()
}

// stripKV keeps a row's key, value and disabled flag (v1 rows carry
// display-only keys such as name).
func stripKV(kvs []model.KV) []model.KV {
	out := make([]model.KV, len(kvs))
	for i, kv := range kvs {
		out[i] = model.KV{Key: kv.Key, Value: kv.Value, Disabled: kv.Disabled}
	}
	return out
}

func orEmptyArray(b []byte) []byte {
	if b == nil {
		return []byte("[]")
	}
	return b
}
