package syncserver

import (
	"strconv"
	"sync"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// framePool recycles the buffers of changes frames, so a connection that
// once sent a large frame does not keep its buffer while idle.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const (
	changesHead = `{"type":"changes","changes":[`
	// changesTail is the longer of the two endings.
	changesTail = `],"caught_up":false}`
)

// changesFrames splits changes into the JSON of changes frames of at most
// syncproto.MaxFrameSize bytes each, ending on change boundaries, and
// calls send with each; the last frame says caughtUp. Field values are
// written as stored: they were checked to be sealed values (JSON strings
// of base64) when pushed. send must not keep the slice.
func changesFrames(changes []model.Change, caughtUp bool, send func(frame []byte, last model.Change, caughtUp bool) error) error {
	bp := framePool.Get().(*[]byte)
	defer framePool.Put(bp)
	scratch := framePool.Get().(*[]byte)
	defer framePool.Put(scratch)
	frame := append((*bp)[:0], changesHead...)
	n := 0
	for i, c := range changes {
		one := appendChange((*scratch)[:0], c)
		*scratch = one
		if n > 0 && len(frame)+1+len(one)+len(changesTail) > syncproto.MaxFrameSize {
			if err := send(endFrame(frame, false), changes[i-1], false); err != nil {
				return err
			}
			frame, n = append(frame[:0], changesHead...), 0
		}
		if n > 0 {
			frame = append(frame, ',')
		}
		frame, n = append(frame, one...), n+1
	}
	*bp = frame
	var last model.Change
	if len(changes) > 0 {
		last = changes[len(changes)-1]
	}
	return send(endFrame(frame, caughtUp), last, caughtUp)
}

func endFrame(b []byte, caughtUp bool) []byte {
	if caughtUp {
		return append(b, `],"caught_up":true}`...)
	}
	return append(b, changesTail...)
}

// appendChange writes c as the JSON of model.Change.
func appendChange(b []byte, c model.Change) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, c.Seq, 10)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(c.Kind))
	b = append(b, `,"id":`...)
	b = appendString(b, string(c.ID))
	b = append(b, `,"fields":{`...)
	first := true
	for name, v := range c.Fields {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	b = append(b, '}')
	if c.OpID != "" {
		b = append(b, `,"op_id":`...)
		b = appendString(b, string(c.OpID))
	}
	return append(b, '}')
}

// appendString writes s as a JSON string. Kinds, ids and field names were
// validated (printable, no control characters) and decoded from JSON (so
// valid UTF-8): only quotes and backslashes need escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
