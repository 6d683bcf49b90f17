package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The importer works on compact JSON: Import first runs json.Compact over
// the whole file (one pass that validates it and finds syntax errors with
// their offset), then walks the bytes with the small scanner below, which
// may assume valid, whitespace-free input. Values it does not model are
// kept as slices of that compact text.

// member is one key and its raw value in a JSON object.
type member struct {
	key string
	val []byte
	// fn, when set instead of val, appends the value to dst: big values
	// (item lists) are written straight into their parent's buffer.
	fn func(dst []byte) []byte
}

// compactJSON validates data and returns it compacted (data is not
// changed). A syntax error is reported with its line and column.
func compactJSON(data []byte) ([]byte, error) {
	return compactInPlace(context.Background(), bytes.Clone(data))
}

// skipValue returns the length of the compact JSON value at the start of b.
func skipValue(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch b[0] {
	case '"':
		return skipString(b)
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				i += skipString(b[i:]) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default:
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']':
				return i
			}
		}
		return len(b)
	}
}

func skipString(b []byte) int {
	i := 1
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		n := 0
		for k := i - 1; k > 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
}

// members splits a compact JSON object into its members, in file order.
func members(b []byte) ([]member, bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, false
	}
	out := make([]member, 0, 6)
	i := 1
	end := len(b) - 1 // the closing brace
	for i < end {
		// The input is valid compact JSON after an import; these checks
		// only keep a broken value set by other code from crashing us.
		if b[i] != '"' {
			return out, false
		}
		n := skipString(b[i:end])
		if i+n >= end || b[i+n] != ':' {
			return out, false
		}
		key, _ := unquote(b[i : i+n])
		i += n + 1 // the colon
		m := skipValue(b[i:end])
		if m == 0 {
			return out, false
		}
		out = append(out, member{key: key, val: b[i : i+m]})
		i += m
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return out, true
}

// elements splits a compact JSON array into its elements.
func elements(b []byte) ([][]byte, bool) {
	if len(b) < 2 || b[0] != '[' {
		return nil, false
	}
	var out [][]byte
	i := 1
	end := len(b) - 1
	for i < end {
		m := skipValue(b[i:end])
		if m == 0 {
			return out, false
		}
		out = append(out, b[i:i+m])
		i += m
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return out, true
}

// unquote decodes a JSON string; ok is false when b is not a string.
func unquote(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	return unescape(inner)
}

// unescape decodes the escapes of a JSON string's contents (valid JSON,
// as json.Compact has checked). Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func unescape(in []byte) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(in))
	for len(in) > 0 {
		k := bytes.IndexByte(in, '\\')
		if k < 0 {
			k = len(in)
		}
		writeUTF8(&sb, in[:k])
		in = in[k:]
		if len(in) == 0 {
			break
		}
		if len(in) < 2 {
			return "", false
		}
		switch in[1] {
		case '"', '\\', '/':
			sb.WriteByte(in[1])
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r, ok := hex4(in[2:])
			if !ok {
				return "", false
			}
			in = in[6:]
			if utf16.IsSurrogate(r) {
				if len(in) >= 6 && in[0] == '\\' && in[1] == 'u' {
					if r2, ok := hex4(in[2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							sb.WriteRune(d)
							in = in[6:]
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			sb.WriteRune(r)
			continue
		default:
			return "", false
		}
		in = in[2:]
	}
	return sb.String(), true
}

// writeUTF8 writes b, replacing invalid UTF-8 with U+FFFD as encoding/json does.
func writeUTF8(sb *strings.Builder, b []byte) {
	if utf8.Valid(b) {
		sb.Write(b)
		return
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[size:]
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isNull(b []byte) bool { return string(b) == "null" }

// scalarText is the text of a scalar value: a string's contents, the JSON
// text of a number or boolean, "" for null. Objects and arrays give their
// JSON text.
func scalarText(b []byte) string {
	if s, ok := unquote(b); ok {
		return s
	}
	if isNull(b) {
		return ""
	}
	return string(b)
}

// get returns the value of key in ms.
func get(ms []member, key string) ([]byte, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// appendString appends s as a JSON string, escaping what JSON.stringify
// escapes (quote, backslash, control characters) and nothing else, so
// Postman's own text survives byte for byte. Invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&0xf))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainASCII marks the bytes appendString copies as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hexDigit(b byte) byte { return "0123456789abcdef"[b] }

func jstr(s string) []byte { return appendString(nil, s) }

func jbool(b bool) []byte {
	if b {
		return []byte("true")
	}
	return []byte("false")
}

// obj builds a JSON object in insertion order.
type obj []member

func (o *obj) set(key string, val []byte) {
	if val == nil {
		return
	}
	*o = append(*o, member{key: key, val: val})
}

func (o obj) has(key string) bool {
	_, ok := get(o, key)
	return ok
}

// extras appends every key of extra that o does not have yet, in sorted
// order, skipping Courier's own bookkeeping keys ("courier:...") and keys
// listed in skip (modelled keys whose Extra entry is a shadow).
func (o *obj) extras(extra map[string]json.RawMessage, skip ...string) {
	if len(extra) == 0 {
		return
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if strings.HasPrefix(k, courierPrefix) || slices.Contains(skip, k) || o.has(k) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o.set(k, compactRaw(extra[k]))
	}
}

// setFunc adds key with a value that fn appends when the object is written.
func (o *obj) setFunc(key string, fn func(dst []byte) []byte) {
	*o = append(*o, member{key: key, fn: fn})
}

func (o obj) bytes() []byte {
	n := 2
	for _, m := range o {
		n += len(m.key) + len(m.val) + 4
	}
	return o.appendTo(make([]byte, 0, n))
}

func (o obj) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		if m.fn != nil {
			b = m.fn(b)
		} else {
			b = append(b, m.val...)
		}
	}
	return append(b, '}')
}

func array(items [][]byte) []byte {
	n := 2
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}

// compactRaw returns raw without insignificant whitespace. Values that
// came from an import are already compact; values set by other code may
// not be. Invalid JSON becomes null rather than corrupting the output.
//
// It also undoes the escapes encoding/json adds when the store marshals a
// record (\u003c for <, \u003e, \u0026, \u2028, \u2029), so an export of
// stored records is byte for byte the export of the imported ones.
func compactRaw(raw []byte) []byte {
	if len(raw) == 0 {
		return nil
	}
	if hasSpace(raw) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return []byte("null")
		}
		raw = buf.Bytes()
	}
	if bytes.Contains(raw, []byte(`\u00`)) || bytes.Contains(raw, []byte(`\u202`)) {
		raw = unescapeHTML(raw)
	}
	return raw
}

// unescapeHTML turns encoding/json's HTML-safe escapes back into the
// characters, leaving every other escape (and an escaped backslash) alone.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+5 < len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c", "003C":
				out = append(out, '<')
				i += 5
				continue
			case "003e", "003E":
				out = append(out, '>')
				i += 5
				continue
			case "0026":
				out = append(out, '&')
				i += 5
				continue
			case "2028", "2029":
				r, _ := hex4(b[i+2 : i+6])
				out = utf8.AppendRune(out, r)
				i += 5
				continue
			}
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

func hasSpace(b []byte) bool {
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			return true
		}
	}
	return false
}

// raw copies b into a json.RawMessage the model may keep (the import
// buffer is large and must not be pinned by small values).
func raw(b []byte) json.RawMessage { return json.RawMessage(bytes.Clone(b)) }

// setExtra records key: val in *m, creating the map.
func setExtra(m *map[string]json.RawMessage, key string, val []byte) {
	if *m == nil {
		*m = make(map[string]json.RawMessage)
	}
	(*m)[key] = raw(val)
}

// rawMap turns a JSON object into a map of its members; nil when b is not
// an object. Values are slices of (a compact copy of) b.
func rawMap(b []byte) map[string]json.RawMessage {
	ms, ok := members(compactRaw(b))
	if !ok {
		return nil
	}
	m := make(map[string]json.RawMessage, len(ms))
	for _, mem := range ms {
		m[mem.key] = mem.val
	}
	return m
}

// mapJSON writes a map of raw values as an object with sorted keys. The
// values must be valid JSON (they come from an import or from rawMap).
func mapJSON(m map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := make(obj, 0, len(keys))
	for _, k := range keys {
		o = append(o, member{key: k, val: compactRaw(m[k])})
	}
	return o.bytes()
}
