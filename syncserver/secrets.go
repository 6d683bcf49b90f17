package syncserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"

	"github.com/courierapp/courier/syncproto"
)

// newToken returns 256 random bits, base64url without padding (43 chars).
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newResetCode returns ResetCodeLen random characters of the code
// alphabet; the alphabet has 32 symbols, so 5 bits per byte keep it uniform.
func newResetCode() string {
	b := make([]byte, syncproto.ResetCodeLen)
	rand.Read(b)
	for i := range b {
		b[i] = syncproto.ResetCodeAlphabet[b[i]&31]
	}
	return string(b)
}

func sha(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// tokenHash is how session tokens and confirmation tokens are stored.
func tokenHash(token string) []byte { return sha([]byte(token)) }

// authHash is how authKeys are stored.
func authHash(authKey []byte) []byte { return sha(authKey) }

// authMatches compares SHA-256(authKey) with the stored hash in constant
// time.
func authMatches(authKey, stored []byte) bool {
	return subtle.ConstantTimeCompare(authHash(authKey), stored) == 1
}

// keyed computes HMAC-SHA256(key, parts joined by 0x00).
func keyed(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// shortHash is a log-safe stand-in for a personal value.
func shortHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:6])
}
