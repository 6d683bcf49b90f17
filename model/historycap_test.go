package model_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/courierapp/courier/model"
)

func requestSize(t *testing.T, r *model.HistoryRequest) int {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestCapKeepsASmallRequestAsItIs(t *testing.T) {
	r := model.HistoryRequest{Request: model.Request{Method: "POST", URL: "https://a.example/", Body: model.Body{Mode: model.BodyRaw, Raw: `{"a":1}`}}}
	before := r
	if r.Cap() || r.Truncated || r.Body.Raw != before.Body.Raw {
		t.Errorf("Cap of a small request cut it: %+v", r)
	}
}

func TestCapFitsEveryLargeRequestInTheHistoryLimit(t *testing.T) {
	big := func(n int, unit string) string { return strings.Repeat(unit, n/len(unit)) }
	for _, tc := range []struct {
		name   string
		r      model.HistoryRequest
		prefix string // what must be kept at the start of the raw body
	}{
		{"a 600 KB raw body", model.HistoryRequest{Request: model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: big(600<<10, "abcdefgh")}}}, "abcdefgh"},
		{"a body of characters JSON escapes", model.HistoryRequest{Request: model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: big(300<<10, "\x01<")}}}, "\x01<"},
		{"a body of multibyte characters", model.HistoryRequest{Request: model.Request{Body: model.Body{Mode: model.BodyRaw, Raw: big(700<<10, "é€")}}}, "é€"},
		{"a GraphQL body", model.HistoryRequest{Request: model.Request{Body: model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{Query: big(400<<10, "{ a }"), Variables: big(400<<10, "1,")}}}}, ""},
		{"a huge header and URL", model.HistoryRequest{Request: model.Request{URL: "https://a.example/?q=" + big(200<<10, "x"), Headers: []model.KV{{Key: "X-Big", Value: big(500<<10, "y")}}}}, ""},
		{"Postman scripts", model.HistoryRequest{Request: model.Request{Events: json.RawMessage(`"` + big(400<<10, "z") + `"`)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			if !r.Cap() || !r.Truncated {
				t.Fatal("Cap did not cut a request over the limit")
			}
			if n := requestSize(t, &r); n > model.HistoryRequestLimit {
				t.Errorf("capped request is %d bytes of JSON; want at most %d", n, model.HistoryRequestLimit)
			}
			if !strings.HasPrefix(r.Body.Raw, tc.prefix) {
				t.Errorf("the body lost its start: %.20q", r.Body.Raw)
			}
			for _, s := range []string{r.Body.Raw, r.URL} {
				if !utf8.ValidString(s) {
					t.Errorf("a cut text is not valid UTF-8: %.20q", s)
				}
			}
			// As much as fits is kept: within 64 bytes of the limit.
			if tc.prefix != "" && requestSize(t, &r) < model.HistoryRequestLimit-64*6 && len(r.Body.Raw) < model.HistoryBodyLimit-utf8.UTFMax {
				t.Errorf("kept %d bytes of the body in %d of JSON; want as much as fits", len(r.Body.Raw), requestSize(t, &r))
			}
		})
	}
}
