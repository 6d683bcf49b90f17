package httprun

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/courierapp/courier/model"
	"golang.org/x/net/http/httpguts"
)

// outgoing is a request ready for the client.
type outgoing struct {
	req      *http.Request
	url      string
	warnings []string
}

// resolveFunc resolves the variables of one text of the request; what (and
// name, when not empty) say which text in an error.
type resolveFunc func(s, what, name string) (string, error)

func scopeResolver(scope Scope) resolveFunc {
	return func(s, what, name string) (string, error) {
		v, err := Resolve(s, scope)
		if err != nil {
			if name != "" {
				what = fmt.Sprintf("%s %q", what, name)
			}
			return "", newError(KindVariable, err, "%s: %s", what, strings.TrimSuffix(err.Error(), ": "+errCause(err)))
		}
		return v, nil
	}
}

// errCause returns the message of the model error err wraps, so the
// sentence for the user does not end in "invalid input".
func errCause(err error) string {
	for _, e := range []error{model.ErrInvalid, model.ErrTooLarge} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ""
}

// build turns req into an *http.Request (without a context yet).
func (r *Runner) build(req model.Request, scope Scope) (*outgoing, error) {
	rs := scopeResolver(scope)
	method, err := requestMethod(req)
	if err != nil {
		return nil, err
	}
	raw, err := rs(req.URL, "URL", "")
	if err != nil {
		return nil, err
	}
	u, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	h, host, err := requestHeaders(req.Headers, rs)
	if err != nil {
		return nil, err
	}
	out := &outgoing{}
	warn, err := applyAuth(h, u, req.Auth, rs)
	if err != nil {
		return nil, err
	}
	if warn != "" {
		out.warnings = append(out.warnings, warn)
	}
	p, err := buildBody(req.Body, rs)
	if err != nil {
		return nil, err
	}
	out.warnings = append(out.warnings, p.setOn(h)...)
	r.setDefaults(h)
	out.url = u.String()
	out.req = &http.Request{
		Method: method, URL: u, Header: h, Host: host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	if p.length > 0 {
		out.req.ContentLength = p.length
		out.req.GetBody = p.open
		if out.req.Body, err = p.open(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// requestMethod returns the method to send: as typed, or GET (POST for a
// GraphQL body) when empty.
func requestMethod(req model.Request) (string, error) {
	m := strings.TrimSpace(req.Method)
	if m == "" {
		if req.Body.Mode == model.BodyGraphQL && !req.Body.Disabled {
			return http.MethodPost, nil
		}
		return http.MethodGet, nil
	}
	if !httpguts.ValidHeaderFieldName(m) { // a method is an HTTP token, as a header name is
		return "", newError(KindInvalidMethod, model.ErrInvalid, "invalid method %q (letters, digits and !#$%%&'*+-.^_`|~ only)", m)
	}
	return m, nil
}

// parseTarget parses the URL to send. A URL without a scheme is taken as
// http. Characters that cannot travel in a URL are percent-encoded (spaces,
// control characters, non-ASCII, a '%' that starts no escape), the rest is
// sent as written; the fragment is not sent.
func parseTarget(s string) (*url.URL, error) {
	typed := s
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, newError(KindInvalidURL, model.ErrInvalid, "the URL is empty")
	}
	if strings.HasPrefix(s, "//") {
		s = "http:" + s
	} else if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	base, query, hasQuery, _, _ := splitURL(s)
	u, err := url.Parse(escapeURLPart(base, false))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, newError(KindInvalidURL, fmt.Errorf("%w: %w", model.ErrInvalid, err), "invalid URL %q: %s", typed, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, newError(KindUnsupportedScheme, model.ErrInvalid, "unsupported scheme %q in %q (use http or https)", u.Scheme, typed)
	}
	if u.Hostname() == "" {
		return nil, newError(KindInvalidURL, model.ErrInvalid, "the URL %q has no host", typed)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, newError(KindInvalidURL, model.ErrInvalid, "invalid port %q in %q", p, typed)
		}
	}
	if hasQuery {
		u.RawQuery = escapeURLPart(query, true)
		u.ForceQuery = query == ""
	}
	return u, nil
}

// escapeURLPart percent-encodes the bytes that cannot be sent in a URL (in
// a query also the characters RFC 3986 excludes, as browsers do), and a
// '%' that starts no escape.
func escapeURLPart(s string, query bool) string {
	const hexDigits = "0123456789ABCDEF"
	i := 0
	for i < len(s) && !mustEscape(s, i, query) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if !mustEscape(s, i, query) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// mustEscape reports whether the byte at s[i] cannot be sent as it is.
func mustEscape(s string, i int, query bool) bool {
	c := s[i]
	switch {
	case c < 0x20 || c == 0x7f:
		return true
	case c == '%':
		return !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]))
	case !query:
		return false
	}
	return c >= 0x80 || strings.IndexByte(" \"<>\\^`{|}", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// requestHeaders resolves the enabled headers. A Host header sets the
// request's host instead. Rows with an empty name are skipped.
func requestHeaders(rows []model.KV, rs resolveFunc) (http.Header, string, error) {
	h := make(http.Header, len(rows)+4)
	host := ""
	for _, kv := range rows {
		if kv.Disabled {
			continue
		}
		k, err := rs(kv.Key, "header name", kv.Key)
		if err != nil {
			return nil, "", err
		}
		v, err := rs(kv.Value, "header", kv.Key)
		if err != nil {
			return nil, "", err
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			continue
		}
		if err := checkHeader(k, v, false); err != nil {
			return nil, "", newError(KindInvalidHeader, fmt.Errorf("%w: %w", model.ErrInvalid, err), "cannot send header %q: %s", k, err)
		}
		if strings.EqualFold(k, "Host") {
			host = v
			continue
		}
		h.Add(k, v)
	}
	return h, host, nil
}

// setDefaults adds the headers a request gets unless it sets them.
func (r *Runner) setDefaults(h http.Header) {
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", r.opts.UserAgent)
	}
	if _, ok := h["Accept"]; !ok {
		h.Set("Accept", "*/*")
	}
	if _, ok := h["Accept-Encoding"]; !ok {
		h.Set("Accept-Encoding", "gzip, deflate")
	}
}
