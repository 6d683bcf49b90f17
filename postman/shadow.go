package postman

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/courierapp/courier/model"
)

// Lossless round trips rest on one rule, applied key by key. For a key
// that Courier models (a name, a URL, a header list, an auth), the importer
// decodes the file's value into the model and encodes it back in the
// canonical form the exporter writes. When the two differ as JSON (the URL
// was an object, the description an object with a type, the headers one
// string, a value an explicit null), the file's value is kept as a
// "shadow" in the owner's Extra map under the same key. The exporter
// writes the shadow back as long as it still decodes to the current value,
// and the canonical form once the user has changed that value. Keys the
// model does not know are kept in Extra and written back verbatim.
//
// Small objects that are all modelled (header rows, form fields,
// variables) keep their whole original text under "courier:orig" instead:
// their variants (enabled/disabled, description objects, src arrays) are
// not independent keys. Keys starting with "courier:" are Courier's own
// bookkeeping and never exported.
const (
	courierPrefix = "courier:"
	keyOrig       = "courier:orig"
	// keyDescOnItem marks a request whose description sits on the item
	// rather than on the request object in the file.
	keyDescOnItem = "courier:description_on_item"
	// keyNoRequest marks an item that had no request object at all.
	keyNoRequest = "courier:no_request"
	// keyV1 keeps what a v1 collection held that v2.1 has no place for.
	keyV1 = "courier:v1"
)

// keepShadow records orig under key when canon (the canonical encoding of
// what orig decoded to; nil when the exporter would omit the key) is not
// the same JSON.
func keepShadow(extra *map[string]json.RawMessage, key string, orig, canon []byte) {
	if !sameJSON(orig, canon) {
		setExtra(extra, key, orig)
	}
}

// keepStrShadow is keepShadow for a value whose canonical form is the
// string itself (omitted when empty, unless keepEmpty): a non-empty JSON
// string needs no comparison.
func keepStrShadow(extra *map[string]json.RawMessage, key string, orig []byte, keepEmpty bool, canon func() []byte) {
	if orig[0] == '"' && (len(orig) > 2 || keepEmpty) {
		return
	}
	keepShadow(extra, key, orig, canon())
}

// chooseShadow returns what the exporter writes for a modelled key: the
// shadow when recanon(shadow) is the same JSON as canon, canon otherwise.
func chooseShadow(extra map[string]json.RawMessage, key string, canon []byte, recanon func([]byte) []byte) []byte {
	sh := compactRaw(extra[key])
	if sh == nil {
		return canon
	}
	if sameJSON(recanon(sh), canon) {
		return sh
	}
	return canon
}

// sameJSON reports whether two compact JSON texts are the same value:
// objects compare by their members whatever their order, strings by their
// decoded text. nil (absent) equals only nil.
func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	if bytes.Equal(a, b) {
		return true
	}
	switch {
	case a[0] == '{' && b[0] == '{':
		am, _ := members(a)
		bm, _ := members(b)
		if len(am) != len(bm) {
			return false
		}
		for _, m := range am {
			v, ok := get(bm, m.key)
			if !ok || !sameJSON(m.val, v) {
				return false
			}
		}
		return true
	case a[0] == '[' && b[0] == '[':
		ae, _ := elements(a)
		be, _ := elements(b)
		if len(ae) != len(be) {
			return false
		}
		for i := range ae {
			if !sameJSON(ae[i], be[i]) {
				return false
			}
		}
		return true
	case a[0] == '"' && b[0] == '"':
		as, ok1 := unquote(a)
		bs, ok2 := unquote(b)
		return ok1 && ok2 && as == bs
	}
	return false
}

// pathErr is a problem at a place in the file, as a JSON path.
func pathErr(path, format string, args ...any) error {
	if path == "" {
		path = "(top level)"
	}
	return fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), model.ErrInvalid)
}

func kindOf(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
