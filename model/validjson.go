package model

// ValidJSON reports whether b is exactly one JSON value: the same answer
// as json.Valid (RFC 8259; whitespace around it allowed; strings may hold
// any byte from 0x20 up, valid UTF-8 or not; at most 10,000 nested arrays
// and objects), in one walk over the bytes without encoding/json's
// per-byte state functions. The store checks every value it accepts and
// the sync engine every value it opens, thousands in a first sync.
func ValidJSON(b []byte) bool {
	v := jsonValidator{b: b}
	v.space()
	if !v.value(0) {
		return false
	}
	v.space()
	return v.i == len(v.b)
}

// EachJSONMember calls fn with the key (the bytes between its quotes,
// escapes left as written) and the raw value of every member of the JSON
// object b, in order, while fn returns true. It reports false when b is
// not one valid JSON object (whitespace around it allowed) or when fn
// returned false.
func EachJSONMember(b []byte, fn func(key, val []byte) bool) bool {
	v := jsonValidator{b: b}
	v.space()
	if v.i >= len(v.b) || v.b[v.i] != '{' {
		return false
	}
	v.i++
	v.space()
	if v.i < len(v.b) && v.b[v.i] == '}' {
		v.i++
	} else {
		for {
			start := v.i
			if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
				return false
			}
			key := v.b[start+1 : v.i-1]
			v.space()
			if v.i >= len(v.b) || v.b[v.i] != ':' {
				return false
			}
			v.i++
			v.space()
			start = v.i
			if !v.value(1) || !fn(key, v.b[start:v.i]) {
				return false
			}
			v.space()
			if v.i < len(v.b) && v.b[v.i] == ',' {
				v.i++
				v.space()
				continue
			}
			if v.i >= len(v.b) || v.b[v.i] != '}' {
				return false
			}
			v.i++
			break
		}
	}
	v.space()
	return v.i == len(v.b)
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

type jsonValidator struct {
	b []byte
	i int
}

// plainStringByte marks the bytes a string holds without ending or
// escaping: neither a control byte, a quote nor a backslash.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (v *jsonValidator) space() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *jsonValidator) value(depth int) bool {
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '"':
		return v.str()
	case c == '{' || c == '[':
		return v.container(depth + 1)
	case c == '-' || c >= '0' && c <= '9':
		return v.number()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	}
	return false
}

func (v *jsonValidator) literal(word string) bool {
	if len(v.b)-v.i < len(word) || string(v.b[v.i:v.i+len(word)]) != word {
		return false
	}
	v.i += len(word)
	return true
}

// container checks an object or array whose opening byte is at v.i.
func (v *jsonValidator) container(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	obj := v.b[v.i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	v.i++
	v.space()
	if v.i < len(v.b) && v.b[v.i] == closer {
		v.i++
		return true
	}
	for {
		if obj {
			if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
				return false
			}
			v.space()
			if v.i >= len(v.b) || v.b[v.i] != ':' {
				return false
			}
			v.i++
			v.space()
		}
		if !v.value(depth) {
			return false
		}
		v.space()
		if v.i >= len(v.b) {
			return false
		}
		switch v.b[v.i] {
		case ',':
			v.i++
			v.space()
		case closer:
			v.i++
			return true
		default:
			return false
		}
	}
}

// str checks a string whose opening quote is at v.i.
func (v *jsonValidator) str() bool {
	v.i++
	for v.i < len(v.b) {
		c := v.b[v.i]
		if plainStringByte[c] {
			v.i++
			continue
		}
		switch c {
		case '"':
			v.i++
			return true
		case '\\':
			if !v.escape() {
				return false
			}
		default:
			return false // a control byte
		}
	}
	return false
}

// escape checks the escape whose backslash is at v.i.
func (v *jsonValidator) escape() bool {
	if v.i+1 >= len(v.b) {
		return false
	}
	switch v.b[v.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		v.i += 2
		return true
	case 'u':
		if len(v.b)-v.i < 6 {
			return false
		}
		for _, h := range v.b[v.i+2 : v.i+6] {
			if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
				return false
			}
		}
		v.i += 6
		return true
	}
	return false
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at v.i.
func (v *jsonValidator) number() bool {
	if v.b[v.i] == '-' {
		v.i++
	}
	switch {
	case v.i < len(v.b) && v.b[v.i] == '0':
		v.i++
	case v.digits() == 0:
		return false
	}
	if v.i < len(v.b) && v.b[v.i] == '.' {
		v.i++
		if v.digits() == 0 {
			return false
		}
	}
	if v.i < len(v.b) && (v.b[v.i] == 'e' || v.b[v.i] == 'E') {
		v.i++
		if v.i < len(v.b) && (v.b[v.i] == '+' || v.b[v.i] == '-') {
			v.i++
		}
		if v.digits() == 0 {
			return false
		}
	}
	return true
}

func (v *jsonValidator) digits() int {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i - start
}
