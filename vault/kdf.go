package vault

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/argon2"

	"github.com/courierapp/courier/model"
)

// KDFParams are the Argon2id cost parameters of an account. They are
// stored per account on the server and returned at prelogin, so a client
// must Validate them before use (downgrade protection).
type KDFParams struct {
	Time      uint32 `json:"t"` // passes over memory
	MemoryKiB uint32 `json:"m"` // memory in KiB
	Threads   uint8  `json:"p"` // lanes
}

// Validate checks against these constants, not the variables below, so
// no assignment anywhere can lower the floor.
const (
	minTime, minMemoryKiB, minThreads = 2, 19 * 1024, 1
	maxTime, maxMemoryKiB, maxThreads = 10, 1024 * 1024, 16
)

var (
	// DefaultKDFParams is what a new account gets: t=3, m=64 MiB, p=4.
	DefaultKDFParams = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
	// MinKDFParams is the floor a client accepts (OWASP's Argon2id
	// minimum): t=2, m=19 MiB, p=1.
	MinKDFParams = KDFParams{Time: minTime, MemoryKiB: minMemoryKiB, Threads: minThreads}
	// MaxKDFParams is the ceiling a client accepts, so a hostile server
	// cannot make a sign-in exhaust the device: t=10, m=1 GiB, p=16.
	MaxKDFParams = KDFParams{Time: maxTime, MemoryKiB: maxMemoryKiB, Threads: maxThreads}
)

const (
	// SaltSize is the length of a salt made by NewSalt.
	SaltSize = 16
	// maxSaltSize bounds what DeriveMaster accepts.
	maxSaltSize = 64
	// KeySize is the length of every symmetric key in this package.
	KeySize = 32
)

// HKDF info strings: one per derived key, versioned so a future scheme
// derives unrelated keys.
const (
	infoAuth     = "courier/v1/auth"
	infoWrap     = "courier/v1/wrap"
	infoRecovery = "courier/v1/recovery"
)

// Validate returns an error wrapping model.ErrInvalid when p is weaker than
// MinKDFParams or larger than MaxKDFParams in any of its three values.
func (p KDFParams) Validate() error {
	lo := KDFParams{Time: minTime, MemoryKiB: minMemoryKiB, Threads: minThreads}
	hi := KDFParams{Time: maxTime, MemoryKiB: maxMemoryKiB, Threads: maxThreads}
	switch {
	case p.Time < lo.Time || p.MemoryKiB < lo.MemoryKiB || p.Threads < lo.Threads:
		return fmt.Errorf("key derivation parameters t=%d m=%dKiB p=%d are weaker than the minimum t=%d m=%dKiB p=%d: %w",
			p.Time, p.MemoryKiB, p.Threads, lo.Time, lo.MemoryKiB, lo.Threads, model.ErrInvalid)
	case p.Time > hi.Time || p.MemoryKiB > hi.MemoryKiB || p.Threads > hi.Threads:
		return fmt.Errorf("key derivation parameters t=%d m=%dKiB p=%d exceed the maximum t=%d m=%dKiB p=%d: %w",
			p.Time, p.MemoryKiB, p.Threads, hi.Time, hi.MemoryKiB, hi.Threads, model.ErrInvalid)
	}
	return nil
}

// NewSalt returns SaltSize random bytes.
func NewSalt() []byte {
	s := make([]byte, SaltSize)
	_, _ = rand.Read(s) // crypto/rand.Read never fails (it crashes the program instead)
	return s
}

// MasterKey is the Argon2id output. It only ever feeds AuthKey and WrapKey.
type MasterKey [KeySize]byte

// DeriveMaster runs Argon2id over password and salt with p. It checks p
// (Validate), the salt (16 to 64 bytes) and the password (not empty) first,
// and returns ctx.Err() if ctx is done before it starts; once started, the
// derivation runs to its end (about half a second and p.MemoryKiB of
// memory with DefaultKDFParams). Errors wrap model.ErrInvalid.
func DeriveMaster(ctx context.Context, password string, salt []byte, p KDFParams) (MasterKey, error) {
	var mk MasterKey
	if err := p.Validate(); err != nil {
		return mk, err
	}
	if len(salt) < SaltSize || len(salt) > maxSaltSize {
		return mk, fmt.Errorf("salt of %d bytes, want %d to %d: %w", len(salt), SaltSize, maxSaltSize, model.ErrInvalid)
	}
	if password == "" {
		return mk, fmt.Errorf("the password is empty: %w", model.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return mk, fmt.Errorf("derive key: %w", err)
	}
	copy(mk[:], argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, KeySize))
	return mk, nil
}

// AuthKey returns HKDF-SHA256(master, info "courier/v1/auth"), 32 bytes:
// what the client sends to the server in place of the password.
func (m MasterKey) AuthKey() []byte { return deriveKey(m[:], infoAuth) }

// WrapKey returns HKDF-SHA256(master, info "courier/v1/wrap"), 32 bytes:
// the key that wraps the account key. It never leaves the device.
func (m MasterKey) WrapKey() []byte { return deriveKey(m[:], infoWrap) }

// String hides the key from fmt.
func (MasterKey) String() string { return redacted }

// LogValue hides the key from log/slog.
func (MasterKey) LogValue() slog.Value { return slog.StringValue(redacted) }

const redacted = "[redacted]"

// deriveKey is HKDF-SHA256 with an empty salt, KeySize bytes out.
func deriveKey(secret []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, info, KeySize)
	if err != nil { // only for lengths beyond 255*32 bytes
		panic("vault: hkdf: " + err.Error())
	}
	return k
}

// HashAuthKey returns SHA-256(authKey): what the server stores.
func HashAuthKey(authKey []byte) []byte {
	h := sha256.Sum256(authKey)
	return h[:]
}

// VerifyAuthKey reports whether authKey hashes to stored, in time that
// does not depend on where they differ.
func VerifyAuthKey(stored, authKey []byte) bool {
	h := sha256.Sum256(authKey)
	return subtle.ConstantTimeCompare(stored, h[:]) == 1
}
