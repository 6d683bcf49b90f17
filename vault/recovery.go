package vault

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"

	"github.com/courierapp/courier/model"
)

// RecoveryKey is 160 random bits shown to the user once, at sign-up. A
// second copy of the account key is wrapped with its WrapKey, so the data
// survives a forgotten password.
//
// Text form: Crockford's base32 (digits and upper-case letters without I,
// L, O and U), 32 characters in 8 groups of 4 joined by dashes, e.g.
// "7ZK4-Q1M0-...". Crockford rather than RFC 4648 because people copy the
// key by hand: reading it back, 0/O and 1/I/L are taken as the same
// symbol. There is no check symbol (160 bits fill the 32 characters
// exactly); a mistyped key shows up as Unwrap failing.
type RecoveryKey [RecoveryKeySize]byte

const (
	// RecoveryKeySize is the length of a recovery key in bytes (160 bits).
	RecoveryKeySize  = 20
	recoveryKeyChars = RecoveryKeySize * 8 / 5 // 32
	crockford        = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

var recoveryEncoding = base32.NewEncoding(crockford).WithPadding(base32.NoPadding)

// NewRecoveryKey returns a fresh random recovery key.
func NewRecoveryKey() RecoveryKey {
	var k RecoveryKey
	_, _ = rand.Read(k[:]) // never fails
	return k
}

// String formats the key for the user: "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX".
func (k RecoveryKey) String() string {
	s := recoveryEncoding.EncodeToString(k[:])
	var b strings.Builder
	b.Grow(recoveryKeyChars + 7)
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String()
}

// LogValue hides the key from log/slog (String shows it, on purpose, for
// the one screen that displays it).
func (RecoveryKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// WrapKey returns HKDF-SHA256(key, info "courier/v1/recovery"), 32 bytes,
// for Wrap and Unwrap.
func (k RecoveryKey) WrapKey() []byte { return deriveKey(k[:], infoRecovery) }

// ParseRecoveryKey reads a recovery key as a person may type or paste it:
// any case, with or without dashes, spaces, tabs or line breaks, and with
// O for 0 and I or L for 1. An error wraps model.ErrInvalid and says what
// is wrong (the length or the first character that is not part of a key);
// it never repeats the key.
func ParseRecoveryKey(s string) (RecoveryKey, error) {
	var k RecoveryKey
	norm := make([]byte, 0, recoveryKeyChars)
	pos := 0
	for _, r := range s {
		pos++
		switch c := normalizeSymbol(r); {
		case c == skip:
		case c == bad:
			return k, fmt.Errorf("the recovery key has %q at position %d, which is not used in recovery keys (they have digits and the letters A to Z except U): %w",
				printable(r), pos, model.ErrInvalid)
		default:
			norm = append(norm, c)
		}
		if len(norm) > recoveryKeyChars {
			break
		}
	}
	if len(norm) != recoveryKeyChars {
		return k, fmt.Errorf("a recovery key has %d letters and digits, this one has %s: %w",
			recoveryKeyChars, countWord(len(norm)), model.ErrInvalid)
	}
	if _, err := recoveryEncoding.Decode(k[:], norm); err != nil {
		// unreachable: every symbol is in the alphabet and 32 symbols are
		// exactly 20 bytes
		return RecoveryKey{}, fmt.Errorf("the recovery key does not decode: %w", model.ErrInvalid)
	}
	return k, nil
}

const (
	skip = 0
	bad  = 1
)

// normalizeSymbol maps r to its Crockford symbol, or to skip for
// separators, or to bad.
func normalizeSymbol(r rune) byte {
	switch {
	case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
		return skip
	case r >= 'a' && r <= 'z':
		r -= 'a' - 'A'
	}
	switch r {
	case 'O':
		return '0'
	case 'I', 'L':
		return '1'
	}
	if r < 0x80 && strings.IndexByte(crockford, byte(r)) >= 0 {
		return byte(r)
	}
	return bad
}

func printable(r rune) string {
	if r < ' ' || r == 0x7f || r == 0xfffd {
		return fmt.Sprintf("U+%04X", r)
	}
	return string(r)
}

func countWord(n int) string {
	if n > recoveryKeyChars {
		return "more"
	}
	return fmt.Sprint(n)
}
