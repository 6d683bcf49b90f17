package pgstore

import (
	"testing"
)

func TestParsePayload(t *testing.T) {
	tests := []struct {
		name, in string
		acct     string
		head     uint64
		ok       bool
	}{
		{"AccountAndHead", "acct-1:42", "acct-1", 42, true},
		{"AccountWithColons", "a:b:7", "a:b", 7, true},
		{"NoColon", "acct-1", "", 0, false},
		{"EmptyAccount", ":5", "", 0, false},
		{"HeadNotANumber", "acct:x", "", 0, false},
		{"NegativeHead", "acct:-1", "", 0, false},
		{"HeadTooBig", "acct:18446744073709551616", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, head, ok := parsePayload(tt.in)
			if ok != tt.ok || (ok && (acct != tt.acct || head != tt.head)) {
				t.Fatalf("parsePayload(%q) = %q, %d, %v; want %q, %d, %v", tt.in, acct, head, ok, tt.acct, tt.head, tt.ok)
			}
		})
	}
}

func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"acct-1:42", "a:b:7", "", ":", "x:18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		acct, head, ok := parsePayload(p)
		if !ok {
			return
		}
		if acct == "" {
			t.Fatalf("parsePayload(%q) accepted an empty account", p)
		}
		if back, h, _ := parsePayload(acct + ":" + uitoa(head)); back != acct || h != head {
			t.Fatalf("round trip of %q: %q, %d", p, back, h)
		}
	})
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
