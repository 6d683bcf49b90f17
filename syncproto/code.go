package syncproto

import (
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
)

// Reset codes are ResetCodeLen characters of Crockford base32 (50 bits),
// shown as two groups of five ("7KQ2M-XD93F") so a person can type them.
const (
	ResetCodeLen      = 10
	ResetCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// NormalizeCode returns the canonical form of a typed reset code:
// upper-cased, spaces and dashes removed, and the look-alikes I and L read
// as 1 and O as 0. It does not validate; see ValidateCode.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'I', 'L':
			r = '1'
		case 'O':
			r = '0'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ValidateCode reports whether s, once normalised, has the shape of a reset
// code; errors wrap model.ErrInvalid.
func ValidateCode(s string) error {
	n := NormalizeCode(s)
	if len(n) != ResetCodeLen {
		return fmt.Errorf("code must be %d characters: %w", ResetCodeLen, model.ErrInvalid)
	}
	for i := 0; i < len(n); i++ {
		if !strings.ContainsRune(ResetCodeAlphabet, rune(n[i])) {
			return fmt.Errorf("code has a character outside %s: %w", ResetCodeAlphabet, model.ErrInvalid)
		}
	}
	return nil
}

// FormatCode shows a canonical code in two dash-separated groups.
func FormatCode(code string) string {
	if len(code) != ResetCodeLen {
		return code
	}
	return code[:5] + "-" + code[5:]
}
