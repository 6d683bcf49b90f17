package postman

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// npmDir returns the folder holding Postman's tools (tools/postman-check
// with node_modules installed), or skips the test.
func npmDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COURIER_NPM_DIR")
	if dir == "" {
		t.Skip("COURIER_NPM_DIR is not set: Postman's tools (newman, postman-collection) are not available")
	}
	for _, m := range []string{"newman", "postman-collection"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			t.Skipf("COURIER_NPM_DIR=%s has no node_modules/%s: run npm ci there", dir, m)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	return dir
}

func runNode(t *testing.T, dir string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("node %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, err
}

type sdkCollection struct {
	Name     string `json:"name"`
	Requests []struct {
		Path, Name, Method, URL, BodyMode, Auth string
	} `json:"requests"`
	Variables int `json:"variables"`
}

// TestSDKLoadsExports loads every collection and environment export
// (testdata and shared fixtures) with Postman's SDK and checks that it
// sees the same requests, in the same order, with the same methods, body
// modes and effective auth.
func TestSDKLoadsExports(t *testing.T) {
	dir := npmDir(t)
	files, _ := filepath.Glob("../testdata/postman/*.json")
	shared, _ := filepath.Glob(filepath.Join(sharedFixtures, "*.json"))
	files = append(files, shared...)
	tmp := t.TempDir()
	var colls, envs []string
	var want []*Bundle
	for _, f := range files {
		if _, broken := brokenFixtures[filepath.Base(f)]; broken {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b := importBytesT(t, data)
		out := filepath.Join(tmp, filepath.Base(f))
		switch b.Kind {
		case KindEnvironment:
			writeFile(t, out, export(t, b))
			envs = append(envs, out)
		case KindCollectionV1, KindCollectionV20, KindCollectionV21, KindItems:
			writeFile(t, out, export(t, b))
			colls = append(colls, out)
			want = append(want, b)
		}
	}
	out, err := runNode(t, dir, append([]string{"load.js", "collection"}, colls...)...)
	if err != nil {
		t.Fatal("the SDK could not load an exported collection")
	}
	var got []sdkCollection
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(colls) {
		t.Fatalf("SDK output: %v, %d collections for %d files", err, len(got), len(colls))
	}
	for i, g := range got {
		t.Run(filepath.Base(colls[i]), func(t *testing.T) {
			checkSDKView(t, want[i], g)
		})
	}
	t.Run("edited URLs", func(t *testing.T) {
		b := importBytesT(t, readTestdata(t, "everything.v21.postman_collection.json"))
		edited := map[string]string{
			"raw json":                  "http://user:pw@{{host}}:8080/a/b.json?x=1&flag#top",
			"url as object without raw": "https://api.example.com:9000/v2/users/:id?x=1&y",
		}
		for i, r := range b.Requests {
			if u, ok := edited[r.Name]; ok {
				b.Requests[i].URL = u
			}
		}
		out := filepath.Join(tmp, "edited.json")
		writeFile(t, out, export(t, b))
		res, err := runNode(t, dir, "load.js", "collection", out)
		if err != nil {
			t.Fatal("the SDK could not load the edited export")
		}
		var got []sdkCollection
		if err := json.Unmarshal(res, &got); err != nil {
			t.Fatal(err)
		}
		for _, s := range got[0].Requests {
			want, ok := edited[s.Name]
			if !ok {
				continue
			}
			want = strings.Replace(want, ":id", "42", 1) // the SDK fills in path variables
			if s.URL != want {
				t.Errorf("%q: SDK reads the edited URL as %q, want %q", s.Name, s.URL, want)
			}
		}
	})
	if _, err := runNode(t, dir, append([]string{"load.js", "environment"}, envs...)...); err != nil {
		t.Fatal("the SDK could not load an exported environment")
	}
}

func checkSDKView(t *testing.T, b *Bundle, g sdkCollection) {
	t.Helper()
	reqs := requestsInTreeOrder(b)
	if len(g.Requests) != len(reqs) {
		t.Fatalf("SDK sees %d requests, Courier has %d", len(g.Requests), len(reqs))
	}
	for i, r := range reqs {
		s := g.Requests[i]
		if s.Name != r.Name || s.Method != r.Method {
			t.Errorf("request %d: SDK %q %s, Courier %q %s", i, s.Name, s.Method, r.Name, r.Method)
		}
		if s.URL != r.URL {
			t.Logf("%q: SDK url %q, Courier %q", r.Name, s.URL, r.URL)
		}
		if r.Body.Mode != "" && s.BodyMode != r.Body.Mode {
			t.Errorf("%q: SDK body mode %q, Courier %q", r.Name, s.BodyMode, r.Body.Mode)
		}
		if r.Auth.Type != model.AuthInherit && s.Auth != r.Auth.Type {
			t.Errorf("%q: SDK auth %q, Courier %q", r.Name, s.Auth, r.Auth.Type)
		}
	}
	if n := len(b.VariablesOf(b.Collections[0].ID)); g.Variables != n {
		t.Errorf("SDK sees %d collection variables, Courier has %d", g.Variables, n)
	}
}

// requestsInTreeOrder lists the bundle's requests depth first, siblings
// by order key, as an export writes them.
func requestsInTreeOrder(b *Bundle) []model.Request {
	tr := buildTree(b.Collections[0], b.Folders, b.Requests)
	var out []model.Request
	var walk func(model.ID)
	walk = func(p model.ID) {
		for _, n := range tr.children[p] {
			if n.folder != nil {
				walk(n.id)
			} else {
				out = append(out, *n.req)
			}
		}
	}
	walk(b.Collections[0].ID)
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// echo answers every request with what it received, as JSON.
func echo(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.Query(), "headers": r.Header}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		form := map[string]string{}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			form[p.FormName()] = string(b)
			if p.FileName() != "" {
				form[p.FormName()+".filename"] = p.FileName()
				form[p.FormName()+".type"] = p.Header.Get("Content-Type")
			}
		}
		out["form"] = form
	default:
		b, _ := io.ReadAll(r.Body)
		out["body"] = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// script is a test event with one line per element.
func script(lines ...string) json.RawMessage {
	ev := []map[string]any{{"listen": "test", "script": map[string]any{"type": "text/javascript", "exec": lines}}}
	b, _ := json.Marshal(ev)
	return b
}

func param(k, v string) model.AuthParam {
	b, _ := json.Marshal(v)
	return model.AuthParam{Key: k, Value: b, Type: "string"}
}

// newmanCollection builds, as Courier's own records, a collection that
// covers folders, variables at every level, every body mode, auth
// inheritance and test scripts.
func newmanCollection() (model.Collection, []model.Folder, []model.Request, []model.Variable) {
	c := model.Collection{ID: model.NewID(), Name: "Courier export under newman",
		Auth:   &model.Auth{Type: model.AuthBearer, Params: []model.AuthParam{param("token", "{{token}}")}},
		Events: json.RawMessage(`[{"listen":"test","script":{"type":"text/javascript","exec":["pm.test('collection test script runs', function () { pm.response.to.have.status(200); });"]}}]`)}
	bodies := model.Folder{ID: model.NewID(), Name: "Bodies", Collection: c.ID, Parent: c.ID, Order: "1"}
	basic := model.Folder{ID: model.NewID(), Name: "Basic auth folder", Collection: c.ID, Parent: c.ID, Order: "2",
		Auth: &model.Auth{Type: model.AuthBasic, Params: []model.AuthParam{param("username", "ann"), param("password", "{{password}}")}}}
	nested := model.Folder{ID: model.NewID(), Name: "Nested inherits basic", Collection: c.ID, Parent: basic.ID, Order: "2"}
	req := func(parent model.ID, order, name, method, path string, body model.Body, tests ...string) model.Request {
		return model.Request{ID: model.NewID(), Name: name, Method: method, URL: "{{baseUrl}}" + path, Body: body,
			Collection: c.ID, Parent: parent, Order: order, Events: script(tests...)}
	}
	j := "const j = pm.response.json();"
	reqs := []model.Request{
		req(bodies.ID, "1", "raw json", "POST", "/raw?from={{envOnly}}", model.Body{Mode: model.BodyRaw, Raw: `{"name":"{{globalName}}"}`, Language: model.LangJSON},
			j, "pm.test('raw body with variables', function () { pm.expect(j.body).to.eql('{\"name\":\"from globals\"}'); });",
			"pm.test('json content type', function () { pm.expect(j.headers['Content-Type'][0]).to.include('application/json'); });",
			"pm.test('environment variable in the query', function () { pm.expect(j.query.from[0]).to.eql('env'); });",
			"pm.test('collection bearer auth inherited', function () { pm.expect(j.headers.Authorization[0]).to.eql('Bearer s3cret'); });"),
		req(bodies.ID, "2", "urlencoded", "POST", "/form", model.Body{Mode: model.BodyURLEncoded, URLEncoded: []model.KV{
			{Key: "a", Value: "1"}, {Key: "b", Value: "x y&z"}, {Key: "off", Value: "no", Disabled: true}}},
			j, "pm.test('urlencoded fields, disabled left out', function () { pm.expect(j.body).to.eql('a=1&b=x%20y%26z'); });"),
		req(bodies.ID, "3", "formdata", "POST", "/multipart", model.Body{Mode: model.BodyFormData, FormData: []model.KV{
			{Key: "text", Value: "hello", Type: "text"}, {Key: "upload", Type: "file", Src: "upload.txt", ContentType: "text/plain"},
			{Key: "off", Value: "no", Type: "text", Disabled: true}}},
			j, "pm.test('form text field', function () { pm.expect(j.form.text).to.eql('hello'); });",
			"pm.test('form file field', function () { pm.expect(j.form.upload).to.eql('file content\\n'); pm.expect(j.form['upload.filename']).to.eql('upload.txt'); });",
			"pm.test('disabled field left out', function () { pm.expect(j.form).to.not.have.property('off'); });"),
		req(bodies.ID, "4", "file", "PUT", "/binary", model.Body{Mode: model.BodyFile, File: "upload.txt"},
			j, "pm.test('binary body is the file', function () { pm.expect(j.body).to.eql('file content\\n'); });"),
		req(bodies.ID, "5", "graphql", "POST", "/graphql", model.Body{Mode: model.BodyGraphQL, GraphQL: &model.GraphQLBody{Query: "query { hello }", Variables: `{"n": 1}`}},
			j, "pm.test('graphql body', function () { const b = JSON.parse(j.body); pm.expect(b.query).to.eql('query { hello }'); pm.expect(b.variables).to.eql({n: 1}); });"),
		req(bodies.ID, "6", "no body with headers", "GET", "/get", model.Body{},
			j, "pm.test('header sent, disabled one not', function () { pm.expect(j.headers['X-On'][0]).to.eql('collection value'); pm.expect(j.headers).to.not.have.property('X-Off'); });"),
		req(basic.ID, "1", "folder basic auth", "GET", "/basic",
			model.Body{}, j, "pm.test('folder basic auth', function () { pm.expect(j.headers.Authorization[0]).to.eql('Basic ' + btoa('ann:pw')); });"),
		req(nested.ID, "1", "nested inherits folder auth", "GET", "/nested",
			model.Body{}, j, "pm.test('basic auth inherited two levels', function () { pm.expect(j.headers.Authorization[0]).to.eql('Basic ' + btoa('ann:pw')); });"),
		req(basic.ID, "3", "noauth override", "GET", "/none",
			model.Body{}, j, "pm.test('noauth sends no Authorization', function () { pm.expect(j.headers).to.not.have.property('Authorization'); });"),
		req(c.ID, "3", "apikey header", "GET", "/apikey",
			model.Body{}, j, "pm.test('api key header', function () { pm.expect(j.headers['X-Api-Key'][0]).to.eql('k-1'); });"),
	}
	reqs[5].Headers = []model.KV{{Key: "X-On", Value: "{{collectionVar}}"}, {Key: "X-Off", Value: "1", Disabled: true}}
	reqs[8].Auth = model.Auth{Type: model.AuthNone}
	reqs[9].Auth = model.Auth{Type: model.AuthAPIKey, Params: []model.AuthParam{param("key", "X-Api-Key"), param("value", "k-1"), param("in", "header")}}
	vars := []model.Variable{
		{ID: model.NewID(), Owner: c.ID, Name: "token", Value: "s3cret", Enabled: true, Secret: true, Order: "1"},
		{ID: model.NewID(), Owner: c.ID, Name: "collectionVar", Value: "collection value", Enabled: true, Order: "2"},
		{ID: model.NewID(), Owner: c.ID, Name: "password", Value: "pw", Enabled: true, Order: "3"},
	}
	return c, []model.Folder{bodies, basic, nested}, reqs, vars
}

// TestNewmanRunsExport exports a collection, an environment and globals
// made in Courier and runs them with newman against a local server; every
// test script must pass.
func TestNewmanRunsExport(t *testing.T) {
	dir := npmDir(t)
	srv := httptest.NewServer(http.HandlerFunc(echo))
	defer srv.Close()
	c, folders, reqs, vars := newmanCollection()
	env := model.Environment{ID: model.NewID(), Name: "Local"}
	vars = append(vars,
		model.Variable{ID: model.NewID(), Owner: env.ID, Name: "baseUrl", Value: srv.URL, Enabled: true, Order: "1"},
		model.Variable{ID: model.NewID(), Owner: env.ID, Name: "envOnly", Value: "env", Enabled: true, Order: "2"},
		model.Variable{ID: model.NewID(), Owner: model.GlobalsID, Name: "globalName", Value: "from globals", Enabled: true, Order: "1"})

	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "upload.txt"), []byte("file content\n"))
	cb, err := ExportCollection(c, folders, reqs, vars)
	if err != nil {
		t.Fatal(err)
	}
	// Round trip through the importer first: newman runs what Courier
	// writes after reading its own export back.
	b := importBytesT(t, cb)
	cb, err = ExportCollection(b.Collections[0], b.Folders, b.Requests, b.Variables)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := ExportEnvironment(env, vars)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := ExportGlobals(vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, ef, gf := filepath.Join(tmp, "c.json"), filepath.Join(tmp, "e.json"), filepath.Join(tmp, "g.json")
	writeFile(t, cf, cb)
	writeFile(t, ef, eb)
	writeFile(t, gf, gb)

	out, runErr := runNode(t, dir, "run.js", cf, ef, gf, tmp)
	var sum struct {
		Requests, RequestsFailed, Assertions, AssertionsFailed int
		Failures                                               []struct{ Source, Error string }
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("newman output: %v (%v)\n%s", err, runErr, out)
	}
	for _, f := range sum.Failures {
		t.Errorf("newman: %s: %s", f.Source, f.Error)
	}
	if runErr != nil || sum.Requests != len(reqs) || sum.AssertionsFailed != 0 || sum.Assertions < 2*len(reqs) {
		t.Fatalf("newman: %+v (exit %v)\n%s", sum, runErr, out)
	}
	t.Logf("newman ran %d requests, %d assertions, all passed", sum.Requests, sum.Assertions)
}
