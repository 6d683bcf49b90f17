package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// petstore writes a v2.1 collection named name with 3 folders holding 41
// requests, and 5 collection variables.
func petstore(name string) string {
	var items []string
	n := 0
	for f, size := range []int{14, 14, 13} {
		var reqs []string
		for range size {
			reqs = append(reqs, fmt.Sprintf(`{"name":"Request %d","request":{"method":"GET","url":"{{base}}/pets/%d"}}`, n, n))
			n++
		}
		items = append(items, fmt.Sprintf(`{"name":"Folder %d","item":[%s]}`, f, strings.Join(reqs, ",")))
	}
	var vars []string
	for i := range 5 {
		vars = append(vars, fmt.Sprintf(`{"key":"v%d","value":"%d"}`, i, i))
	}
	return fmt.Sprintf(`{"info":{"name":%q,"schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[%s],"variable":[%s]}`,
		name, strings.Join(items, ","), strings.Join(vars, ","))
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordCounts opens the profile dir and counts its records per kind.
func recordCounts(t *testing.T, dir string) map[model.Kind]int {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[model.Kind]int{}
	for _, k := range []model.Kind{model.KindCollection, model.KindFolder, model.KindRequest, model.KindEnvironment, model.KindVariable} {
		rs, err := db.List(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = len(rs)
	}
	return out
}

func TestImportPrintsWhatItImported(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"a collection file", []string{"import", writeTemp(t, "p.json", petstore("Petstore"))}, "",
			`imported collection "Petstore": 3 folders, 41 requests, 5 variables` + "\n"},
		{"an environment from stdin", []string{"import", "-"}, `{"name":"Dev","values":[{"key":"a","value":"1","enabled":true},{"key":"t","value":"s","type":"secret","enabled":true}]}`,
			`imported environment "Dev": 2 variables` + "\n"},
		{"a cURL command from stdin", []string{"import", "-"}, "curl -X POST https://example.com/x -d a=1",
			`imported collection "cURL import": 0 folders, 1 request, 0 variables` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{stdin: tt.in}, append([]string{"--profile", dir}, tt.args...)...)
			if r.code != ExitOK || r.stdout != tt.want {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestImportOfABadFileNamesThePlaceAndStoresNothing(t *testing.T) {
	tests := []struct {
		name, content, place string
	}{
		{"a syntax error", petstore("P")[:500], "line 1, column"},
		{"a wrong value", `{"info":{"name":"X"},"item":[{"name":"a","request":{"url":"http://a"}},{"name":"b","request":{"url":7}}]}`, "item[1].request.url"},
		{"not Postman", `{"openapi":"3.0.0"}`, "not a Postman file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeTemp(t, "bad.json", tt.content)
			r := run(t, runOpts{}, "--profile", dir, "import", file)
			if r.code != ExitFailure || !strings.Contains(r.stderr, tt.place) || !strings.Contains(r.stderr, "bad.json") || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 naming bad.json and %q", r.code, r.stdout, r.stderr, tt.place)
			}
			oneLine(t, r.stderr)
			if c := recordCounts(t, dir); c[model.KindCollection]+c[model.KindRequest]+c[model.KindVariable] != 0 {
				t.Errorf("records stored: %v", c)
			}
		})
	}
	t.Run("nothing, or not JSON, on stdin", func(t *testing.T) {
		for in, want := range map[string]string{
			"":         "courier import: stdin: it is empty, where a Postman file (JSON) or a cURL command was expected\n",
			"not json": "courier import: stdin: not a Postman file or cURL command: it is not JSON (from line 1, column 1)\n",
		} {
			if r := run(t, runOpts{stdin: in}, "--profile", t.TempDir(), "import", "-"); r.code != ExitFailure || r.stderr != want {
				t.Errorf("import - of %q: exit %d, stderr %q; want %q", in, r.code, r.stderr, want)
			}
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		r := run(t, runOpts{}, "--profile", t.TempDir(), "import", filepath.Join(t.TempDir(), "nope.json"))
		if r.code != ExitFailure || !strings.Contains(r.stderr, "nope.json") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestImportFetchesAURL(t *testing.T) {
	body := petstore("Remote")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "want JSON", http.StatusNotAcceptable)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	r := run(t, runOpts{}, "--profile", t.TempDir(), "import", srv.URL+"/c/tok")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, `imported collection "Remote"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// A server with a private CA: refused, unless --ca names it.
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	defer tlsSrv.Close()
	ca := writeTemp(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})))
	if r := run(t, runOpts{}, "--profile", t.TempDir(), "import", tlsSrv.URL+"/c/tok"); r.code == ExitOK || !strings.Contains(r.stderr, "unknown authority (trust its CA with --ca FILE)") {
		t.Fatalf("import from a private CA without --ca: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, runOpts{}, "--profile", t.TempDir(), "import", "--ca", ca, tlsSrv.URL+"/c/tok"); r.code != ExitOK {
		t.Fatalf("import --ca: exit %d, stderr %q", r.code, r.stderr)
	}
	// https to a server of plain http: that is the one hint, not a CA.
	https := "https://" + strings.TrimPrefix(srv.URL, "http://") + "/c/tok"
	if r := run(t, runOpts{}, "--profile", t.TempDir(), "import", https); r.code != ExitFailure ||
		r.stderr != "courier import: fetch "+https+": TLS: the server did not answer with TLS (is it http rather than https?)\n" {
		t.Fatalf("import https:// of an http server: exit %d, stderr %q", r.code, r.stderr)
	}
}

// COURIER_CA is --ca's default for a URL, as for the account commands;
// --ca wins, and a file import does not read it.
func TestImportOfAURLTrustsCOURIER_CA(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(petstore("Remote")))
	}))
	defer tlsSrv.Close()
	ca := writeTemp(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})))
	missing := filepath.Join(t.TempDir(), "missing.pem")
	withCA := func(file string) runOpts { return runOpts{env: map[string]string{"COURIER_CA": file}} }
	if r := run(t, withCA(ca), "--profile", t.TempDir(), "import", tlsSrv.URL+"/c/tok"); r.code != ExitOK || !strings.HasPrefix(r.stdout, `imported collection "Remote"`) {
		t.Fatalf("import with COURIER_CA: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, withCA(missing), "--profile", t.TempDir(), "import", "--ca", ca, tlsSrv.URL+"/c/tok"); r.code != ExitOK {
		t.Fatalf("import --ca beside a COURIER_CA that is missing: exit %d, stderr %q; want --ca to win", r.code, r.stderr)
	}
	r := run(t, withCA(missing), "--profile", t.TempDir(), "import", tlsSrv.URL+"/c/tok")
	if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier import: COURIER_CA: ") || !strings.Contains(r.stderr, missing) {
		t.Fatalf("import with a COURIER_CA that is missing: exit %d, stderr %q; want 1 naming the variable and the file", r.code, r.stderr)
	}
	if r := run(t, withCA(missing), "--profile", t.TempDir(), "import", writeTemp(t, "p.json", petstore("Local"))); r.code != ExitOK {
		t.Fatalf("import of a file with a COURIER_CA that is missing: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, runOpts{}, "import", "--help"); !strings.Contains(r.stdout, "(default: $COURIER_CA, else the profile's setting)") {
		t.Errorf("import --help does not say that COURIER_CA is --ca's default:\n%s", r.stdout)
	}
}

func TestExportWritesFilesThatImportTheSame(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	out := t.TempDir()
	for _, src := range []string{petstore("Petstore"), `{"name":"Staging","values":[{"key":"host","value":"s.example.com","enabled":true}]}`,
		`{"name":"Globals","_postman_variable_scope":"globals","values":[{"key":"g","value":"1","enabled":true}]}`} {
		if r := run(t, runOpts{stdin: src}, "--profile", first, "import", "-"); r.code != ExitOK {
			t.Fatalf("import: %d %s", r.code, r.stderr)
		}
	}
	tests := []struct {
		name string
		args []string
	}{
		{"collection, name in another case", []string{"export", "collection", "PETSTORE"}},
		{"environment", []string{"export", "environment", "staging"}},
		{"globals", []string{"export", "globals"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(out, fmt.Sprintf("%d.json", i))
			r := run(t, runOpts{}, append(append([]string{"--profile", first}, tt.args...), "-o", file)...)
			if r.code != ExitOK || r.stdout != "" {
				t.Fatalf("export -o: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			stdout := run(t, runOpts{}, append([]string{"--profile", first}, tt.args...)...)
			written, err := os.ReadFile(file)
			if err != nil || !bytes.Equal(written, []byte(stdout.stdout)) || !json.Valid(written) {
				t.Fatalf("file (%v) and stdout differ or are not JSON:\n%s\n%s", err, written, stdout.stdout)
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
			}
			if r := run(t, runOpts{}, "--profile", second, "import", file); r.code != ExitOK {
				t.Fatalf("re-import: %d %s", r.code, r.stderr)
			}
		})
	}
	if a, b := recordCounts(t, first), recordCounts(t, second); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("first profile %v, second %v", a, b)
	}
	d1 := run(t, runOpts{}, "--profile", first, "export", "dump")
	d2 := run(t, runOpts{}, "--profile", second, "export", "dump")
	if d1.code != ExitOK || d1.stdout != d2.stdout {
		t.Errorf("dumps differ:\n%s\n%s", d1.stdout, d2.stdout)
	}
}

func TestExportNamesTheChoicesWhenTheNameIsUnknownOrAmbiguous(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"Petstore", "petstore", "Billing"} {
		if r := run(t, runOpts{stdin: petstore(name)}, "--profile", dir, "import", "-"); r.code != ExitOK {
			t.Fatal(r.stderr)
		}
	}
	tests := []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"an unknown name lists the collections", []string{"export", "collection", "Nope"}, ExitFailure, []string{`no collection named "Nope"`, `"Billing"`, `"Petstore"`}},
		{"an exact name wins over another case", []string{"export", "collection", "petstore"}, ExitOK, nil},
		{"two in other cases are ambiguous", []string{"export", "collection", "PETSTORE"}, ExitFailure, []string{`2 collections are named "PETSTORE"`, "ID"}},
		{"no environments at all", []string{"export", "environment", "dev"}, ExitFailure, []string{"no environments"}},
		{"an unknown kind", []string{"export", "history"}, ExitUsage, []string{"collection, environment, globals or dump"}},
		{"a missing name", []string{"export", "collection"}, ExitUsage, []string{"want one NAME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{}, append([]string{"--profile", dir}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			for _, s := range tt.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q does not say %q", r.stderr, s)
				}
			}
		})
	}
}

// A record that does not decode (written by a newer Courier, say) is left
// out of an export, and the export says so.
func TestExportSaysWhichRecordsItLeftOut(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, runOpts{}, "--profile", dir, "import", writeTemp(t, "p.json", petstore("Petstore"))); r.code != 0 {
		t.Fatalf("import: exit %d, stderr %q", r.code, r.stderr)
	}
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := db.List(context.Background(), model.KindRequest)
	if err != nil || len(reqs) == 0 {
		t.Fatalf("%d requests, %v", len(reqs), err)
	}
	bad := reqs[0].ID
	err = db.Apply(context.Background(), model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: bad, Fields: model.Fields{"name": json.RawMessage(`{"a newer":"shape"}`)}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, runOpts{}, "--profile", dir, "export", "dump")
	want := "courier: warning: 1 record of this profile could not be read (written by a newer Courier?) and was left out: request " + string(bad) + "\n"
	if r.code != 0 || r.stderr != want || !strings.Contains(r.stdout, "Request ") {
		t.Fatalf("export dump: exit %d, stderr %q; want the dump and %q", r.code, r.stderr, want)
	}
	if r := run(t, runOpts{}, "--profile", dir, "export", "globals"); r.code != 0 || r.stderr != "" {
		t.Fatalf("export globals: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
}
