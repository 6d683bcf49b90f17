package httprun

import (
	"strings"

	"github.com/courierapp/courier/model"
)

// splitURL cuts a URL as typed into what precedes the query, the query and
// the fragment. It never fails: a URL is split on its first '?' and the
// first '#' after it, {{variables}} and invalid URLs included.
func splitURL(s string) (base, query string, hasQuery bool, frag string, hasFrag bool) {
	base, frag, hasFrag = strings.Cut(s, "#")
	base, query, hasQuery = strings.Cut(base, "?")
	return base, query, hasQuery, frag, hasFrag
}

// ParseQuery returns the query parameters of a URL as typed, in order, as
// the Params table shows them: the text of each key and value as written
// (not percent-decoded, {{variables}} kept), split on '&' and on the first
// '='. Empty pieces ("a=1&&b=2") are skipped. It never fails.
func ParseQuery(rawURL string) []model.KV {
	_, query, _, _, _ := splitURL(rawURL)
	var kvs []model.KV
	for piece := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(piece, "=")
		if k == "" && v == "" {
			continue
		}
		kvs = append(kvs, model.KV{Key: k, Value: v})
	}
	return kvs
}

// WithQuery returns rawURL with its query replaced by the enabled params, in
// order, as "key=value" (just "key" when the value is empty); no query at
// all when none is enabled. The rest of the URL, {{variables}} and the
// fragment are kept as written. Keys and values are written as typed except
// for the characters that would change the query's structure ('&', '#', and
// '=' in a key), which are percent-encoded. For a URL whose pieces are not
// empty and not "key=", WithQuery(u, ParseQuery(u)) == u.
func WithQuery(rawURL string, params []model.KV) string {
	base, _, _, frag, hasFrag := splitURL(rawURL)
	var b strings.Builder
	b.WriteString(base)
	sep := byte('?')
	for _, p := range params {
		if p.Disabled || (p.Key == "" && p.Value == "") {
			continue
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(keyEscaper.Replace(p.Key))
		if p.Value != "" {
			b.WriteByte('=')
			b.WriteString(valueEscaper.Replace(p.Value))
		}
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

var (
	keyEscaper   = strings.NewReplacer("&", "%26", "#", "%23", "=", "%3D")
	valueEscaper = strings.NewReplacer("&", "%26", "#", "%23")
)
