package syncproto

import (
	"bytes"

	"github.com/courierapp/courier/model"
)

// decodeChangesFast parses b when it is a changes frame in exactly the
// form the server writes: keys in the order type, changes, caught_up; per
// change seq, kind, id, fields and an optional op_id; no whitespace; only
// printable ASCII strings without escapes; field values that are strings
// of base64 characters; no duplicate field names. It builds the same
// *Changes the strict decoder would, without validating it. ok is false
// for anything else, and the caller must then use the strict decoder, so
// which inputs are accepted and how they are judged does not change. With
// inPlace, the field values alias b instead of a copy.
func decodeChangesFast(b []byte, inPlace bool) (f *Changes, ok bool) {
	const head = `{"type":"changes","changes":[`
	if len(b) > MaxFrameSize || !bytes.HasPrefix(b, []byte(head)) {
		return nil, false
	}
	s := scanner{b: b, i: len(head), inPlace: inPlace}
	changes := make([]model.Change, 0, bytes.Count(b, []byte(`{"seq":`)))
	if !s.lit("]") {
		for {
			c, ok := s.change()
			if !ok {
				return nil, false
			}
			changes = append(changes, c)
			if s.lit("]") {
				break
			}
			if !s.lit(",") {
				return nil, false
			}
		}
	}
	var caughtUp bool
	switch {
	case s.lit(`,"caught_up":true}`):
		caughtUp = true
	case s.lit(`,"caught_up":false}`):
	default:
		return nil, false
	}
	if s.i != len(b) {
		return nil, false
	}
	return &Changes{Changes: changes, CaughtUp: caughtUp}, true
}

// scanner walks a frame for decodeChangesFast; every method reports
// false, without a promise about i, when the input is not in the fixed
// form.
type scanner struct {
	b       []byte
	i       int
	inPlace bool // field values alias b
}

// lit consumes l if the input continues with it.
func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// change consumes one change object.
func (s *scanner) change() (c model.Change, ok bool) {
	if !s.lit(`{"seq":`) {
		return c, false
	}
	if c.Seq, ok = s.uint(); !ok || !s.lit(`,"kind":`) {
		return c, false
	}
	kind, ok := s.str()
	if !ok || !s.lit(`,"id":`) {
		return c, false
	}
	c.Kind = internKind(kind)
	id, ok := s.str()
	if !ok || !s.lit(`,"fields":`) {
		return c, false
	}
	c.ID = model.ID(id)
	if c.Fields, ok = s.fields(); !ok {
		return c, false
	}
	if s.lit(`,"op_id":`) {
		op, ok := s.str()
		if !ok {
			return c, false
		}
		c.OpID = model.ID(op)
	}
	return c, s.lit("}")
}

// uint consumes a JSON number that is a uint64 of at most 19 digits (so
// it cannot overflow), without a leading zero.
func (s *scanner) uint() (n uint64, ok bool) {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + uint64(s.b[s.i]-'0')
		s.i++
	}
	d := s.i - start
	if d == 0 || d > 19 || (d > 1 && s.b[start] == '0') {
		return 0, false
	}
	return n, true
}

// str consumes a JSON string of printable ASCII without escapes and
// returns its contents, which alias the input.
func (s *scanner) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], true
		case c < ' ' || c > '~' || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// fields consumes the fields object. Values must be strings of base64
// characters; they are copied, one allocation per object, so the frame
// buffer is not kept (unless s.inPlace).
func (s *scanner) fields() (model.Fields, bool) {
	if !s.lit("{") {
		return nil, false
	}
	end := bytes.IndexByte(s.b[s.i:], '}')
	if end < 0 {
		return nil, false
	}
	body := s.b[s.i : s.i+end]
	fields := make(model.Fields, bytes.Count(body, []byte(":")))
	if s.lit("}") {
		return fields, true
	}
	base := s.i
	own := body
	if !s.inPlace {
		own = bytes.Clone(body)
	}
	for {
		name, ok := s.str()
		if !ok || !s.lit(":") {
			return nil, false
		}
		v, ok := s.value()
		if !ok {
			return nil, false
		}
		key := internField(name)
		if _, dup := fields[key]; dup {
			return nil, false
		}
		// Values hold no '}', but a name may: then body ends too early and
		// the object is not in the fixed form.
		lo, hi := v[0]-base, v[1]-base
		if hi > len(own) {
			return nil, false
		}
		fields[key] = own[lo:hi:hi]
		if s.lit("}") {
			return fields, s.i-1 == base+end
		}
		if !s.lit(",") {
			return nil, false
		}
	}
}

// value consumes a string of base64 characters and '=' and returns its
// bounds in the input, quotes included.
func (s *scanner) value() ([2]int, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return [2]int{}, false
	}
	n := bytes.IndexByte(s.b[s.i+1:], '"')
	if n < 0 {
		return [2]int{}, false
	}
	ok := byte(1)
	for _, c := range s.b[s.i+1 : s.i+1+n] {
		ok &= b64pad[c]
	}
	if ok == 0 {
		return [2]int{}, false
	}
	v := [2]int{s.i, s.i + n + 2}
	s.i += n + 2
	return v, true
}

// b64pad is 1 for the bytes of the standard base64 alphabet and '=',
// else 0.
var b64pad = func() [256]byte {
	t := b64
	t['='] = 1
	return t
}()

// knownFields maps every field name of every kind to itself, so decoding
// a known name does not allocate. It is never written after init.
var knownFields = func() map[string]string {
	m := map[string]string{model.FieldDeleted: model.FieldDeleted}
	for _, k := range model.Kinds {
		for _, f := range k.Fields() {
			m[f] = f
		}
	}
	return m
}()

func internField(b []byte) string {
	if s, ok := knownFields[string(b)]; ok {
		return s
	}
	return string(b)
}

func internKind(b []byte) model.Kind {
	for _, k := range model.Kinds {
		if string(k) == string(b) {
			return k
		}
	}
	return model.Kind(b)
}
