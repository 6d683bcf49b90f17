package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// postmanTestdata is the project's own corpus of Postman files.
const postmanTestdata = "../testdata/postman"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(postmanTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// genImportCollection writes a v2.1 collection of n requests, 50 to a
// folder, each about 2 KB, with one collection variable.
func genImportCollection(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"info":{"name":"Generated","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[`)
	payload := strings.Repeat("lorem ipsum dolor sit amet ", 52)
	for f := 0; f*50 < n; f++ {
		if f > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"Folder %d","item":[`, f)
		for i := f * 50; i < min(n, (f+1)*50); i++ {
			if i > f*50 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"Request %d","event":[{"listen":"test","script":{"exec":["pm.test(\"ok\", function () {","  pm.response.to.have.status(200);","});"],"type":"text/javascript"}}],`+
				`"request":{"method":"POST","header":[{"key":"Content-Type","value":"application/json"},{"key":"X-Request","value":"%d"}],`+
				`"body":{"mode":"raw","raw":"{\"id\": %d, \"text\": \"%s\"}","options":{"raw":{"language":"json"}}},`+
				`"url":{"raw":"{{baseUrl}}/items/%d","host":["{{baseUrl}}"],"path":["items","%d"]}},"response":[]}`, i, i, i, payload, i, i)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"variable":[{"key":"baseUrl","value":"https://example.com"}]}`)
	return b.Bytes()
}

// counts returns how many records of each kind s holds.
func counts(t testing.TB, s app.Store) map[model.Kind]int {
	t.Helper()
	out := map[model.Kind]int{}
	for _, k := range model.Kinds {
		if k == model.KindHistory {
			continue
		}
		rs, err := s.List(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = len(rs)
	}
	return out
}

func collectionByName(t *testing.T, a *app.App, name string) model.Collection {
	t.Helper()
	cs, err := a.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no collection %q among %v", name, cs)
	return model.Collection{}
}

func TestImportExportRoundTripsThroughASecondStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		file   string
		export func(a *app.App) ([]byte, error)
	}{
		{"everything.v21.postman_collection.json", func(a *app.App) ([]byte, error) {
			cs, _ := a.Collections(ctx)
			return a.ExportCollection(ctx, cs[0].ID)
		}},
		{"dev.postman_environment.json", func(a *app.App) ([]byte, error) {
			es, _ := a.Environments(ctx)
			return a.ExportEnvironment(ctx, es[0].ID)
		}},
		{"workspace.postman_globals.json", func(a *app.App) ([]byte, error) { return a.ExportGlobals(ctx) }},
		{"backup.postman_dump.json", func(a *app.App) ([]byte, error) { return a.ExportDump(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			first, db1 := newApp(t, app.Options{})
			if _, err := first.Import(ctx, bytes.NewReader(readTestdata(t, tt.file)), app.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			out1, err := tt.export(first)
			if err != nil {
				t.Fatal(err)
			}
			second, db2 := newApp(t, app.Options{})
			if _, err := second.Import(ctx, bytes.NewReader(out1), app.ImportOptions{}); err != nil {
				t.Fatalf("re-import of the export: %v", err)
			}
			if c1, c2 := counts(t, db1), counts(t, db2); fmt.Sprint(c1) != fmt.Sprint(c2) {
				t.Errorf("records: first store %v, second %v", c1, c2)
			}
			out2, err := tt.export(second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out1, out2) {
				t.Errorf("the second store exports differently:\n%s\nvs\n%s", out1, out2)
			}
		})
	}
}

func TestImportSummaryNamesWhatWasStored(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	s, err := a.Import(ctx, bytes.NewReader(genImportCollection(120)), app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `collection "Generated": 3 folders, 120 requests, 1 variable`
	if got := strings.Join(s.Lines(), "\n"); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	c := collectionByName(t, a, "Generated")
	if s.Collections[0].ID != c.ID {
		t.Errorf("summary names collection %s, the store %s", s.Collections[0].ID, c.ID)
	}
	tree, err := a.Tree(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Root) != 3 || len(tree.Root[0].Children) != 50 || tree.Root[0].Children[7].Name() != "Request 7" {
		t.Errorf("tree: %d root nodes, first folder %d children", len(tree.Root), len(tree.Root[0].Children))
	}
}

// A request whose body is larger than one synced value holds is imported,
// and the summary warns that it stays on this device.
func TestImportWarnsOfWhatCannotSync(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	coll := fmt.Sprintf(`{"info":{"name":"Big","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item":[{"name":"Upload","request":{"method":"POST","url":"https://a.example/","body":{"mode":"raw","raw":%q}}},
		{"name":"Small","request":{"method":"GET","url":"https://a.example/"}}]}`, strings.Repeat("x", 600<<10))
	s, err := a.Import(ctx, strings.NewReader(coll), app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `request "Upload" stays on this device: its body is 600.`) {
		t.Errorf("warnings = %q; want the Upload request's body named", s.Warnings)
	}
	if s.Collections[0].Requests != 2 {
		t.Errorf("imported %d requests; want both", s.Collections[0].Requests)
	}
}

func TestImportPlacesNewCollectionsAfterTheExistingOnes(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	if _, err := a.CreateCollection(ctx, "Zed first"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Import(ctx, bytes.NewReader(genImportCollection(3)), app.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := a.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Name != "Zed first" || cs[1].Name != "Generated" || cs[1].Order >= cs[2].Order {
		t.Errorf("collections in order: %+v", cs)
	}
}

func TestImportingGlobalsReplacesTheValuesOfSameNamedGlobals(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	old, err := a.SaveVariable(ctx, model.Variable{Owner: model.GlobalsID, Name: "host", Value: "old", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	file := `{"name":"Globals","_postman_variable_scope":"globals","values":[{"key":"host","value":"new","enabled":true},{"key":"token","value":"t","enabled":true}]}`
	s, err := a.Import(ctx, strings.NewReader(file), app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Lines(), "\n"); got != "globals: 1 new variable, 1 replaced" {
		t.Errorf("summary %q", got)
	}
	vs, err := a.Variables(ctx, model.GlobalsID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].ID != old.ID || vs[0].Value != "new" || vs[1].Name != "token" {
		t.Errorf("globals after import: %+v", vs)
	}
}

// Of two globals of one name (made on two devices at once), the import
// replaces the one requests use: the first enabled.
func TestImportingGlobalsReplacesTheTwinRequestsUse(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	for _, v := range []model.Variable{
		{Owner: model.GlobalsID, Name: "host", Value: "off", Enabled: false},
		{Owner: model.GlobalsID, Name: "host", Value: "used", Enabled: true},
	} {
		if _, err := a.SaveVariable(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	file := `{"name":"Globals","_postman_variable_scope":"globals","values":[{"key":"host","value":"new","enabled":true}]}`
	if _, err := a.Import(ctx, strings.NewReader(file), app.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	vs, err := a.Variables(ctx, model.GlobalsID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Value != "off" || vs[1].Value != "new" {
		t.Errorf("globals after import: %+v; want the enabled twin replaced", vs)
	}
}

func TestABrokenFileImportsNothingAndTheErrorNamesThePlace(t *testing.T) {
	good := string(readTestdata(t, "everything.v21.postman_collection.json"))
	tests := []struct {
		name, file, place string
	}{
		{"a syntax error gives line and column", good[:len(good)/2], "line "},
		{"a wrong type gives the JSON path", `{"info":{"name":"X","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[{"name":"a","request":{"url":"http://a"}},{"name":"b","request":{"url":7}}]}`, "item[1].request.url"},
		{"not a Postman file", `{"hello":"world"}`, "not a Postman file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newApp(t, app.Options{})
			before := counts(t, db)
			_, err := a.Import(context.Background(), strings.NewReader(tt.file), app.ImportOptions{})
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), tt.place) {
				t.Fatalf("err = %v, want ErrInvalid naming %q", err, tt.place)
			}
			if after := counts(t, db); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("records before %v, after %v", before, after)
			}
		})
	}
}

// cancelAfter is a reader that cancels ctx once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.n {
		c.cancel()
	}
	return n, err
}

func TestCancellingAnImportLeavesTheStoreUnchanged(t *testing.T) {
	data := genImportCollection(2_000)
	for _, at := range []int{1 << 20, len(data)} { // while reading; after the read
		t.Run(fmt.Sprintf("cancel at %d bytes", at), func(t *testing.T) {
			a, db := newApp(t, app.Options{})
			if _, err := a.CreateCollection(context.Background(), "Mine"); err != nil {
				t.Fatal(err)
			}
			before := counts(t, db)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := a.Import(ctx, &cancelAfter{r: bytes.NewReader(data), n: at, cancel: cancel}, app.ImportOptions{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if after := counts(t, db); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("records before %v, after %v", before, after)
			}
		})
	}
}

func TestImportReportsProgressUpToTheTotal(t *testing.T) {
	data := genImportCollection(1_000)
	f := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	a, _ := newApp(t, app.Options{})
	var calls int
	var last, total int64
	_, err = a.Import(context.Background(), file, app.ImportOptions{Progress: func(read, tot int64) {
		if read < last {
			t.Errorf("progress went back from %d to %d", last, read)
		}
		calls++
		last, total = read, tot
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != int64(len(data)) || total != int64(len(data)) {
		t.Errorf("%d progress calls, last %d of %d, want %d", calls, last, total, len(data))
	}
}

func TestImportCurlMakesAnUnsavedRequest(t *testing.T) {
	a, db := newApp(t, app.Options{})
	r, err := a.ImportCurl(`curl -X POST 'https://api.example.com/items' \` + "\n" + `  -H 'Content-Type: application/json' -u ann:pw -d '{"a":1}'`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.URL != "https://api.example.com/items" || r.Body.Raw != `{"a":1}` || r.Auth.Type != model.AuthBasic || r.ID != "" {
		t.Errorf("request %+v", r)
	}
	if c := counts(t, db); c[model.KindRequest] != 0 {
		t.Errorf("ImportCurl stored %d requests", c[model.KindRequest])
	}
	if _, err := a.ImportCurl("wget https://example.com"); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("wget: err = %v, want ErrInvalid", err)
	}
}

func TestImportOfACurlCommandStoresItInACollection(t *testing.T) {
	a, _ := newApp(t, app.Options{})
	s, err := a.Import(context.Background(), strings.NewReader("curl https://example.com/ping"), app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Lines(), ";"); got != `collection "cURL import": 0 folders, 1 request, 0 variables` {
		t.Errorf("summary %q", got)
	}
}

func TestExportCurlPutsTheInheritedAuthInAndResolvesOnRequest(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	file := `{"info":{"name":"API","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},` +
		`"auth":{"type":"bearer","bearer":[{"key":"token","value":"s3cret","type":"string"}]},` +
		`"variable":[{"key":"host","value":"api.example.com"}],` +
		`"item":[{"name":"ping","request":{"method":"GET","url":"https://{{host}}/ping"}}]}`
	s, err := a.Import(ctx, strings.NewReader(file), app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := a.Tree(ctx, s.Collections[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	req := *tree.Root[0].Request
	plain, err := a.ExportCurl(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain, "{{host}}") || !strings.Contains(plain, "Bearer s3cret") {
		t.Errorf("ExportCurl = %s", plain)
	}
	resolved, err := a.ExportCurlResolved(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resolved, "https://api.example.com/ping") {
		t.Errorf("ExportCurlResolved = %s", resolved)
	}
	back, err := a.ImportCurl(resolved)
	if err != nil || back.URL != "https://api.example.com/ping" || !strings.Contains(fmt.Sprint(back.Headers, back.Auth), "s3cret") {
		t.Errorf("re-parsed %+v, %v", back, err)
	}
}
