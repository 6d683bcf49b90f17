package vault

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// Computed outside Go: Python's base32 with the RFC 4648 alphabet mapped
// to Crockford's, and HKDF from the cryptography package.
const (
	katRecoveryString  = "000G-40R4-0M30-E209-185G-R38E-1W81-24GK"
	katRecoveryWrapKey = "1d732ec1d0d57b9b3a7b60dbf67f059dd6e064227e7b5e405c836dd3d94a1d6e"
)

func TestRecoveryKeyMatchesKnownAnswers(t *testing.T) {
	rk := RecoveryKey(seq(0, 20))
	if got := rk.String(); got != katRecoveryString {
		t.Errorf("String() = %s, want %s", got, katRecoveryString)
	}
	assertHex(t, "recovery wrap key", rk.WrapKey(), katRecoveryWrapKey)
	assertHex(t, "recovery wrap key (x/crypto)", refHKDF(t, rk[:], "courier/v1/recovery"), katRecoveryWrapKey)
}

func TestRecoveryKeyStringFormat(t *testing.T) {
	format := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}$`)
	for range 100 {
		rk := NewRecoveryKey()
		s := rk.String()
		if !format.MatchString(s) {
			t.Fatalf("String() = %q, want 8 dash-separated groups of 4 Crockford symbols", s)
		}
		back, err := ParseRecoveryKey(s)
		if err != nil || back != rk {
			t.Fatalf("ParseRecoveryKey(%q) = %v, %v; want the key back", s, back == rk, err)
		}
	}
}

func TestParseRecoveryKey(t *testing.T) {
	want := RecoveryKey(seq(0, 20))
	compact := strings.ReplaceAll(katRecoveryString, "-", "")
	tests := []struct {
		name    string
		in      string
		errText string // empty: must parse to want
	}{
		{"canonical form", katRecoveryString, ""},
		{"lower case", strings.ToLower(katRecoveryString), ""},
		{"no dashes", compact, ""},
		{"spaces instead of dashes", strings.ReplaceAll(katRecoveryString, "-", " "), ""},
		{"pasted over two lines with surrounding blanks", "  " + katRecoveryString[:19] + "\r\n" + katRecoveryString[20:] + "\n", ""},
		{"tabs and non-breaking spaces", strings.ReplaceAll(katRecoveryString, "-", "\t\u00a0"), ""},
		{"letter O for zero", strings.ReplaceAll(katRecoveryString, "0", "O"), ""},
		{"lower-case o for zero", strings.ReplaceAll(katRecoveryString, "0", "o"), ""},
		{"letters I and l for one", strings.Replace(strings.Replace(katRecoveryString, "1", "I", 1), "1", "l", 1), ""},
		{"empty", "", "has 0"},
		{"only separators", " - - \n", "has 0"},
		{"one symbol short", compact[:31], "has 31"},
		{"one symbol long", compact + "0", "has more"},
		{"twice the key", compact + compact, "has more"},
		{"letter U", "U" + compact[1:], `"U" at position 1`},
		{"punctuation", compact[:10] + "." + compact[11:], `"." at position 11`},
		{"non-ASCII letter", "Ä" + compact[1:], `"Ä" at position 1`},
		{"control byte", "\x00" + compact[1:], "U+0000"},
		{"invalid UTF-8", "\xff" + compact[1:], "U+FFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecoveryKey(tt.in)
			if tt.errText == "" {
				if err != nil || got != want {
					t.Fatalf("ParseRecoveryKey(%q) = %s, %v; want %s", tt.in, got, err, want)
				}
				return
			}
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("ParseRecoveryKey(%q) err = %v, want model.ErrInvalid mentioning %q", tt.in, err, tt.errText)
			}
			if got != (RecoveryKey{}) {
				t.Error("a failed parse returned key bytes")
			}
		})
	}
}

func TestParseRecoveryKeyErrorDoesNotRepeatTheKey(t *testing.T) {
	s := NewRecoveryKey().String()
	_, err := ParseRecoveryKey(s + "-0000")
	if err == nil || strings.Contains(err.Error(), s[:9]) {
		t.Errorf("err = %v: want an error that does not echo the key", err)
	}
}

func FuzzParseRecoveryKey(f *testing.F) {
	for _, s := range []string{katRecoveryString, strings.ToLower(katRecoveryString), "", "U", "0000 0000\n0000-0000 OOOO IIII LLLL llll", "\xff\x00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rk, err := ParseRecoveryKey(s)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want model.ErrInvalid", err)
			}
			return
		}
		back, err := ParseRecoveryKey(rk.String())
		if err != nil || back != rk {
			t.Fatalf("%q parsed to a key whose String %q does not parse back: %v", s, rk.String(), err)
		}
	})
}
