package model

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestKindFieldsMatchTypes(t *testing.T) {
	types := map[Kind]any{
		KindCollection: Collection{}, KindFolder: Folder{}, KindRequest: Request{},
		KindEnvironment: Environment{}, KindVariable: Variable{}, KindHeaderPreset: HeaderPreset{},
		KindHistory: HistoryEntry{},
	}
	for _, k := range Kinds {
		typ := reflect.TypeOf(types[k])
		var names []string
		for i := range typ.NumField() {
			tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			if tag != "-" && tag != "" {
				names = append(names, tag)
			}
		}
		want := slices.Clone(k.Fields())
		sort.Strings(names)
		sort.Strings(want)
		if !slices.Equal(names, want) {
			t.Errorf("%s: struct fields %v, kind fields %v", k, names, want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	req := Request{ID: NewID(), Name: "Get user", Method: "GET", URL: "https://{{host}}/users/1",
		Headers: []KV{{Key: "Accept", Value: "application/json"}, {Key: "X-Off", Value: "1", Disabled: true}},
		Body:    Body{Mode: BodyRaw, Raw: `{"a":1}`, Language: LangJSON},
		Auth:    Auth{Type: AuthBearer}, Collection: NewID(), Parent: NewID(), Order: "V"}
	req.Auth.SetParam("token", "{{tok}}")
	rec, err := Encode(&req)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if _, ok := rec.Fields["id"]; ok {
		t.Fatal("id must not be a field")
	}
	got, err := Decode[Request](rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, req)
	}
	if got.Auth.Param("token") != "{{tok}}" {
		t.Fatalf("auth param = %q", got.Auth.Param("token"))
	}
	if _, err := Decode[Folder](rec); !errors.Is(err, ErrInvalid) {
		t.Fatalf("decode as wrong kind: %v", err)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	e := HistoryEntry{ID: NewID(), SentAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Request:  HistoryRequest{Request: Request{Method: "POST", URL: "http://x"}, ResolvedURL: "http://x"},
		Response: &Response{Status: 201, Body: []byte{0, 1, 2}, Size: 3, Timings: Timings{Total: time.Second}}}
	rec, err := Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := Decode[HistoryEntry](rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("got %+v want %+v", got, e)
	}
	if s := got.Summary(); s.Status != 201 || s.Method != "POST" || s.Duration != time.Second {
		t.Fatalf("summary %+v", s)
	}
}

func TestUpsertOpNullsOmittedFields(t *testing.T) {
	op, err := UpsertOp(KindVariable, NewID(), &Variable{Owner: GlobalsID, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range KindVariable.Fields() {
		if _, ok := op.Fields[f]; !ok {
			t.Errorf("field %s missing from op", f)
		}
	}
	if string(op.Fields["secret"]) != "null" {
		t.Errorf("secret = %s", op.Fields["secret"])
	}
}

func TestRecordValidate(t *testing.T) {
	cases := []struct {
		name string
		rec  Record
		ok   bool
	}{
		{"ok", Record{Kind: KindFolder, ID: "a", Fields: Fields{"name": json.RawMessage(`"x"`), FieldDeleted: json.RawMessage("true")}}, true},
		{"unknown kind", Record{Kind: "widget", ID: "a"}, false},
		{"empty id", Record{Kind: KindFolder}, false},
		{"slash in id", Record{Kind: KindFolder, ID: "a/b"}, false},
		{"unknown field", Record{Kind: KindFolder, ID: "a", Fields: Fields{"method": json.RawMessage(`"GET"`)}}, false},
		{"bad json", Record{Kind: KindFolder, ID: "a", Fields: Fields{"name": json.RawMessage(`{`)}}, false},
	}
	for _, c := range cases {
		err := c.rec.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error not ErrInvalid: %v", c.name, err)
		}
	}
	if !(Record{Fields: Fields{FieldDeleted: json.RawMessage("true")}}).Deleted() {
		t.Error("Deleted false")
	}
}

func TestKeyBetween(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{}
	for i := 0; i < 2000; i++ {
		pos := rng.IntN(len(keys) + 1)
		a, b := "", ""
		if pos > 0 {
			a = keys[pos-1]
		}
		if pos < len(keys) {
			b = keys[pos]
		}
		k, err := KeyBetween(a, b)
		if err != nil {
			t.Fatalf("KeyBetween(%q, %q): %v", a, b, err)
		}
		if (a != "" && k <= a) || (b != "" && k >= b) || strings.HasSuffix(k, "0") {
			t.Fatalf("KeyBetween(%q, %q) = %q", a, b, k)
		}
		keys = slices.Insert(keys, pos, k)
	}
	// Appending at the end keeps keys short.
	k := ""
	for i := 0; i < 1000; i++ {
		k, _ = KeyBetween(k, "")
	}
	if len(k) > 40 {
		t.Errorf("1000 appends give a key of %d chars", len(k))
	}
	k = ""
	for i := 0; i < 1000; i++ {
		k, _ = KeyBetween("", k)
	}
	if len(k) > 40 {
		t.Errorf("1000 prepends give a key of %d chars", len(k))
	}
	for _, bad := range [][2]string{{"b", "a"}, {"a", "a"}, {"a0", ""}, {"a!", ""}} {
		if _, err := KeyBetween(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("KeyBetween(%q,%q) err = %v", bad[0], bad[1], err)
		}
	}
	ks, err := KeysBetween("", "", 5)
	if err != nil || len(ks) != 5 || !slices.IsSorted(ks) {
		t.Errorf("KeysBetween = %v, %v", ks, err)
	}
}

func FuzzKeyBetween(f *testing.F) {
	f.Add("V", "")
	f.Add("", "1")
	f.Add("Vz", "W")
	f.Fuzz(func(t *testing.T, a, b string) {
		k, err := KeyBetween(a, b)
		if err != nil {
			return
		}
		if (a != "" && k <= a) || (b != "" && k >= b) {
			t.Fatalf("KeyBetween(%q, %q) = %q", a, b, k)
		}
	})
}

func TestDeleteOpClearsAHistoryEntrysValues(t *testing.T) {
	op := DeleteOp(KindHistory, "h1")
	if string(op.Fields[FieldDeleted]) != "true" || op.OpID == "" {
		t.Fatalf("delete op %+v", op)
	}
	for _, f := range KindHistory.Fields() {
		if string(op.Fields[f]) != "null" {
			t.Errorf("field %s = %s, want null", f, op.Fields[f])
		}
	}
	if len(op.Fields) != len(KindHistory.Fields())+1 {
		t.Errorf("fields %v", op.Fields)
	}
	if r := (Record{Kind: KindHistory, ID: "h1", Fields: op.Fields}); r.Validate() != nil || !r.Deleted() {
		t.Errorf("the op's record does not validate as deleted: %v", r.Validate())
	}
	if req := DeleteOp(KindRequest, "r1"); len(req.Fields) != 1 {
		t.Errorf("a request's delete op carries %v, want deleted only (a request keeps its values)", req.Fields)
	}
}
