package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/courierapp/courier/model"
)

func addSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzImport feeds arbitrary bytes to Import: it must never panic, must
// fail only with ErrInvalid, and whatever it accepts must export and
// import again.
func FuzzImport(f *testing.F) {
	addSeeds(f, "../testdata/postman/*.json", "../testdata/postman/curl/*", sharedFixtures+"/*.json")
	f.Add([]byte(`{"info":{"name":"x"},"item":[{"request":{"url":{"host":["a"],"path":[{"value":"p"}]},"auth":{"type":"basic","basic":{"u":1}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Import(context.Background(), bytes.NewReader(data), Options{})
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if _, err := b.Ops(); err != nil {
			t.Fatalf("ops: %v", err)
		}
		if b.Kind == KindCurl {
			return
		}
		out := export(t, b)
		if _, err := Import(context.Background(), bytes.NewReader(out), Options{}); err != nil {
			t.Fatalf("export does not import again: %v\n%s", err, out)
		}
	})
}

// FuzzParseCurl feeds arbitrary command lines to ParseCurl: no panics,
// ErrInvalid only, and an accepted command survives ExportCurl.
func FuzzParseCurl(f *testing.F) {
	addSeeds(f, "../testdata/postman/curl/*")
	f.Add([]byte(`curl -sSLk -XPOST $'a\tb' "x\"y" -H'A: b' --data-urlencode a@f -F 'f=@"p";type=t' \` + "\n" + ` --url=u`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseCurl(string(data))
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if _, err := ParseCurl(ExportCurl(r)); err != nil {
			t.Fatalf("export does not parse again: %v\n%s", err, ExportCurl(r))
		}
	})
}

// FuzzCompact checks the in-place compacter against encoding/json: the
// same verdict on validity, and the same compact text.
func FuzzCompact(f *testing.F) {
	addSeeds(f, "../testdata/postman/*.json", sharedFixtures+"/*.json")
	for _, s := range []string{`{"a" : [1, -0.5e+3, "x\"\\\u00e9", true, null, {}]}`, `01`, `"\u12"`, "[1,]", `{"a":1,}`, "\"\x01\"", `-`, `1.`, `1e`, ` `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := compactJSON(data)
		var want bytes.Buffer
		werr := json.Compact(&want, data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("valid: ours %v, encoding/json %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact: ours %q, encoding/json %q", got, want.Bytes())
		}
		if err != nil && !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
	})
}

// FuzzUnquote checks the string decoder against encoding/json.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00\ud800x"`, "\"\xff\xfe\"", `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want string
		if json.Unmarshal(data, &want) != nil || len(data) == 0 || data[0] != '"' || skipString(data) != len(data) {
			return // unquote takes exactly one compact string
		}
		got, ok := unquote(data)
		if !ok || got != want {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json gives %q", data, got, ok, want)
		}
	})
}

// FuzzExportBrokenExtra puts arbitrary bytes where the import keeps raw
// JSON and exports: no panic, and an error only with ErrInvalid.
func FuzzExportBrokenExtra(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"url":{"raw":"x"}}`, `[}]`, `{"a"`, `{"a":}`, `"s`, ``, `{"raw":{"language":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x := map[string]json.RawMessage{"request": data, "url": data, "name": data, "x": data, keyOrig: data, "info": data, "options": data, "description": data}
		c := model.Collection{ID: "c", Name: "c", Extra: x, Events: data}
		r := model.Request{ID: "r", Name: "r", Method: "GET", URL: "u", Collection: "c", Parent: "c", Extra: x, Events: data,
			Headers: []model.KV{{Key: "k", Extra: x}}, Body: model.Body{Mode: "raw", Extra: x},
			Auth: model.Auth{Type: "bearer", Params: []model.AuthParam{{Key: "token", Value: data}}, Extra: x}}
		v := model.Variable{ID: "v", Owner: "c", Name: "n", Extra: x}
		for _, call := range []func() ([]byte, error){
			func() ([]byte, error) { return ExportCollection(c, nil, []model.Request{r}, []model.Variable{v}) },
			func() ([]byte, error) {
				return ExportEnvironment(model.Environment{ID: "c", Extra: x}, []model.Variable{v})
			},
			func() ([]byte, error) { return ExportGlobals([]model.Variable{v}, &GlobalsMeta{Extra: x}) },
		} {
			if _, err := call(); err != nil && !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
		}
		for _, fn := range []func([]byte){
			func(b []byte) { members(b) }, func(b []byte) { elements(b) }, func(b []byte) { sameJSON(b, b) },
			func(b []byte) { rawMap(b) }, func(b []byte) { urlText(b) }, func(b []byte) { descText(b) },
		} {
			if len(data) > 0 {
				fn(data)
			}
		}
	})
}
