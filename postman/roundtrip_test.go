package postman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// normalize decodes a Postman JSON text and removes the differences that a
// lossless export may show. Each rule names a difference of form only:
//
//  1. Key order and whitespace (maps compare unordered; numbers compare as
//     their decimal text).
//  2. An empty array or empty object as a member value equals an absent
//     member: "header": [], "variable": [], "response": [], "event": []
//     and "protocolProfileBehavior": {} say nothing.
//  3. A request object without "method" is a GET.
//  4. info.schema naming Collection v2.0.0 and an absent info.schema equal
//     the v2.1.0 schema URL the exporter writes (v2.0 -> v2.1 change).
//  5. Auth attributes in v2.0 form ({"username": "x"}) equal the v2.1
//     array form ([{"key": "username", "value": "x"}]) (v2.0 -> v2.1).
//  6. An environment without _postman_variable_scope is an environment.
//
// Nothing else is forgiven: a changed string, a lost key, a different
// array order, an explicit null or false all fail the comparison.
func normalize(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	v = norm(v, "")
	if m, ok := v.(map[string]any); ok {
		if _, isEnv := m["values"]; isEnv {
			if _, ok := m["_postman_variable_scope"]; !ok {
				m["_postman_variable_scope"] = "environment" // rule 6
			}
		}
	}
	return v
}

func norm(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = norm(val, k)
			if isEmptyContainer(x[k]) && k != "item" && k != "values" {
				delete(x, k) // rule 2
			}
		}
		if key == "request" {
			if _, ok := x["method"]; !ok {
				x["method"] = "GET" // rule 3
			}
		}
		if key == "info" {
			normSchema(x) // rule 4
		}
		if key == "auth" {
			normAuth(x) // rule 5
		}
		return x
	case []any:
		for i := range x {
			x[i] = norm(x[i], key)
		}
		return x
	}
	return v
}

func isEmptyContainer(v any) bool {
	switch x := v.(type) {
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func normSchema(info map[string]any) {
	s, _ := info["schema"].(string)
	if s == "" || strings.Contains(s, "v2.0.") {
		info["schema"] = schemaV21
	}
}

func normAuth(auth map[string]any) {
	for k, v := range auth {
		m, ok := v.(map[string]any)
		if !ok || k == "type" {
			continue
		}
		keys := make([]string, 0, len(m))
		for mk := range m {
			keys = append(keys, mk)
		}
		sort.Strings(keys) // the decoded map lost the file's order; compare sorted
		arr := make([]any, 0, len(m))
		for _, mk := range keys {
			arr = append(arr, map[string]any{"key": mk, "value": m[mk]})
		}
		auth[k] = arr
	}
	for k, v := range auth { // the array side sorted the same way
		if arr, ok := v.([]any); ok && k != "type" && authAttrsConverted(arr) {
			sort.SliceStable(arr, func(i, j int) bool {
				return fmt.Sprint(arr[i].(map[string]any)["key"]) < fmt.Sprint(arr[j].(map[string]any)["key"])
			})
		}
	}
}

func authAttrsConverted(arr []any) bool {
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok || len(m) != 2 || m["key"] == nil {
			return false
		}
		if _, ok := m["value"]; !ok {
			return false
		}
	}
	return true
}

// assertSameJSON fails with the first difference between two Postman texts
// after normalisation.
func assertSameJSON(t *testing.T, want, got []byte) {
	t.Helper()
	w, g := normalize(t, want), normalize(t, got)
	if path, ok := firstDiff(w, g, "$"); !ok {
		t.Errorf("export differs from the original at %s\noriginal: %s\nexport:   %s", path, clip(describe(w, path)), clip(describe(g, path)))
	}
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

func describe(v any, path string) string {
	cur := v
	for _, part := range splitPath(path) {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[part]
		case []any:
			var i int
			fmt.Sscanf(part, "%d", &i)
			if i < len(x) {
				cur = x[i]
			}
		}
	}
	b, _ := json.Marshal(cur)
	return string(b)
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "$")
	return strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
}

func firstDiff(a, b any, path string) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return path, false
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			_, inX := x[k]
			_, inY := y[k]
			if inX != inY {
				return path + "." + k, false
			}
			if p, ok := firstDiff(x[k], y[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path, false
		}
		for i := range x {
			if p, ok := firstDiff(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(a, b)
}

// export writes a bundle back in the form it was imported from.
func export(t *testing.T, b *Bundle) []byte {
	t.Helper()
	var out []byte
	var err error
	switch b.Kind {
	case KindCollectionV1, KindCollectionV20, KindCollectionV21, KindItems:
		if len(b.Collections) != 1 {
			t.Fatalf("%s import gave %d collections", b.Kind, len(b.Collections))
		}
		out, err = ExportCollection(b.Collections[0], b.Folders, b.Requests, b.Variables)
	case KindEnvironment:
		out, err = ExportEnvironment(b.Environments[0], b.Variables)
	case KindGlobals:
		out, err = ExportGlobals(b.Variables, b.Globals)
	case KindDump:
		out, err = ExportDump(b)
	default:
		t.Fatalf("no export for %s", b.Kind)
	}
	if err != nil {
		t.Fatalf("export %s: %v", b.Kind, err)
	}
	return out
}

func importBytesT(t *testing.T, data []byte) *Bundle {
	t.Helper()
	b, err := Import(context.Background(), bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return b
}

// comparable returns the bundle's records with IDs replaced by their
// position in the bundle, so two imports of the same text compare equal.
// Courier's v1 leftovers (never exported) are left out when dropV1 is set.
func comparable(t *testing.T, b *Bundle, dropV1 bool) []string {
	t.Helper()
	names := map[model.ID]string{model.GlobalsID: "globals"}
	name := func(id model.ID) {
		if _, ok := names[id]; !ok && id != "" {
			names[id] = fmt.Sprintf("#%d", len(names))
		}
	}
	var recs []model.Record
	add := func(r model.Record, err error) {
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		name(r.ID)
		recs = append(recs, r)
	}
	for i := range b.Collections {
		add(model.Encode(&b.Collections[i]))
	}
	for i := range b.Folders {
		add(model.Encode(&b.Folders[i]))
	}
	for i := range b.Requests {
		add(model.Encode(&b.Requests[i]))
	}
	for i := range b.Environments {
		add(model.Encode(&b.Environments[i]))
	}
	for i := range b.Variables {
		add(model.Encode(&b.Variables[i]))
	}
	for i := range b.HeaderPresets {
		add(model.Encode(&b.HeaderPresets[i]))
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		for _, f := range []string{"collection", "parent", "owner"} {
			var id model.ID
			if v, ok := r.Fields[f]; ok && json.Unmarshal(v, &id) == nil {
				r.Fields[f] = json.RawMessage(fmt.Sprintf("%q", names[id]))
			}
		}
		if dropV1 {
			if x, ok := r.Fields["extra"]; ok {
				var m map[string]json.RawMessage
				_ = json.Unmarshal(x, &m)
				delete(m, keyV1)
				r.Fields["extra"], _ = json.Marshal(m)
			}
		}
		fb, _ := json.Marshal(r.Fields)
		out = append(out, fmt.Sprintf("%s %s %s", r.Kind, names[r.ID], fb))
	}
	return out
}

// checkRoundTrip imports data, exports it, compares the export with the
// original (after normalisation) and the records of a second import with
// the first.
func checkRoundTrip(t *testing.T, data []byte) *Bundle {
	t.Helper()
	b1 := importBytesT(t, data)
	out := export(t, b1)
	if stored := export(t, throughStore(t, b1)); !bytes.Equal(stored, out) {
		assertSameJSON(t, out, stored)
		t.Errorf("the export of the stored records differs byte for byte from the bundle's")
	}
	b2 := importBytesT(t, out)
	isV1 := b1.Kind == KindCollectionV1 || (b1.Kind == KindDump && dumpHasV1(t, data))
	switch {
	case isV1:
		// v1 exports as v2.1: the export must itself round-trip exactly.
		if again := export(t, b2); !bytes.Equal(again, out) {
			t.Errorf("v1: second export differs from the first")
		}
	case b1.Kind == KindItems:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, data, m["item"])
	default:
		assertSameJSON(t, data, out)
	}
	if b1.Kind == KindItems {
		b2.Kind = KindItems
	}
	r1, r2 := comparable(t, b1, isV1), comparable(t, b2, isV1)
	if b1.Kind == KindItems {
		r1, r2 = r1[1:], r2[1:] // the collection record: a bare array has none
	}
	if !reflect.DeepEqual(r1, r2) {
		for i := range min(len(r1), len(r2)) {
			if r1[i] != r2[i] {
				t.Fatalf("records differ after export and re-import:\nfirst:  %s\nsecond: %s", clip(r1[i]), clip(r2[i]))
			}
		}
		t.Fatalf("records differ after export and re-import: %d vs %d records", len(r1), len(r2))
	}
	return b1
}

// dumpHasV1 reports whether a dump holds a v1 collection (whose export is
// v2.1, so the dump round-trips as records).
func dumpHasV1(t *testing.T, data []byte) bool {
	t.Helper()
	var d struct{ Collections []json.RawMessage }
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Collections {
		if k, _ := Detect(c); k == KindCollectionV1 {
			return true
		}
	}
	return false
}

// throughStore returns the bundle as the store gives it back: every value
// through its upsert op, the record's JSON and model.Decode.
func throughStore(t *testing.T, b *Bundle) *Bundle {
	t.Helper()
	ops, err := b.Ops()
	if err != nil {
		t.Fatal(err)
	}
	out := &Bundle{Kind: b.Kind, Globals: b.Globals, DumpExtra: b.DumpExtra}
	for _, op := range ops {
		enc, _ := json.Marshal(model.Record{Kind: op.Kind, ID: op.ID, Fields: op.Fields})
		var rec model.Record
		if err := json.Unmarshal(enc, &rec); err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case model.KindCollection:
			out.Collections = append(out.Collections, decodeT[model.Collection](t, rec))
		case model.KindFolder:
			out.Folders = append(out.Folders, decodeT[model.Folder](t, rec))
		case model.KindRequest:
			out.Requests = append(out.Requests, decodeT[model.Request](t, rec))
		case model.KindEnvironment:
			out.Environments = append(out.Environments, decodeT[model.Environment](t, rec))
		case model.KindVariable:
			out.Variables = append(out.Variables, decodeT[model.Variable](t, rec))
		case model.KindHeaderPreset:
			out.HeaderPresets = append(out.HeaderPresets, decodeT[model.HeaderPreset](t, rec))
		}
	}
	return out
}

func decodeT[T model.Collection | model.Folder | model.Request | model.Environment | model.Variable | model.HeaderPreset](t *testing.T, r model.Record) T {
	t.Helper()
	v, err := model.Decode[T](r)
	if err != nil {
		t.Fatalf("decode %s %s: %v", r.Kind, r.ID, err)
	}
	return v
}
