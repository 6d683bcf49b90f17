package model

import (
	"encoding/json"
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
