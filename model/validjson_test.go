package model

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

var jsonSeeds = []string{
	``, ` `, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.25e-3`, `2.`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `"`, `""`, `"a\"b"`, `"\u00e9\uD800"`, `"\u00g0"`, `"\x"`, `"\/\b\f\n\r\t"`,
	"\"tab\there\"", "\"\xff\xfe\"", `"\`, `"\u12"`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`,
	`{1:2}`, `{"a":}`, `{"a":[{"b":null}],"c":"d"}`, " \t\n\r{\"a\" : [ 1 , 2 ] } \n", `[1]]`, `{"a":1}}`, `1 2`, `[`, `{`, `{"a"`, `{"a":1`,
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	deep := []string{
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	}
	for _, s := range append(deep, jsonSeeds...) {
		if got, want := ValidJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("ValidJSON(%.40q) = %v, json.Valid = %v", s, got, want)
		}
	}
}

// FuzzValidJSON checks that ValidJSON and json.Valid agree on any bytes.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func TestEachJSONMemberWalksValidObjectsOnly(t *testing.T) {
	var got []string
	ok := EachJSONMember([]byte(` {"a":1, "b\n":{"c":[1,"}"]},"d":"x"} `), func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	want := []string{`a=1`, `b\n={"c":[1,"}"]}`, `d="x"`}
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("members %q, %v; want %q", got, ok, want)
	}
	if !EachJSONMember([]byte(`{}`), func(k, v []byte) bool { t.Fatal("a member of {}"); return true }) {
		t.Fatal("{} refused")
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1,}`, `{"a":tru}`, `{"a":1} x`, `{a:1}`, `{"a":1`} {
		if EachJSONMember([]byte(bad), func(k, v []byte) bool { return true }) {
			t.Errorf("%q walked as an object", bad)
		}
	}
	n := 0
	if EachJSONMember([]byte(`{"a":1,"b":2}`), func(k, v []byte) bool { n++; return false }) || n != 1 {
		t.Fatalf("stopping after the first member: %d calls", n)
	}
}
