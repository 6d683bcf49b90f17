package boltstore

import (
	"encoding/json"
	"strings"

	"github.com/courierapp/courier/model"
)

// decodeLogRec decodes a sync log entry, appending its field names to
// names. Entries as json.Marshal writes them (keys in their order, ASCII
// strings without escapes) take a fast path whose strings all share one
// allocation; any other JSON goes through encoding/json, so every entry
// ever written decodes as before. Errors: raw is not a log entry.
func decodeLogRec(raw []byte, names []string) (logRec, error) {
	if rec, ok := scanLogRec(string(raw), names); ok {
		return rec, nil
	}
	rec := logRec{Fields: names}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return logRec{}, err
	}
	return rec, nil
}

// scanLogRec reads {"op_id":S,"kind":S,"id":S,"fields":[S,...]} exactly
// (op_id optional, fields possibly null), with no space and strings of
// printable ASCII without escapes. It reports false for anything else.
func scanLogRec(s string, names []string) (logRec, bool) {
	p := logScanner{s: s}
	var rec logRec
	ok := p.lit(`{`)
	if ok && p.lit(`"op_id":`) {
		rec.OpID = model.ID(p.str(&ok))
		ok = ok && p.lit(`,`)
	}
	ok = ok && p.lit(`"kind":`)
	rec.Kind = model.Kind(p.str(&ok))
	ok = ok && p.lit(`,"id":`)
	rec.ID = model.ID(p.str(&ok))
	ok = ok && p.lit(`,"fields":`)
	switch {
	case !ok:
	case p.lit(`null`):
	case p.lit(`[]`):
		rec.Fields = names[:0]
		if names == nil {
			rec.Fields = []string{}
		}
	case p.lit(`[`):
		rec.Fields = append(names, p.str(&ok))
		for ok && p.lit(`,`) {
			rec.Fields = append(rec.Fields, p.str(&ok))
		}
		ok = ok && p.lit(`]`)
	default:
		ok = false
	}
	ok = ok && p.lit(`}`) && p.i == len(s)
	return rec, ok
}

// logScanner walks the text of a log entry.
type logScanner struct {
	s string
	i int
}

// lit consumes t if the text goes on with it.
func (p *logScanner) lit(t string) bool {
	if !strings.HasPrefix(p.s[p.i:], t) {
		return false
	}
	p.i += len(t)
	return true
}

// str consumes a JSON string of printable ASCII without escapes and
// returns its content; otherwise it sets *ok to false. It does nothing
// once *ok is false.
func (p *logScanner) str(ok *bool) string {
	if !*ok || !p.lit(`"`) {
		*ok = false
		return ""
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1]
		case c < 0x20 || c >= 0x7f || c == '\\':
			*ok = false
			return ""
		}
	}
	*ok = false
	return ""
}
