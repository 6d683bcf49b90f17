package postman

import (
	"encoding/json"

	"github.com/courierapp/courier/model"
)

// decodeBody reads a request body. Keys Courier models are checked against
// their canonical form one by one (shadows go to Body.Extra); options and
// unknown keys are kept in Body.Extra verbatim.
func decodeBody(b []byte, path string) (model.Body, error) {
	var body model.Body
	if isNull(b) {
		return body, nil
	}
	ms, ok := members(b)
	if !ok {
		return body, pathErr(path, "body must be an object, not %s", kindOf(b))
	}
	for _, m := range ms {
		p := join(path, m.key)
		switch m.key {
		case "mode":
			body.Mode = scalarText(m.val)
			keepStrShadow(&body.Extra, m.key, m.val, false, func() []byte { return encodeStr(body.Mode) })
		case "raw":
			body.Raw = scalarText(m.val)
			keepStrShadow(&body.Extra, m.key, m.val, true, func() []byte { return jstr(body.Raw) })
		case "urlencoded", "formdata":
			kvs, err := decodeKVs(m.val, p, kvV2)
			if err != nil {
				return body, err
			}
			if m.key == "urlencoded" {
				body.URLEncoded = kvs
			} else {
				body.FormData = kvs
			}
			keepShadow(&body.Extra, m.key, m.val, encodeKVs(kvs))
		case "file":
			body.File = fileSrc(m.val)
			keepShadow(&body.Extra, m.key, m.val, encodeFile(body.File))
		case "graphql":
			body.GraphQL = decodeGraphQL(m.val)
			keepShadow(&body.Extra, m.key, m.val, encodeGraphQL(body.GraphQL))
		case "options":
			body.Language = rawLanguage(m.val)
			setExtra(&body.Extra, m.key, m.val)
		case "disabled":
			body.Disabled = string(m.val) == "true"
			keepShadow(&body.Extra, m.key, m.val, encodeTrue(body.Disabled))
		default:
			setExtra(&body.Extra, m.key, m.val)
		}
	}
	return body, nil
}

// bodyExact reports whether encodeBody(body) writes exactly the keys the
// file's body object had: its values then match too (shadows hold the
// ones whose form differs), so no shadow of the whole body is needed.
func bodyExact(body model.Body, orig []byte) bool {
	ms, ok := members(orig)
	if !ok {
		return false
	}
	want := 0
	for _, m := range ms {
		var emitted bool
		switch m.key {
		case "mode":
			emitted = body.Mode != "" || body.Extra["mode"] != nil
		case "raw":
			emitted = body.Raw != "" || body.Mode == model.BodyRaw || body.Extra["raw"] != nil
		case "urlencoded":
			emitted = len(body.URLEncoded) > 0 || body.Extra["urlencoded"] != nil
		case "formdata":
			emitted = len(body.FormData) > 0 || body.Extra["formdata"] != nil
		case "file":
			emitted = body.File != "" || body.Extra["file"] != nil
		case "graphql":
			emitted = body.GraphQL != nil || body.Extra["graphql"] != nil
		case "disabled":
			emitted = body.Disabled || body.Extra["disabled"] != nil
		default: // options and unknown keys are kept verbatim
			emitted = true
		}
		if !emitted {
			return false
		}
		want++
	}
	// Keys the encoder adds that the file did not have.
	if body.Mode == model.BodyRaw && body.Raw == "" {
		if _, ok := get(ms, "raw"); !ok {
			return false
		}
	}
	return want > 0
}

func encodeStr(s string) []byte {
	if s == "" {
		return nil
	}
	return jstr(s)
}

func encodeTrue(b bool) []byte {
	if !b {
		return nil
	}
	return jbool(true)
}

func fileSrc(b []byte) string {
	if ms, ok := members(b); ok {
		src, _ := get(ms, "src")
		if src == nil {
			return ""
		}
		return srcText(src)
	}
	return scalarText(b)
}

func encodeFile(src string) []byte {
	if src == "" {
		return nil
	}
	return obj{{key: "src", val: jstr(src)}}.bytes()
}

func decodeGraphQL(b []byte) *model.GraphQLBody {
	ms, ok := members(b)
	if !ok {
		return nil
	}
	g := &model.GraphQLBody{}
	if q, ok := get(ms, "query"); ok {
		g.Query = scalarText(q)
	}
	if v, ok := get(ms, "variables"); ok {
		g.Variables = scalarText(v)
	}
	return g
}

func encodeGraphQL(g *model.GraphQLBody) []byte {
	if g == nil {
		return nil
	}
	return obj{{key: "query", val: jstr(g.Query)}, {key: "variables", val: jstr(g.Variables)}}.bytes()
}

func rawLanguage(opts []byte) string {
	ms, ok := members(opts)
	if !ok {
		return ""
	}
	r, _ := get(ms, "raw")
	rm, ok := members(r)
	if !ok {
		return ""
	}
	l, _ := get(rm, "language")
	if l == nil {
		return ""
	}
	return scalarText(l)
}

// encodeBody writes a body: modelled keys in canonical form unless their
// shadow still holds, merging edits into the file's own objects (a file
// body's other keys, a GraphQL operationName, other options) where it can.
func encodeBody(body model.Body) []byte {
	o := obj{}
	x := body.Extra
	o.set("mode", chooseShadow(x, "mode", encodeStr(body.Mode), func(b []byte) []byte { return encodeStr(scalarText(b)) }))
	rawCanon := []byte(nil)
	if body.Raw != "" || body.Mode == model.BodyRaw {
		rawCanon = jstr(body.Raw)
	}
	o.set("raw", chooseShadow(x, "raw", rawCanon, func(b []byte) []byte {
		if s := scalarText(b); s != "" || body.Mode == model.BodyRaw {
			return jstr(s)
		}
		return nil
	}))
	o.set("urlencoded", chooseShadow(x, "urlencoded", encodeKVs(body.URLEncoded), recanonKVs))
	o.set("formdata", chooseShadow(x, "formdata", encodeKVs(body.FormData), recanonKVs))
	o.set("file", mergeShadow(x, "file", encodeFile(body.File), func(b []byte) []byte { return encodeFile(fileSrc(b)) },
		func(sh []byte) []byte { return replaceMember(sh, "src", jstr(body.File), encodeFile(body.File)) }))
	o.set("graphql", mergeShadow(x, "graphql", encodeGraphQL(body.GraphQL), func(b []byte) []byte { return encodeGraphQL(decodeGraphQL(b)) },
		func(sh []byte) []byte {
			if body.GraphQL == nil {
				return nil
			}
			sh = replaceMember(sh, "query", jstr(body.GraphQL.Query), nil)
			return replaceMember(sh, "variables", jstr(body.GraphQL.Variables), encodeGraphQL(body.GraphQL))
		}))
	o.set("options", encodeOptions(x["options"], body.Language))
	o.set("disabled", chooseShadow(x, "disabled", encodeTrue(body.Disabled), func(b []byte) []byte { return encodeTrue(string(b) == "true") }))
	o.extras(x, "mode", "raw", "urlencoded", "formdata", "file", "graphql", "options", "disabled")
	if len(o) == 0 {
		return nil
	}
	return o.bytes()
}

func recanonKVs(b []byte) []byte {
	kvs, err := decodeKVs(b, "", kvV2)
	if err != nil {
		return nil
	}
	return encodeKVs(kvs)
}

// mergeShadow is chooseShadow for objects whose other keys should survive
// an edit: on a mismatch, merge(shadow) is written instead of canon (when
// both the shadow and canon are objects).
func mergeShadow(extra map[string]json.RawMessage, key string, canon []byte, recanon, merge func([]byte) []byte) []byte {
	sh := compactRaw(extra[key])
	if sh == nil {
		return canon
	}
	if sameJSON(recanon(sh), canon) {
		return sh
	}
	if canon != nil && sh[0] == '{' {
		return merge(sh)
	}
	return canon
}

// encodeOptions returns the body options with raw.language set to lang.
func encodeOptions(opts []byte, lang string) []byte {
	opts = compactRaw(opts)
	if rawLanguage(opts) == lang {
		return opts
	}
	ms, _ := members(opts)
	if opts != nil && ms == nil && opts[0] != '{' {
		ms = nil // options was not an object: replace it
	}
	r, _ := get(ms, "raw")
	rawObj := replaceMember(orEmpty(r), "language", jstr(lang), nil)
	if lang == "" {
		rawObj = removeMember(orEmpty(r), "language")
	}
	out := replaceMember(orEmpty(opts), "raw", rawObj, nil)
	if rm, _ := members(rawObj); len(rm) == 0 {
		out = removeMember(out, "raw")
	}
	if om, _ := members(out); len(om) == 0 && opts == nil {
		return nil
	}
	return out
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 || b[0] != '{' {
		return []byte("{}")
	}
	return b
}

func removeMember(b []byte, key string) []byte {
	ms, ok := members(b)
	if !ok {
		return b
	}
	o := obj{}
	for _, m := range ms {
		if m.key != key {
			o = append(o, m)
		}
	}
	return o.bytes()
}
