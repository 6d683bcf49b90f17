package postman

import (
	"encoding/json"
	"strings"
)

// exportURL writes a request's URL: the file's own form while it still
// gives the same text; once the URL was edited, a plain string, or, when
// the file had a URL object, a new object split from the new text that
// keeps the old object's disabled query parameters, path variables and
// other keys (Postman's tools read the parts, not raw).
func exportURL(extra map[string]json.RawMessage, u string) []byte {
	return mergeShadowBytes(extra["url"], encodeURL(u), recanonURL, func(sh []byte) []byte { return urlObject(sh, u) })
}

// mergeShadowBytes is mergeShadow for a shadow already at hand.
func mergeShadowBytes(sh, canon []byte, recanon, merge func([]byte) []byte) []byte {
	sh = compactRaw(sh)
	if sh == nil {
		return canon
	}
	if sameJSON(recanon(sh), canon) {
		return sh
	}
	if canon != nil && sh[0] == '{' {
		return merge(sh)
	}
	return canon
}

// urlObject splits u into Postman's URL object, carrying over from old
// its disabled query rows, its path variables and any other keys.
func urlObject(old []byte, u string) []byte {
	oldMs, _ := members(old)
	parts := splitURL(u)
	o := obj{{key: "raw", val: jstr(u)}}
	if parts.protocol != "" {
		o.set("protocol", jstr(parts.protocol))
	}
	if parts.user != "" || parts.password != "" {
		o.set("auth", obj{{key: "user", val: jstr(parts.user)}, {key: "password", val: jstr(parts.password)}}.bytes())
	}
	o.set("host", stringArray(strings.Split(parts.host, ".")))
	if parts.port != "" {
		o.set("port", jstr(parts.port))
	}
	if parts.path != "" {
		o.set("path", stringArray(strings.Split(parts.path, "/")))
	}
	var query [][]byte
	for _, kv := range parts.query {
		q := obj{{key: "key", val: jstr(*kv[0])}}
		if kv[1] == nil {
			q.set("value", []byte("null"))
		} else {
			q.set("value", jstr(*kv[1]))
		}
		query = append(query, q.bytes())
	}
	if oq, ok := get(oldMs, "query"); ok {
		els, _ := elements(oq)
		for _, e := range els {
			if ms, ok := members(e); ok {
				if d, _ := get(ms, "disabled"); string(d) == "true" {
					query = append(query, e)
				}
			}
		}
	}
	if len(query) > 0 {
		o.set("query", array(query))
	}
	if parts.hash != "" {
		o.set("hash", jstr(parts.hash))
	}
	for _, m := range oldMs {
		switch m.key {
		case "raw", "protocol", "auth", "host", "port", "path", "query", "hash":
		default:
			o.set(m.key, m.val) // variable, description, unknown keys
		}
	}
	return o.bytes()
}

type urlParts struct {
	protocol, user, password, host, port, path, hash string
	query                                            [][2]*string
}

// splitURL splits a URL the way Postman does, keeping {{variables}} whole.
func splitURL(u string) urlParts {
	var p urlParts
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 && !strings.ContainsAny(rest[:i], "/?#") {
		p.protocol, rest = rest[:i], rest[i+3:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		p.hash, rest = rest[i+1:], rest[:i]
	}
	var q string
	hasQuery := false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, rest, hasQuery = rest[i+1:], rest[:i], true
	}
	hostPort := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostPort, p.path = rest[:i], rest[i+1:]
	}
	if i := strings.LastIndexByte(hostPort, '@'); i >= 0 {
		auth := hostPort[:i]
		hostPort = hostPort[i+1:]
		p.user, p.password, _ = strings.Cut(auth, ":")
	}
	if i := lastColonOutsideVars(hostPort); i >= 0 {
		hostPort, p.port = hostPort[:i], hostPort[i+1:]
	}
	p.host = hostPort
	if hasQuery {
		for _, pair := range strings.Split(q, "&") {
			k, v, ok := strings.Cut(pair, "=")
			kk := k
			if ok {
				vv := v
				p.query = append(p.query, [2]*string{&kk, &vv})
			} else {
				p.query = append(p.query, [2]*string{&kk, nil})
			}
		}
	}
	return p
}

func stringArray(ss []string) []byte {
	items := make([][]byte, len(ss))
	for i, s := range ss {
		items[i] = jstr(s)
	}
	return array(items)
}

// lastColonOutsideVars returns the index of the last ':' of s that is not
// inside a {{variable}}, or -1.
func lastColonOutsideVars(s string) int {
	last, depth := -1, 0
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			depth++
			i++
		case strings.HasPrefix(s[i:], "}}") && depth > 0:
			depth--
			i++
		case s[i] == ':' && depth == 0:
			last = i
		}
	}
	return last
}
