package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
)

// The history index is rebuilt for every history record a write touches,
// and a first sync writes thousands of them, so computing the summary and
// its JSON is on the hot path. The functions here do it without
// reflection for the values that occur in practice (plain objects, plain
// strings, integer numbers) and fall back to encoding/json for anything
// else, field by field, so the result is exactly what encoding/json gives.

// historySummary computes the summary of a history record from its fields.
// Fields that do not decode are left out of the summary rather than
// failing: the record itself is kept as it is.
func historySummary(id model.ID, f model.Fields) model.HistorySummary {
	s := model.HistorySummary{ID: id}
	if v, ok := f["sent_at"]; ok && !sentAtFast(v, &s.SentAt) {
		_ = json.Unmarshal(v, &s.SentAt)
	}
	if v, ok := f["request"]; ok && !requestFast(v, &s) {
		requestSlow(v, &s)
	}
	if v, ok := f["response"]; ok && !responseFast(v, &s) {
		responseSlow(v, &s)
	}
	if v, ok := f["error"]; ok {
		if str, ok := plainString(v); ok {
			s.Error = str
		} else {
			_ = json.Unmarshal(v, &s.Error)
		}
	}
	return s
}

func requestSlow(v json.RawMessage, s *model.HistorySummary) {
	var req struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Name   string `json:"name"`
	}
	if json.Unmarshal(v, &req) == nil {
		s.Method, s.URL, s.Name = req.Method, req.URL, req.Name
	}
}

func responseSlow(v json.RawMessage, s *model.HistorySummary) {
	var resp struct {
		Status  int `json:"status"`
		Timings struct {
			Total time.Duration `json:"total"`
		} `json:"timings"`
	}
	if json.Unmarshal(v, &resp) == nil {
		s.Status, s.Duration = resp.Status, resp.Timings.Total
	}
}

// sentAtFast decodes a JSON string holding an RFC 3339 time, as
// encoding/json would; false means "not handled here".
func sentAtFast(v json.RawMessage, t *time.Time) bool {
	if _, ok := plainString(v); !ok {
		return false
	}
	var out time.Time
	if out.UnmarshalJSON(v) != nil {
		return false
	}
	*t = out
	return true
}

// requestFast reads method, url and name from a request object whose
// keys and values are plain; false means "not handled here".
func requestFast(v json.RawMessage, s *model.HistorySummary) bool {
	var method, url, name string
	ok := eachKey(v, func(key []byte, val []byte) bool {
		var dst *string
		switch string(key) {
		case "method":
			dst = &method
		case "url":
			dst = &url
		case "name":
			dst = &name
		default:
			return !foldsToAny(key, "method", "url", "name")
		}
		str, ok := plainString(val)
		*dst = str
		return ok
	})
	if ok {
		s.Method, s.URL, s.Name = method, url, name
	}
	return ok
}

// responseFast reads status and timings.total from a response object
// whose keys and values are plain; false means "not handled here".
func responseFast(v json.RawMessage, s *model.HistorySummary) bool {
	var status, total int64
	ok := eachKey(v, func(key []byte, val []byte) bool {
		switch string(key) {
		case "status":
			n, ok := plainInt(val)
			status = n
			return ok
		case "timings":
			return eachKey(val, func(key []byte, val []byte) bool {
				if string(key) == "total" {
					n, ok := plainInt(val)
					total = n
					return ok
				}
				return !foldsToAny(key, "total")
			})
		}
		return !foldsToAny(key, "status", "timings")
	})
	if ok {
		s.Status, s.Duration = int(status), time.Duration(total)
	}
	return ok
}

// foldsToAny reports whether key could match one of names the way
// encoding/json matches keys (case-insensitively, with Unicode folding):
// any key with a byte outside ASCII letters, digits and '_' counts as a
// possible match, so that it goes to encoding/json.
func foldsToAny(key []byte, names ...string) bool {
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// plainString returns the value of a JSON string without escapes, spaces
// around it or invalid UTF-8.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// plainInt returns the value of a JSON number written as an integer that
// fits in 64 bits.
func plainInt(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 20 {
		return 0, false
	}
	for i, c := range v {
		if !(c >= '0' && c <= '9' || c == '-' && i == 0) {
			return 0, false
		}
	}
	if digits := bytes.TrimPrefix(v, []byte("-")); len(digits) > 1 && digits[0] == '0' {
		return 0, false // not JSON
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// eachKey calls fn with every key (raw, without escapes) and value (raw)
// of the JSON object v, in order, while fn returns true. It returns false
// when v is not an object it can walk (escaped keys included) or when fn
// returned false.
func eachKey(v []byte, fn func(key, val []byte) bool) bool {
	return model.EachJSONMember(v, func(key, val []byte) bool {
		return bytes.IndexByte(key, '\\') < 0 && fn(key, val)
	})
}

// appendSummaryJSON appends s as json.Marshal encodes it.
func appendSummaryJSON(b []byte, s model.HistorySummary) ([]byte, error) {
	sent, err := s.SentAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, string(s.ID))
	b = append(b, `,"sent_at":`...)
	b = append(b, sent...)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, s.Method)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, s.URL)
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Name)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(s.Duration), 10)
	if s.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, s.Error)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s quoted as json.Marshal quotes it: printable
// ASCII that needs no escape is copied, anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&':
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
