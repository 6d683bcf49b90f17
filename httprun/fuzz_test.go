package httprun

import (
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// FuzzBuild feeds arbitrary requests to the part of Send that turns a
// model.Request into an *http.Request: it must never panic, and must fail
// only with an *Error.
func FuzzBuild(f *testing.F) {
	f.Add("GET", "http://x.test/a?b=c", "X-A", "v", "{{a}}", "tok", "json")
	f.Add("", "{{a}}:{{b}}/%zz?q= x#f", "{{a}}", "\n", `{"a": {{b}}}`, "a\nb", "xml")
	f.Add("GE T", "ftp://[::1/", "", "", "", "", "")
	r := New(Options{Proxy: "direct"})
	f.Fuzz(func(t *testing.T, method, url, hk, hv, raw, token, lang string) {
		req := model.Request{
			Method:  method,
			URL:     url,
			Headers: []model.KV{{Key: hk, Value: hv}},
			Body:    model.Body{Mode: model.BodyRaw, Raw: raw, Language: lang},
			Auth:    auth(model.AuthAPIKey, "key", hk, "value", token, "in", "query"),
		}
		scope := Scope{Environment: map[string]string{"a": hv, "b": token}}
		out, err := r.build(req, scope)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("error %T %v is not an *Error with a message", err, err)
			}
			return
		}
		if out.req.URL.Host == "" || (out.req.URL.Scheme != "http" && out.req.URL.Scheme != "https") {
			t.Fatalf("built a request to %q", out.url)
		}
		if ru := out.req.URL.RequestURI(); strings.ContainsFunc(ru, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
			t.Fatalf("request line would carry %q", ru)
		}
		_ = CheckBody(req)
		_ = Unresolved(req, scope)
	})
}
