package model

import (
	"encoding/json"
	"unicode/utf8"
)

// HistoryRequestLimit bounds the request a history entry keeps and syncs,
// as JSON. A history entry syncs as one op, its request and its response
// (up to HistoryBodyLimit of body, as base64) each one sealed field, and
// every field and the whole op must fit the sync protocol's bounds
// (syncproto.MaxFieldValue, MaxOpSize): a request the size of the
// response's body, with room for its headers, does.
const HistoryRequestLimit = 320 << 10

// Cap cuts what r keeps so that its JSON fits HistoryRequestLimit, and
// reports whether it cut anything (then r.Truncated is set). The body's
// text goes first (the raw body, a GraphQL query and its variables), each
// to HistoryBodyLimit; then, while r is still too large, the longest text
// of the request (a body, a header or form value, the URL, the
// description) is halved, and what Courier only keeps for Postman (its
// scripts and extra attributes) goes. A request that fits is left as it
// is.
func (r *HistoryRequest) Cap() bool {
	if historyRequestSize(r) <= HistoryRequestLimit {
		return false
	}
	r.Truncated = true
	body := []*string{&r.Body.Raw}
	if r.Body.GraphQL != nil {
		body = append(body, &r.Body.GraphQL.Query, &r.Body.GraphQL.Variables)
	}
	for _, s := range body {
		*s = cutText(*s, HistoryBodyLimit)
	}
	for historyRequestSize(r) > HistoryRequestLimit {
		if s := longest(r.texts()); s != nil && len(*s) > 1<<10 {
			cutToFit(r, s)
			continue
		}
		if r.Events == nil && r.Extra == nil && r.Body.Extra == nil && r.Auth.Extra == nil {
			return true // nothing left to cut: the entry stays on this device
		}
		r.Events, r.Extra, r.Body.Extra, r.Auth.Extra = nil, nil, nil, nil
	}
	return true
}

// cutToFit cuts *s, one of r's texts, to the longest that lets r fit
// HistoryRequestLimit (a text of characters JSON escapes takes up to six
// times its length), or to nothing when even that is not enough.
func cutToFit(r *HistoryRequest, s *string) {
	full := *s
	lo, hi := 0, len(full) // r fits with lo bytes kept (or lo is 0), not with hi
	for hi-lo > 64 {
		mid := lo + (hi-lo)/2
		*s = cutText(full, mid)
		if historyRequestSize(r) <= HistoryRequestLimit {
			lo = mid
		} else {
			hi = mid
		}
	}
	*s = cutText(full, lo)
}

// historyRequestSize is the length of r as JSON.
func historyRequestSize(r *HistoryRequest) int {
	b, err := json.Marshal(r)
	if err != nil {
		return 0
	}
	return len(b)
}

// texts returns the strings of r that may be long.
func (r *HistoryRequest) texts() []*string {
	out := []*string{&r.Body.Raw, &r.URL, &r.ResolvedURL, &r.Description}
	if r.Body.GraphQL != nil {
		out = append(out, &r.Body.GraphQL.Query, &r.Body.GraphQL.Variables)
	}
	for _, kvs := range [][]KV{r.Headers, r.Body.URLEncoded, r.Body.FormData} {
		for i := range kvs {
			out = append(out, &kvs[i].Key, &kvs[i].Value, &kvs[i].Description)
		}
	}
	return out
}

// longest returns the longest of ss, or nil when there is none.
func longest(ss []*string) *string {
	var out *string
	for _, s := range ss {
		if out == nil || len(*s) > len(*out) {
			out = s
		}
	}
	return out
}

// cutText returns s cut to at most n bytes, at a character boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
