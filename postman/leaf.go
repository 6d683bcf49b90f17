package postman

import (
	"encoding/json"
	"strings"

	"github.com/courierapp/courier/model"
)

// ---- descriptions: a string, or {content, type, version} ----

func descText(b []byte) string {
	if ms, ok := members(b); ok {
		if c, ok := get(ms, "content"); ok {
			return scalarText(c)
		}
		return ""
	}
	return scalarText(b)
}

func encodeDesc(s string) []byte {
	if s == "" {
		return nil
	}
	return jstr(s)
}

// exportDesc writes a description: the shadow when unchanged, the shadow
// object with its content replaced when the text changed (its type and
// version are kept), a plain string otherwise.
func exportDesc(extra map[string]json.RawMessage, key, text string) []byte {
	sh := compactRaw(extra[key])
	if sh == nil {
		return encodeDesc(text)
	}
	if descText(sh) == text {
		return sh
	}
	return replaceMember(sh, "content", jstr(text), encodeDesc(text))
}

// replaceMember returns object b with key set to val, or fallback when b
// is not an object.
func replaceMember(b []byte, key string, val, fallback []byte) []byte {
	ms, ok := members(b)
	if !ok {
		return fallback
	}
	o := obj{}
	found := false
	for _, m := range ms {
		if m.key == key {
			m.val = val
			found = true
		}
		o = append(o, m)
	}
	if !found {
		o.set(key, val)
	}
	return o.bytes()
}

// ---- URLs: a string, or {raw, protocol, host, port, path, query, hash} ----

func urlText(b []byte) string {
	ms, ok := members(b)
	if !ok {
		return scalarText(b)
	}
	if r, ok := get(ms, "raw"); ok {
		if s, ok := unquote(r); ok {
			return s
		}
	}
	return assembleURL(ms)
}

// assembleURL builds the text of a URL object that has no raw form.
func assembleURL(ms []member) string {
	var sb strings.Builder
	if p, ok := get(ms, "protocol"); ok && scalarText(p) != "" {
		sb.WriteString(scalarText(p) + "://")
	}
	if a, ok := get(ms, "auth"); ok {
		if am, ok := members(a); ok {
			u, _ := get(am, "user")
			pw, hasPw := get(am, "password")
			if u != nil || hasPw {
				sb.WriteString(scalarText(u))
				if hasPw {
					sb.WriteString(":" + scalarText(pw))
				}
				sb.WriteString("@")
			}
		}
	}
	if h, ok := get(ms, "host"); ok {
		sb.WriteString(joinParts(h, "."))
	}
	if p, ok := get(ms, "port"); ok && scalarText(p) != "" {
		sb.WriteString(":" + scalarText(p))
	}
	if p, ok := get(ms, "path"); ok {
		if s := joinParts(p, "/"); s != "" {
			if !strings.HasPrefix(s, "/") {
				sb.WriteString("/")
			}
			sb.WriteString(s)
		}
	}
	if q, ok := get(ms, "query"); ok {
		if s := queryText(q); s != "" {
			sb.WriteString("?" + s)
		}
	}
	if h, ok := get(ms, "hash"); ok && scalarText(h) != "" {
		sb.WriteString("#" + scalarText(h))
	}
	return sb.String()
}

func joinParts(b []byte, sep string) string {
	els, ok := elements(b)
	if !ok {
		return scalarText(b)
	}
	parts := make([]string, 0, len(els))
	for _, e := range els {
		if ms, ok := members(e); ok { // a path variable object {type, value}
			v, _ := get(ms, "value")
			parts = append(parts, scalarText(v))
			continue
		}
		parts = append(parts, scalarText(e))
	}
	return strings.Join(parts, sep)
}

func queryText(b []byte) string {
	els, ok := elements(b)
	if !ok {
		return scalarText(b)
	}
	var parts []string
	for _, e := range els {
		ms, ok := members(e)
		if !ok {
			continue
		}
		if d, ok := get(ms, "disabled"); ok && string(d) == "true" {
			continue
		}
		k, _ := get(ms, "key")
		v, hasV := get(ms, "value")
		if hasV && !isNull(v) {
			parts = append(parts, scalarText(k)+"="+scalarText(v))
		} else {
			parts = append(parts, scalarText(k))
		}
	}
	return strings.Join(parts, "&")
}

func encodeURL(s string) []byte {
	if s == "" {
		return nil
	}
	return jstr(s)
}

func recanonURL(b []byte) []byte { return encodeURL(urlText(b)) }

// ---- key-value rows: headers, form fields, query rows ----

// kvStyle says which dialect a row is read in.
type kvStyle int

const (
	kvV2     kvStyle = iota // v2 collections: disabled: true
	kvV1                    // v1 collections: enabled: false; exported as v2
	kvPreset                // header presets: enabled: false, kept as written
)

func decodeKV(b []byte, path string, style kvStyle) (model.KV, error) {
	ms, ok := members(b)
	if !ok {
		return model.KV{}, pathErr(path, "a row must be an object, not %s", kindOf(b))
	}
	var kv model.KV
	for _, m := range ms {
		switch m.key {
		case "key":
			kv.Key = scalarText(m.val)
		case "value":
			kv.Value = scalarText(m.val)
		case "disabled":
			kv.Disabled = kv.Disabled || string(m.val) == "true"
		case "enabled":
			if style == kvV2 {
				setExtra(&kv.Extra, m.key, m.val)
				continue
			}
			kv.Disabled = kv.Disabled || string(m.val) == "false"
		case "description":
			kv.Description = descText(m.val)
		case "type":
			kv.Type = scalarText(m.val)
		case "src":
			kv.Src = srcText(m.val)
		case "contentType":
			kv.ContentType = scalarText(m.val)
		default:
			setExtra(&kv.Extra, m.key, m.val)
		}
	}
	if style != kvV1 && !kvExact(kv, ms) && !sameJSON(encodeKV(kv), b) {
		setExtra(&kv.Extra, keyOrig, b)
	}
	return kv, nil
}

// srcText is a form field's file path: a string, or the first of an array
// of paths.
// kvExact is a fast check that encodeKV(kv) gives the row's own members:
// every modelled member is a plain string (or disabled: true) that the
// encoder writes, and the encoder writes nothing the row lacks. When it
// says no, the caller compares properly.
func kvExact(kv model.KV, ms []member) bool {
	n := len(kv.Extra)
	for _, m := range ms {
		switch m.key {
		case "key", "value", "description", "type", "src", "contentType":
			if m.val[0] != '"' || (m.key != "key" && m.key != "value" && len(m.val) == 2) {
				return false
			}
			if m.key == "value" && kv.Value == "" && kv.Type == "file" {
				return false
			}
			n++
		case "disabled":
			if string(m.val) != "true" {
				return false
			}
			n++
		}
	}
	want := 1 + len(kv.Extra)
	if kv.Value != "" || kv.Type != "file" {
		want++
	}
	for _, set := range []bool{kv.Src != "", kv.ContentType != "", kv.Description != "", kv.Type != "", kv.Disabled} {
		if set {
			want++
		}
	}
	return n == want && len(ms) == n
}

func srcText(b []byte) string {
	if els, ok := elements(b); ok {
		if len(els) == 0 {
			return ""
		}
		return scalarText(els[0])
	}
	return scalarText(b)
}

func encodeKV(kv model.KV) []byte {
	o := obj{}
	o.set("key", jstr(kv.Key))
	if kv.Value != "" || kv.Type != "file" {
		o.set("value", jstr(kv.Value))
	}
	if kv.Src != "" {
		o.set("src", jstr(kv.Src))
	}
	if kv.ContentType != "" {
		o.set("contentType", jstr(kv.ContentType))
	}
	if kv.Description != "" {
		o.set("description", jstr(kv.Description))
	}
	if kv.Type != "" {
		o.set("type", jstr(kv.Type))
	}
	if kv.Disabled {
		o.set("disabled", jbool(true))
	}
	o.extras(kv.Extra)
	return o.bytes()
}

func exportKV(kv model.KV, style kvStyle) []byte {
	canon := encodeKV(kv)
	if orig := compactRaw(kv.Extra[keyOrig]); orig != nil {
		if d, err := decodeKV(orig, "", style); err == nil && sameJSON(encodeKV(d), canon) {
			return orig
		}
	}
	return canon
}

func decodeKVs(b []byte, path string, style kvStyle) ([]model.KV, error) {
	els, ok := elements(b)
	if !ok {
		if isNull(b) {
			return nil, nil
		}
		return nil, pathErr(path, "must be an array, not %s", kindOf(b))
	}
	out := make([]model.KV, 0, len(els))
	for i, e := range els {
		kv, err := decodeKV(e, index(path, i), style)
		if err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, nil
}

func encodeKVs(kvs []model.KV) []byte { return encodeKVsStyle(kvs, kvV2) }

func encodeKVsStyle(kvs []model.KV, style kvStyle) []byte {
	if len(kvs) == 0 {
		return nil
	}
	items := make([][]byte, len(kvs))
	for i, kv := range kvs {
		items[i] = exportKV(kv, style)
	}
	return array(items)
}

// decodeHeaders reads a header list: an array of rows, or the older single
// string of "Key: value" lines (a line starting with // is disabled).
func decodeHeaders(b []byte, path string, style kvStyle) ([]model.KV, error) {
	if s, ok := unquote(b); ok {
		return parseHeaderLines(s), nil
	}
	return decodeKVs(b, path, style)
}

func parseHeaderLines(s string) []model.KV {
	var out []model.KV
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		kv := model.KV{}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "//"); ok {
			kv.Disabled = true
			line = rest
		}
		k, v, _ := strings.Cut(line, ":")
		kv.Key, kv.Value = strings.TrimSpace(k), strings.TrimSpace(v)
		out = append(out, kv)
	}
	return out
}

func recanonHeaders(b []byte) []byte {
	kvs, err := decodeHeaders(b, "", kvV2)
	if err != nil {
		return nil
	}
	return encodeKVs(kvs)
}

// ---- auth ----

// decodeAuth reads {type, <type>: [{key, value, type}], <other types>...}.
// The v2.0 form of attributes ({"username": "..."}) becomes the v2.1 array
// form. null gives nil (inherit).
func decodeAuth(b []byte, path string) (*model.Auth, error) {
	if isNull(b) {
		return nil, nil
	}
	ms, ok := members(b)
	if !ok {
		return nil, pathErr(path, "auth must be an object, not %s", kindOf(b))
	}
	a := &model.Auth{}
	if t, ok := get(ms, "type"); ok {
		a.Type = scalarText(t)
	}
	if a.Type == "inherit" {
		a.Type = model.AuthInherit
	}
	for _, m := range ms {
		if m.key == "type" {
			continue
		}
		params, ok := decodeAuthParams(m.val)
		if m.key == a.Type && ok {
			a.Params = params
			continue
		}
		if ok && m.val[0] == '{' {
			setExtra(&a.Extra, m.key, encodeAuthParams(params, true))
			continue
		}
		setExtra(&a.Extra, m.key, m.val)
	}
	return a, nil
}

// decodeAuthParams reads an attribute list; ok is false when its shape
// cannot be kept exactly in AuthParam (so the caller keeps it verbatim).
func decodeAuthParams(b []byte) ([]model.AuthParam, bool) {
	if ms, ok := members(b); ok { // v2.0: {"username": "x"}
		out := make([]model.AuthParam, 0, len(ms))
		for _, m := range ms {
			out = append(out, model.AuthParam{Key: m.key, Value: raw(m.val)})
		}
		return out, len(ms) > 0
	}
	els, ok := elements(b)
	if !ok || len(els) == 0 {
		return nil, false
	}
	out := make([]model.AuthParam, 0, len(els))
	for _, e := range els {
		ms, ok := members(e)
		if !ok {
			return nil, false
		}
		var p model.AuthParam
		for _, m := range ms {
			switch m.key {
			case "key":
				s, ok := unquote(m.val)
				if !ok {
					return nil, false
				}
				p.Key = s
			case "value":
				p.Value = raw(m.val)
			case "type":
				s, ok := unquote(m.val)
				if !ok {
					return nil, false
				}
				p.Type = s
			default:
				return nil, false
			}
		}
		if _, ok := get(ms, "key"); !ok {
			return nil, false
		}
		if p.Value == nil { // keep "no value" apart from "value: null"
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

func encodeAuthParams(ps []model.AuthParam, always bool) []byte {
	if len(ps) == 0 && !always {
		return nil
	}
	items := make([][]byte, len(ps))
	for i, p := range ps {
		o := obj{}
		o.set("key", jstr(p.Key))
		v := compactRaw(p.Value)
		if v == nil {
			v = []byte("null")
		}
		o.set("value", v)
		if p.Type != "" {
			o.set("type", jstr(p.Type))
		}
		items[i] = o.bytes()
	}
	return array(items)
}

func encodeAuth(a *model.Auth) []byte {
	if a == nil || (a.Type == model.AuthInherit && len(a.Params) == 0 && len(a.Extra) == 0) {
		return nil
	}
	o := obj{}
	o.set("type", jstr(a.Type))
	if a.Type != "" {
		o.set(a.Type, encodeAuthParams(a.Params, false))
	}
	o.extras(a.Extra)
	return o.bytes()
}

func recanonAuth(b []byte) []byte {
	a, err := decodeAuth(b, "")
	if err != nil {
		return nil
	}
	return encodeAuth(a)
}

// ---- variables ----

// varStyle says how a variable's enabled flag is written.
type varStyle int

const (
	varCollection varStyle = iota // {key, value, type?, disabled?}
	varEnv                        // {key, value, type?, enabled}
)

func decodeVar(b []byte, path string, owner model.ID, style varStyle) (model.Variable, error) {
	ms, ok := members(b)
	if !ok {
		return model.Variable{}, pathErr(path, "a variable must be an object, not %s", kindOf(b))
	}
	v := model.Variable{Owner: owner, Enabled: true}
	for _, m := range ms {
		switch m.key {
		case "key":
			v.Name = scalarText(m.val)
		case "value":
			v.Value = scalarText(m.val)
		case "disabled":
			if string(m.val) == "true" {
				v.Enabled = false
			}
		case "enabled":
			if string(m.val) == "false" {
				v.Enabled = false
			}
		case "type":
			if scalarText(m.val) == "secret" {
				v.Secret = true
				continue
			}
			setExtra(&v.Extra, m.key, m.val)
		default:
			setExtra(&v.Extra, m.key, m.val)
		}
	}
	if !sameJSON(encodeVar(v, style), b) {
		setExtra(&v.Extra, keyOrig, b)
	}
	return v, nil
}

func encodeVar(v model.Variable, style varStyle) []byte {
	o := obj{}
	o.set("key", jstr(v.Name))
	o.set("value", jstr(v.Value))
	if v.Secret {
		o.set("type", jstr("secret"))
	} else if t, ok := v.Extra["type"]; ok {
		o.set("type", compactRaw(t))
	}
	switch {
	case style == varEnv:
		o.set("enabled", jbool(v.Enabled))
	case !v.Enabled:
		o.set("disabled", jbool(true))
	}
	o.extras(v.Extra)
	return o.bytes()
}

func exportVar(v model.Variable, style varStyle) []byte {
	canon := encodeVar(v, style)
	if orig := compactRaw(v.Extra[keyOrig]); orig != nil {
		if d, err := decodeVar(orig, "", v.Owner, style); err == nil && sameJSON(encodeVar(d, style), canon) {
			return orig
		}
	}
	return canon
}
