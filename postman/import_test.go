package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/postman/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func findReq(t *testing.T, b *Bundle, name string) model.Request {
	t.Helper()
	for _, r := range b.Requests {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no request %q", name)
	return model.Request{}
}

func findFolder(t *testing.T, b *Bundle, name string) model.Folder {
	t.Helper()
	for _, f := range b.Folders {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no folder %q", name)
	return model.Folder{}
}

func findVar(t *testing.T, b *Bundle, name string) model.Variable {
	t.Helper()
	for _, v := range b.Variables {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variable %q", name)
	return model.Variable{}
}

func TestImportCollectionV21MapsOntoTheModel(t *testing.T) {
	b := importBytesT(t, readTestdata(t, "everything.v21.postman_collection.json"))
	if b.Kind != KindCollectionV21 || len(b.Collections) != 1 {
		t.Fatalf("kind %s, %d collections", b.Kind, len(b.Collections))
	}
	c := b.Collections[0]
	if c.Name != "Everything v2.1" || !strings.Contains(c.Description, "**every**") {
		t.Errorf("collection name/description = %q / %q", c.Name, c.Description)
	}
	if c.Auth == nil || c.Auth.Type != model.AuthBearer || c.Auth.Param("token") != "{{token}}" {
		t.Errorf("collection auth = %+v", c.Auth)
	}
	if len(b.Folders) != 6 || len(b.Requests) != 21 {
		t.Errorf("got %d folders, %d requests; want 6, 21", len(b.Folders), len(b.Requests))
	}
	bodies := findFolder(t, b, "Bodies")
	deepest := findFolder(t, b, "Deepest")
	deeper := findFolder(t, b, "Deeper")
	if bodies.Parent != c.ID || bodies.Collection != c.ID || deepest.Parent != deeper.ID {
		t.Errorf("folder parents wrong: bodies %s, deepest %s (deeper %s)", bodies.Parent, deepest.Parent, deeper.ID)
	}
	// Siblings keep the file's order through their order keys.
	var prev string
	for _, r := range b.Requests {
		if r.Parent == bodies.ID {
			if r.Order <= prev {
				t.Errorf("order key %q of %q not after %q", r.Order, r.Name, prev)
			}
			prev = r.Order
		}
	}

	tests := []struct {
		name  string
		check func(r model.Request) bool
	}{
		{"raw json", func(r model.Request) bool {
			return r.Method == "POST" && r.Body.Mode == model.BodyRaw && r.Body.Language == model.LangJSON &&
				r.URL == "{{baseUrl}}/post?q=1#frag" && r.Description == "A string description." &&
				len(r.Headers) == 3 && r.Headers[1].Disabled && r.Headers[2].Description == "A header with an object description" &&
				strings.Contains(string(r.Events), "status is 200") && strings.Contains(string(r.Extra["response"]), "saved example")
		}},
		{"urlencoded", func(r model.Request) bool {
			return r.Body.Mode == model.BodyURLEncoded && len(r.Body.URLEncoded) == 3 && r.Body.URLEncoded[1].Disabled && !r.Body.URLEncoded[0].Disabled
		}},
		{"formdata", func(r model.Request) bool {
			f := r.Body.FormData
			return r.Body.Mode == model.BodyFormData && len(f) == 4 && f[1].ContentType == "application/json" &&
				f[2].Type == "file" && f[2].Src == "/tmp/does-not-exist.txt" && f[2].Disabled && f[3].Src == "/tmp/a.txt"
		}},
		{"file", func(r model.Request) bool {
			return r.Body.Mode == model.BodyFile && r.Body.File == "/tmp/upload.bin" && r.Body.Disabled
		}},
		{"graphql", func(r model.Request) bool {
			return r.Body.Mode == model.BodyGraphQL && r.Body.GraphQL != nil &&
				strings.HasPrefix(r.Body.GraphQL.Query, "query Hello") && r.Body.GraphQL.Variables == `{"n": 3}`
		}},
		{"no body", func(r model.Request) bool { return r.Method == "DELETE" && r.Body.Mode == model.BodyNone }},
		{"inherits basic from folder", func(r model.Request) bool { return r.Auth.Type == model.AuthInherit }},
		{"noauth", func(r model.Request) bool { return r.Auth.Type == model.AuthNone }},
		{"bearer", func(r model.Request) bool {
			return r.Auth.Type == model.AuthBearer && r.Auth.Param("token") == "{{token}}"
		}},
		{"apikey in query", func(r model.Request) bool {
			return r.Auth.Type == model.AuthAPIKey && r.Auth.Param("key") == "api_key" && r.Auth.Param("in") == "query"
		}},
		{"oauth2", func(r model.Request) bool {
			return r.Auth.Type == "oauth2" && r.Auth.Param("accessToken") == "abc" && strings.Contains(r.Auth.Param("tokenRequestParams"), "audience")
		}},
		{"oauth1", func(r model.Request) bool {
			return r.Auth.Type == "oauth1" && r.Auth.Param("addParamsToHeader") == "true"
		}},
		{"akamai edgegrid with other types kept", func(r model.Request) bool {
			return r.Auth.Type == model.AuthBearer && strings.Contains(string(r.Auth.Extra["basic"]), "left over")
		}},
		{"url as object without raw", func(r model.Request) bool {
			return r.URL == "https://example.com:8443/users/:id?expand=all"
		}},
		{"root request with everything at item level", func(r model.Request) bool {
			return r.Method == "GET" && len(r.Headers) == 2 && r.Headers[0].Key == "Accept" && r.Headers[1].Disabled &&
				r.Parent == c.ID && strings.Contains(string(r.Extra["protocolProfileBehavior"]), "strictSSL") &&
				strings.Contains(string(r.Extra["variable"]), "requestVar")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := findReq(t, b, tt.name)
			if !tt.check(r) {
				got, _ := json.Marshal(r)
				t.Errorf("request imported as %s", got)
			}
		})
	}
	auth := findFolder(t, b, "Auth")
	if auth.Auth == nil || auth.Auth.Type != model.AuthBasic || auth.Auth.Param("username") != "user" {
		t.Errorf("folder auth = %+v", auth.Auth)
	}
	if !strings.Contains(string(bodies.Events), "fromFolder") || !strings.Contains(string(bodies.Extra["variable"]), "folderVar") {
		t.Errorf("folder events/variables not kept: %s / %s", bodies.Events, bodies.Extra["variable"])
	}
	if v := findVar(t, b, "token"); !v.Secret || v.Owner != c.ID || v.Value != "s3cr3t" {
		t.Errorf("secret variable = %+v", v)
	}
	if v := findVar(t, b, "disabledVar"); v.Enabled {
		t.Errorf("disabled variable imported enabled")
	}
	if v := findVar(t, b, "number"); v.Value != "42" {
		t.Errorf("number variable value = %q", v.Value)
	}
}

func TestImportOtherKinds(t *testing.T) {
	t.Run("v2.0 auth objects become v2.1 params", func(t *testing.T) {
		b := importBytesT(t, readTestdata(t, "legacy.v20.postman_collection.json"))
		if b.Kind != KindCollectionV20 {
			t.Fatalf("kind = %s", b.Kind)
		}
		c := b.Collections[0]
		if c.Auth.Type != model.AuthBasic || c.Auth.Param("username") != "collection-user" || c.Auth.Param("saveHelperData") != "true" {
			t.Errorf("collection auth = %+v", c.Auth)
		}
		out, err := ExportCollection(c, b.Folders, b.Requests, b.Variables)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`"key": "username"`)) || !bytes.Contains(out, []byte("v2.1.0/collection.json")) {
			t.Errorf("export is not v2.1-shaped:\n%s", out)
		}
	})
	t.Run("v1 folders, orders, scripts and rows", func(t *testing.T) {
		b := importBytesT(t, readTestdata(t, "folders.v1.postman_collection.json"))
		c := b.Collections[0]
		outer, inner := findFolder(t, b, "Outer"), findFolder(t, b, "Inner")
		if outer.Parent != c.ID || inner.Parent != outer.ID {
			t.Errorf("folder nesting lost: outer.parent=%s inner.parent=%s", outer.Parent, inner.Parent)
		}
		if r := findReq(t, b, "Form params"); r.Parent != outer.ID || r.Body.Mode != model.BodyFormData || !r.Body.FormData[1].Disabled {
			t.Errorf("Form params = %+v", r)
		}
		if r := findReq(t, b, "Binary"); r.Parent != inner.ID || r.Body.Mode != model.BodyFile || r.Body.File != "/tmp/file.bin" {
			t.Errorf("Binary = %+v", r)
		}
		if r := findReq(t, b, "Urlencoded"); r.Auth.Type != model.AuthNone || len(r.Headers) != 2 || !r.Headers[1].Disabled {
			t.Errorf("Urlencoded = %+v", r)
		}
		root := findReq(t, b, "Root raw")
		if root.Parent != c.ID || !root.Headers[1].Disabled || !strings.Contains(string(root.Events), `"prerequest"`) ||
			!strings.Contains(string(root.Events), `"tests['two'] = true;"`) || !strings.Contains(string(root.Extra[keyV1]), "currentHelper") {
			t.Errorf("Root raw = %+v", root)
		}
		if ex := string(root.Extra["response"]); !strings.Contains(ex, `"code":201`) || !strings.Contains(ex, `"status":"Created"`) ||
			!strings.Contains(ex, `"originalRequest":{"method":"POST"`) || !strings.Contains(ex, `"body":"{\"id\": 1}"`) {
			t.Errorf("v1 response not converted to a v2 example: %s", ex)
		}
		if r := findReq(t, b, "Listed nowhere"); r.Parent != c.ID {
			t.Errorf("a request no order lists was not kept at the root")
		}
	})
	t.Run("v1 folder without an id", func(t *testing.T) {
		b := importBytesT(t, []byte(`{"name":"c","order":[],"folders":[{"name":"no id","order":["r1"]}],"requests":[{"id":"r1","name":"r","url":"u"}]}`))
		if len(b.Folders) != 1 || len(b.Requests) != 1 {
			t.Fatalf("%d folders, %d requests; want 1, 1", len(b.Folders), len(b.Requests))
		}
	})
	t.Run("environment", func(t *testing.T) {
		b := importBytesT(t, readTestdata(t, "dev.postman_environment.json"))
		if b.Kind != KindEnvironment || len(b.Environments) != 1 || b.Environments[0].Name != "Dev" {
			t.Fatalf("kind %s, environments %+v", b.Kind, b.Environments)
		}
		env := b.Environments[0]
		if v := findVar(t, b, "token"); !v.Secret || v.Owner != env.ID {
			t.Errorf("token = %+v", v)
		}
		for _, name := range []string{"off", "legacyDisabled"} {
			if findVar(t, b, name).Enabled {
				t.Errorf("%s imported enabled", name)
			}
		}
	})
	t.Run("globals object and array", func(t *testing.T) {
		for _, f := range []string{"workspace.postman_globals.json", "array.postman_globals.json"} {
			b := importBytesT(t, readTestdata(t, f))
			if b.Kind != KindGlobals || len(b.Variables) == 0 {
				t.Fatalf("%s: kind %s, %d variables", f, b.Kind, len(b.Variables))
			}
			for _, v := range b.Variables {
				if v.Owner != model.GlobalsID {
					t.Errorf("%s: %s owned by %s", f, v.Name, v.Owner)
				}
			}
		}
	})
	t.Run("dump", func(t *testing.T) {
		b := importBytesT(t, readTestdata(t, "backup.postman_dump.json"))
		if b.Kind != KindDump || len(b.Collections) != 2 || len(b.Environments) != 1 || len(b.HeaderPresets) != 1 {
			t.Fatalf("dump: kind %s, %d collections, %d environments, %d presets", b.Kind, len(b.Collections), len(b.Environments), len(b.HeaderPresets))
		}
		if hp := b.HeaderPresets[0]; hp.Name != "JSON" || len(hp.Headers) != 2 || !hp.Headers[1].Disabled {
			t.Errorf("preset = %+v", hp)
		}
		if b.Collections[0].Order >= b.Collections[1].Order {
			t.Errorf("collections out of order")
		}
		if len(b.VariablesOf(model.GlobalsID)) != 1 || len(b.VariablesOf(b.Collections[0].ID)) != 1 {
			t.Errorf("globals or collection variables missing")
		}
	})
}

func TestImportChromeAppDump(t *testing.T) {
	b := importBytesT(t, readTestdata(t, "chrome-app.postman_dump.json"))
	if len(b.Collections) != 1 || len(b.Requests) != 2 || len(b.Environments) != 1 || len(b.HeaderPresets) != 1 {
		t.Fatalf("dump: %d collections, %d requests, %d environments, %d presets", len(b.Collections), len(b.Requests), len(b.Environments), len(b.HeaderPresets))
	}
	if r := findReq(t, b, "create the index"); r.Method != "PUT" || r.Body.Mode != model.BodyRaw || !strings.Contains(r.Body.Raw, "number_of_shards") {
		t.Errorf("raw v1 request whose data is a string: %+v", r)
	}
	if h := b.HeaderPresets[0].Headers; len(h) != 2 || h[0].Disabled || !h[1].Disabled {
		t.Errorf("preset headers' enabled flags: %+v", h)
	}
	if v := findVar(t, b, "token"); v.Owner != model.GlobalsID || v.Value != "abc" {
		t.Errorf("dump globals: %+v", v)
	}
}

func TestOpsUpsertEveryRecord(t *testing.T) {
	b := importBytesT(t, readTestdata(t, "backup.postman_dump.json"))
	ops, err := b.Ops()
	if err != nil {
		t.Fatal(err)
	}
	want := len(b.Collections) + len(b.Folders) + len(b.Requests) + len(b.Environments) + len(b.Variables) + len(b.HeaderPresets)
	if len(ops) != want {
		t.Fatalf("%d ops, want %d", len(ops), want)
	}
	for _, op := range ops {
		rec := model.Record{Kind: op.Kind, ID: op.ID, Fields: op.Fields}
		if err := rec.Validate(); err != nil {
			t.Errorf("op %s %s: %v", op.Kind, op.ID, err)
		}
	}
	first := model.Record{Kind: ops[0].Kind, ID: ops[0].ID, Fields: ops[0].Fields}
	c, err := model.Decode[model.Collection](first)
	if err != nil || c.ID != b.Collections[0].ID || c.Name != "Dumped collection" {
		t.Errorf("first op decodes to %+v, %v", c, err)
	}
}

func TestEditsAfterImportAreExported(t *testing.T) {
	b := importBytesT(t, readTestdata(t, "everything.v21.postman_collection.json"))
	edit := func(name string, f func(r *model.Request)) {
		for i := range b.Requests {
			if b.Requests[i].Name == name {
				f(&b.Requests[i])
			}
		}
	}
	edit("raw json", func(r *model.Request) { r.URL = "https://changed.example/x"; r.Description = "new text" })
	edit("graphql", func(r *model.Request) { r.Body.GraphQL.Query = "query Hello { bye }" })
	edit("url as object without raw", func(r *model.Request) { r.Method = "PATCH" })
	edit("root request with everything at item level", func(r *model.Request) { r.Headers[1].Disabled = false })
	b.Collections[0].Description = "plain now"
	out, err := ExportCollection(b.Collections[0], b.Folders, b.Requests, b.Variables)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"raw": "https://changed.example/x"`,                 // url object rebuilt from the edited text
		`"key": "off",`,                                      // keeping its disabled query parameter
		`"operationName": "Hello"`,                           // kept through a query edit
		`"query": "query Hello { bye }"`,                     // the edit
		`"method": "PATCH"`,                                  // the edit
		`"content": "plain now"`,                             // collection description object keeps its type
		`"key": "X-Off",` + "\n\t\t\t\t\t\t\"value\": \"1\"", // header string form replaced by rows
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("export lacks %s", want)
		}
	}
	if bytes.Contains(out, []byte(`"raw": "{{baseUrl}}/post?q=1#frag"`)) {
		t.Errorf("stale URL object written after the URL changed")
	}
	b2 := importBytesT(t, out)
	if r := findReq(t, b2, "raw json"); r.URL != "https://changed.example/x" || r.Description != "new text" {
		t.Errorf("re-import: url %q description %q", r.URL, r.Description)
	}
}

func TestBadFilesFailWithTheirPlace(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"syntax error line and column", "{\n  \"info\": {\n    \"name\": \"x\",,\n  }\n}", "line 3, column 17"},
		{"url of the wrong type", `{"info":{"name":"x"},"item":[{"name":"a"},{"name":"b","request":{"url":5}}]}`, "item[1].request.url"},
		{"item not an object", `{"info":{"name":"x"},"item":[{"name":"f","item":[3]}]}`, "item[0].item[0]"},
		{"header not a list", `{"info":{"name":"x"},"item":[{"request":{"header":7}}]}`, "item[0].request.header"},
		{"body not an object", `{"info":{"name":"x"},"item":[{"request":{"body":"raw"}}]}`, "item[0].request.body"},
		{"auth not an object", `{"info":{"name":"x"},"item":[],"auth":"basic"}`, "auth"},
		{"variable not an object", `{"info":{"name":"x"},"item":[],"variable":[1]}`, "variable[0]"},
		{"environment values not a list", `{"name":"e","values":{}}`, "values"},
		{"json schema", `{"$schema":"http://json-schema.org/draft-04/schema#","properties":{}}`, "JSON Schema"},
		{"not postman", `{"hello":"world"}`, "not a Postman file"},
		{"scalar", `42`, "expected a JSON object or array"},
		{"empty", ``, "it is empty"},
		{"truncated", `{"info":{"name":"x"},"item":[`, "not valid JSON"},
		{"curl without url", `curl -X POST`, "no URL"},
		{"curl unterminated quote", `curl 'https://x`, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Import(context.Background(), strings.NewReader(tt.in), Options{})
			if b != nil {
				t.Errorf("a failed import returned a bundle")
			}
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
	}{
		{`{"info":{"schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[]}`, KindCollectionV21},
		{`{"info":{"schema":"https://schema.getpostman.com/json/collection/v2.0.0/collection.json"},"item":[]}`, KindCollectionV20},
		{`{"info":{"_postman_schema":"https://schema.getpostman.com/#2.0.0"},"item":[]}`, KindCollectionV20},
		{`{"name":"no info","item":[]}`, KindCollectionV21},
		{`{"id":"1","name":"v1","order":[],"requests":[]}`, KindCollectionV1},
		{`[{"name":"r","request":"https://x"}]`, KindItems},
		{`{"name":"e","values":[]}`, KindEnvironment},
		{`{"name":"g","values":[],"_postman_variable_scope":"globals"}`, KindGlobals},
		{`[{"key":"a","value":"b"}]`, KindGlobals},
		{`{"version":1,"collections":[],"environments":[]}`, KindDump},
		{"  curl https://example.com", KindCurl},
		{"$ curl -X POST https://example.com", KindCurl},
		{"\xef\xbb\xbf{\"name\":\"e\",\"values\":[]}", KindEnvironment},
	}
	for _, tt := range tests {
		got, err := Detect([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("Detect(%.40q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeKeepsRealDifferences(t *testing.T) {
	orig := []byte(`{"info":{"name":"n","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}},{"name":"b","request":"x"}],"variable":[]}`)
	tests := []struct {
		name, other string
		same        bool
	}{
		{"key order and whitespace", `{"item":[{"request":{"url":"u","header":[{"value":"v","key":"k"}],"method":"GET"},"name":"a"},{"name":"b","request":"x"}],
			"info":{"schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json","name":"n"}}`, true},
		{"changed string", `{"info":{"name":"N"},"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}},{"name":"b","request":"x"}]}`, false},
		{"lost key", `{"info":{"name":"n"},"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k"}]}},{"name":"b","request":"x"}]}`, false},
		{"reordered items", `{"info":{"name":"n"},"item":[{"name":"b","request":"x"},{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}}]}`, false},
		{"explicit null", `{"info":{"name":"n"},"item":[{"name":"a","description":null,"request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}},{"name":"b","request":"x"}]}`, false},
		{"explicit false", `{"info":{"name":"n"},"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v","disabled":false}]}},{"name":"b","request":"x"}]}`, false},
		{"string request vs object", `{"info":{"name":"n"},"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}},{"name":"b","request":{"url":"x"}}]}`, false},
		{"number text", `{"info":{"name":"n"},"item":[{"name":"a","request":{"method":"GET","url":"u","header":[{"key":"k","value":"v"}]}},{"name":"b","request":"x"}],"x":1.0}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, same := firstDiff(normalize(t, orig), normalize(t, []byte(tt.other)), "$")
			if same != tt.same {
				t.Errorf("same = %v, want %v", same, tt.same)
			}
		})
	}
}

func TestSplitURL(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		in   string
		want urlParts
	}{
		{"https://a.example.com:8443/x/y?q=1&flag#h", urlParts{protocol: "https", host: "a.example.com", port: "8443", path: "x/y",
			query: [][2]*string{{s("q"), s("1")}, {s("flag"), nil}}, hash: "h"}},
		{"{{baseUrl}}/items/{{id}}", urlParts{host: "{{baseUrl}}", path: "items/{{id}}"}},
		{"u:p@host:{{port}}", urlParts{user: "u", password: "p", host: "host", port: "{{port}}"}},
		{"{{host:with:colons}}/p", urlParts{host: "{{host:with:colons}}", path: "p"}},
		{"/relative?a=", urlParts{path: "relative", query: [][2]*string{{s("a"), s("")}}}},
	}
	for _, tt := range tests {
		got := splitURL(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitURL(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestExportKeepsItemsWithBrokenParents(t *testing.T) {
	c := model.Collection{ID: model.NewID(), Name: "c"}
	a := model.Folder{ID: model.NewID(), Name: "A", Collection: c.ID, Order: "1"}
	b := model.Folder{ID: model.NewID(), Name: "B", Collection: c.ID, Order: "2"}
	a.Parent, b.Parent = b.ID, a.ID // a cycle
	self := model.Folder{ID: model.NewID(), Name: "Self", Collection: c.ID, Order: "3"}
	self.Parent = self.ID
	reqs := []model.Request{
		{ID: model.NewID(), Name: "in A", Method: "GET", Collection: c.ID, Parent: a.ID, Order: "1"},
		{ID: model.NewID(), Name: "orphan", Method: "GET", Collection: c.ID, Parent: model.NewID(), Order: "2"},
	}
	out, err := ExportCollection(c, []model.Folder{a, b, self}, reqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	back := importBytesT(t, out)
	if len(back.Folders) != 3 || len(back.Requests) != 2 {
		t.Fatalf("export kept %d folders and %d requests of 3 and 2:\n%s", len(back.Folders), len(back.Requests), out)
	}
	if r := findReq(t, back, "orphan"); r.Parent != back.Collections[0].ID {
		t.Errorf("an orphan request is not at the root")
	}
}

func TestImportOptions(t *testing.T) {
	data := readTestdata(t, "backup.postman_dump.json")
	b, err := Import(context.Background(), bytes.NewReader(data), Options{After: "V"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.Collections {
		if c.Order <= "V" {
			t.Errorf("collection order %q is not after V", c.Order)
		}
	}
	if _, err := Import(context.Background(), bytes.NewReader(data), Options{After: "bad key!"}); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("a bad After key gave %v", err)
	}
	// A file reports progress up to its size.
	f, err := os.Open("../testdata/postman/everything.v21.postman_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var last int64
	if _, err := Import(context.Background(), f, Options{Progress: func(n int64) { last = n }}); err != nil {
		t.Fatal(err)
	}
	if last != fi.Size() {
		t.Errorf("progress ended at %d of %d bytes", last, fi.Size())
	}
}

// Input that is empty, or not JSON at all, is told as such, not as the
// JSON parser's complaint about its first letter.
func TestImportOfNothingOrNotJSONSaysSo(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "it is empty, where a Postman file (JSON) or a cURL command was expected"},
		{" \n\t", "it is empty, where a Postman file (JSON) or a cURL command was expected"},
		{"not json", "not a Postman file or cURL command: it is not JSON (from line 1, column 1)"},
		{"\n  hello {}", "not a Postman file or cURL command: it is not JSON (from line 2, column 3)"},
		{"{\"info\": nul}", "not valid JSON at line 1, column 13: invalid character '}' in literal null (expecting 'l')"},
	} {
		_, err := Import(context.Background(), strings.NewReader(tt.in), Options{})
		if !errors.Is(err, model.ErrInvalid) || strings.TrimSuffix(err.Error(), ": invalid input") != tt.want {
			t.Errorf("Import(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}
