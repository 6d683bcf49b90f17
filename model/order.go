package model

import (
	"fmt"
	"strings"
)

// Order keys place items in a list without renumbering their neighbours: a
// key is a string of base-62 digits read as a fraction in (0, 1), compared
// as plain strings. KeyBetween always finds a key between two others, so a
// move writes one field of one record, and two devices moving different
// items never collide.

const orderDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func digitVal(c byte) int { return strings.IndexByte(orderDigits, c) }

// KeyBetween returns a key strictly between a and b, where "" stands for
// the start (as a) or the end (as b) of the list. It fails with ErrInvalid
// when a >= b or a key holds a character outside the base-62 digits or ends
// in '0' (such a key has nothing below it of the same length).
func KeyBetween(a, b string) (string, error) {
	for _, k := range []string{a, b} {
		if k == "" {
			continue
		}
		if k[len(k)-1] == '0' {
			return "", fmt.Errorf("order key %q ends in 0: %w", k, ErrInvalid)
		}
		for i := 0; i < len(k); i++ {
			if digitVal(k[i]) < 0 {
				return "", fmt.Errorf("order key %q: bad digit %q: %w", k, k[i], ErrInvalid)
			}
		}
	}
	if a != "" && b != "" && a >= b {
		return "", fmt.Errorf("order keys %q >= %q: %w", a, b, ErrInvalid)
	}
	return midpoint(a, b), nil
}

// midpoint returns a key between a and b; b == "" means 1.
func midpoint(a, b string) string {
	var out []byte
	for i := 0; ; i++ {
		da := 0
		if i < len(a) {
			da = digitVal(a[i])
		}
		db := len(orderDigits)
		if b != "" {
			db = 0
			if i < len(b) {
				db = digitVal(b[i])
			}
		}
		if da == db {
			out = append(out, orderDigits[da])
			continue
		}
		if db-da > 1 {
			// Step by one digit at the open end of the list, so keys made by
			// repeated appends or prepends grow by one character only every
			// few dozen keys; halve the gap between two neighbours.
			d := (da + db) / 2
			switch {
			case b == "" && i >= len(a):
				d = len(orderDigits) / 2
			case b == "":
				d = da + 1
			case i >= len(a):
				d = db - 1
			}
			return string(append(out, orderDigits[d]))
		}
		// Adjacent digits: keep a's digit and find a key after the rest of
		// a, with no upper bound any more.
		out = append(out, orderDigits[da])
		return string(out) + midpoint(tail(a, i+1), "")
	}
}

func tail(s string, i int) string {
	if i >= len(s) {
		return ""
	}
	return s[i:]
}

// KeysBetween returns n increasing keys between a and b.
func KeysBetween(a, b string, n int) ([]string, error) {
	keys := make([]string, 0, n)
	prev := a
	for range n {
		k, err := KeyBetween(prev, b)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		prev = k
	}
	return keys, nil
}
