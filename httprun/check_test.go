package httprun

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestCheckBody(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.bin")
	tests := []struct {
		name string
		req  model.Request
		says string // "" when no warning is expected
	}{
		{"valid JSON", rawReq(model.LangJSON, `{"a": [1, 2]}`), ""},
		{"JSON with variables as values", rawReq(model.LangJSON, `{"id": {{id}}, "n": "{{name}}"}`), ""},
		{"invalid JSON names the line", rawReq(model.LangJSON, "{\n  \"a\": 1,\n  \"b\": x\n}"), "the body is not valid JSON: invalid character 'x' looking for beginning of value at line 3, column 8"},
		{"truncated JSON", rawReq(model.LangJSON, `{"a": [1,`), "unexpected end"},
		{"two JSON values", rawReq(model.LangJSON, `{} {}`), "unexpected text after the JSON value at line 1, column 4"},
		{"JSON by Content-Type header", withHeader(rawReq(model.LangText, "{"), "content-type", "application/json"), "not valid JSON"},
		{"text is not checked", rawReq(model.LangText, "{"), ""},
		{"empty JSON body is fine", rawReq(model.LangJSON, "  "), ""},
		{"valid XML", rawReq(model.LangXML, `<a><b/></a>`), ""},
		{"invalid XML names the line", rawReq(model.LangXML, "<a>\n<b></a>"), "the body is not well-formed XML: element <b> closed by </a> at line 2"},
		{"a disabled body is not checked", model.Request{Body: model.Body{Mode: model.BodyRaw, Language: model.LangJSON, Raw: "{", Disabled: true}}, ""},
		{"GraphQL variables", model.Request{Body: model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{Query: "{a}", Variables: "{x"}}}, "the GraphQL variables are not valid JSON"},
		{"a missing body file", model.Request{Body: model.Body{Mode: model.BodyFile, File: missing}}, "cannot read the body file"},
		{"a missing form file", model.Request{Body: model.Body{Mode: model.BodyFormData, FormData: []model.KV{{Key: "f", Type: "file", Src: missing}}}}, `the file of form field "f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckBody(tt.req)
			if (tt.says == "") != (got == "") || !strings.Contains(got, tt.says) {
				t.Fatalf("CheckBody = %q, want %q", got, tt.says)
			}
		})
	}
}

func rawReq(lang, raw string) model.Request {
	return model.Request{Method: "POST", Body: model.Body{Mode: model.BodyRaw, Language: lang, Raw: raw}}
}

func withHeader(r model.Request, k, v string) model.Request {
	r.Headers = append(r.Headers, model.KV{Key: k, Value: v})
	return r
}

func TestPrettyJSON(t *testing.T) {
	got, ok := PrettyJSON([]byte("\xef\xbb\xbf {\"b\":1.50,\"a\":[true,null]}\n"))
	want := "{\n  \"b\": 1.50,\n  \"a\": [\n    true,\n    null\n  ]\n}"
	if !ok || string(got) != want {
		t.Fatalf("PrettyJSON = %q, %v; want %q", got, ok, want)
	}
	if got, ok := PrettyJSON([]byte("<html>")); ok || string(got) != "<html>" {
		t.Fatalf("PrettyJSON of HTML = %q, %v; want it unchanged and false", got, ok)
	}
}

func TestHexPreview(t *testing.T) {
	got := HexPreview([]byte("Hello, world!\x00\x01\x02\xff and more"), 16)
	want := "00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 02  |Hello, world!...|\n... 10 more bytes\n"
	if got != want {
		t.Fatalf("HexPreview =\n%q\nwant\n%q", got, want)
	}
	if got := HexPreview([]byte("ab"), 0); !strings.HasPrefix(got, "00000000  61 62") || strings.Contains(got, "more") {
		t.Fatalf("HexPreview(all) = %q", got)
	}
}
