package boltstore

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestDecodeLogRec(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want logRec
	}{
		{"as json.Marshal writes it", `{"op_id":"o1","kind":"request","id":"r1","fields":["name","url"]}`,
			logRec{OpID: "o1", Kind: "request", ID: "r1", Fields: []string{"name", "url"}}},
		{"without op id", `{"kind":"request","id":"r1","fields":["name"]}`,
			logRec{Kind: "request", ID: "r1", Fields: []string{"name"}}},
		{"with null fields", `{"op_id":"o1","kind":"folder","id":"f1","fields":null}`,
			logRec{OpID: "o1", Kind: "folder", ID: "f1"}},
		{"with no fields", `{"op_id":"o1","kind":"folder","id":"f1","fields":[]}`,
			logRec{OpID: "o1", Kind: "folder", ID: "f1", Fields: []string{}}},
		{"with escapes, through encoding/json", `{"op_id":"o\u003c1","kind":"request","id":"r\"1","fields":["a\\b"]}`,
			logRec{OpID: "o<1", Kind: "request", ID: `r"1`, Fields: []string{`a\b`}}},
		{"with keys in another order and spaces", `{ "fields": ["x"], "id": "r1", "kind": "request", "op_id": "o1" } `,
			logRec{OpID: "o1", Kind: "request", ID: "r1", Fields: []string{"x"}}},
		{"with keys in another case", `{"OP_ID":"o1","Kind":"request","ID":"r1","Fields":["x"]}`,
			logRec{OpID: "o1", Kind: "request", ID: "r1", Fields: []string{"x"}}},
		{"with a non-ASCII id", `{"op_id":"o1","kind":"request","id":"ré","fields":["x"]}`,
			logRec{OpID: "o1", Kind: "request", ID: "ré", Fields: []string{"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeLogRec([]byte(tt.raw), nil)
			if err != nil {
				t.Fatalf("decode %s: %v", tt.raw, err)
			}
			if !sameLogRec(got, tt.want) {
				t.Fatalf("decode %s = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestDecodeLogRecRefusesWhatIsNotAnEntry(t *testing.T) {
	for _, raw := range []string{``, `{`, `[]`, `{"kind":"request","id":"r1","fields":["x"]`, `{"kind":1}`, `{"fields":"x"}`, `{"kind":"request","id":"r1","fields":["x"]}x`} {
		if rec, err := decodeLogRec([]byte(raw), nil); err == nil {
			t.Errorf("decode %q = %#v, want an error", raw, rec)
		}
	}
}

func TestDecodeLogRecReadsWhatApplyOpWrites(t *testing.T) {
	for _, rec := range []logRec{
		{OpID: model.NewID(), Kind: model.KindHistory, ID: model.NewID(), Fields: []string{"request", "status", "_deleted"}},
		{Kind: model.KindVariable, ID: "globals", Fields: nil},
		{OpID: "a&b<c>", Kind: model.KindRequest, ID: "x", Fields: []string{"name"}},
	} {
		raw, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeLogRec(raw, []string{"stale", "names"}[:0])
		if err != nil || !sameLogRec(got, rec) {
			t.Errorf("decode %s = %#v, %v; want %#v", raw, got, err, rec)
		}
	}
}

// FuzzDecodeLogRec checks that whatever the fast path accepts, encoding/json
// decodes to the same entry.
func FuzzDecodeLogRec(f *testing.F) {
	for _, s := range []string{
		`{"op_id":"o1","kind":"request","id":"r1","fields":["name","url"]}`,
		`{"kind":"request","id":"r1","fields":null}`,
		`{"op_id":"o1","kind":"folder","id":"f1","fields":[]}`,
		`{"op_id":"o\u003c1","kind":"request","id":"r1","fields":["a"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := scanLogRec(string(raw), nil)
		var slow logRec
		err := json.Unmarshal(raw, &slow)
		if ok && (err != nil || !sameLogRec(fast, slow)) {
			t.Fatalf("%q: fast path %#v, encoding/json %#v, %v", raw, fast, slow, err)
		}
		got, gotErr := decodeLogRec(raw, nil)
		if (gotErr == nil) != (err == nil) || (err == nil && !sameLogRec(got, slow)) {
			t.Fatalf("%q: decodeLogRec %#v, %v; encoding/json %#v, %v", raw, got, gotErr, slow, err)
		}
	})
}

func sameLogRec(a, b logRec) bool {
	return a.OpID == b.OpID && a.Kind == b.Kind && a.ID == b.ID && slices.Equal(a.Fields, b.Fields) && (a.Fields == nil) == (b.Fields == nil)
}
