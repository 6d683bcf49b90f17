package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/courierapp/courier/model"
)

// AccountKey is the random key that seals every field of an account. It is
// stored on the server only wrapped, and on a device only in the OS
// keyring.
type AccountKey [KeySize]byte

// NewAccountKey returns a fresh random account key.
func NewAccountKey() AccountKey {
	var k AccountKey
	_, _ = rand.Read(k[:]) // never fails
	return k
}

// AccountKeyFromBytes turns the bytes of an account key (as kept in the
// keyring) back into one. An error wraps model.ErrInvalid when b is not
// KeySize bytes long.
func AccountKeyFromBytes(b []byte) (AccountKey, error) {
	var k AccountKey
	if len(b) != KeySize {
		return k, fmt.Errorf("account key of %d bytes, want %d: %w", len(b), KeySize, model.ErrInvalid)
	}
	copy(k[:], b)
	return k, nil
}

// Bytes returns a copy of the key's bytes, to store it in the keyring.
func (k AccountKey) Bytes() []byte { return append([]byte(nil), k[:]...) }

// String hides the key from fmt.
func (AccountKey) String() string { return redacted }

// LogValue hides the key from log/slog.
func (AccountKey) LogValue() slog.Value { return slog.StringValue(redacted) }

const (
	// formatV1 is the first byte of every wrapped key and sealed value.
	formatV1 = 0x01
	// headerSize is the version byte and the nonce.
	headerSize = 1 + chacha20poly1305.NonceSizeX
	// Overhead is how many bytes Seal and Wrap add to their input.
	Overhead = headerSize + chacha20poly1305.Overhead
	// WrappedSize is the length of a wrapped account key.
	WrappedSize = Overhead + KeySize

	adAccountKey = "courier/v1/account-key"
)

// errWrongKey is the sentence a person sees when an account key does not
// unwrap.
const errWrongKey = "wrong password or recovery key, or the key was tampered with"

// Wrap seals accountKey with key (a MasterKey.WrapKey or a
// RecoveryKey.WrapKey): 0x01 || nonce24 || XChaCha20-Poly1305 with
// associated data "courier/v1/account-key". An error wraps
// model.ErrInvalid when key is not 32 bytes.
func Wrap(key []byte, accountKey AccountKey) ([]byte, error) {
	var nonce [headerSize - 1]byte
	_, _ = rand.Read(nonce[:]) // never fails
	return wrapWithNonce(key, nonce[:], accountKey)
}

// wrapWithNonce is Wrap with a given nonce, for known-answer tests.
func wrapWithNonce(key, nonce []byte, accountKey AccountKey) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("wrap account key: %w", err)
	}
	out := make([]byte, headerSize, WrappedSize)
	out[0] = formatV1
	copy(out[1:], nonce)
	return aead.Seal(out, out[1:headerSize], accountKey[:], []byte(adAccountKey)), nil
}

// Unwrap opens a wrapped account key with key. A wrong key, a tampered or
// truncated blob give an error wrapping model.ErrUnauthorized whose text
// says "wrong password or recovery key, or the key was tampered with"; an
// unknown format version or a key that is not 32 bytes give
// model.ErrInvalid.
func Unwrap(key, wrapped []byte) (AccountKey, error) {
	var k AccountKey
	aead, err := newAEAD(key)
	if err != nil {
		return k, fmt.Errorf("unwrap account key: %w", err)
	}
	if len(wrapped) > 0 && wrapped[0] != formatV1 {
		return k, fmt.Errorf("wrapped account key has unknown format version 0x%02x (a newer Courier may have written it): %w", wrapped[0], model.ErrInvalid)
	}
	if len(wrapped) != WrappedSize {
		return k, fmt.Errorf("%s (wrapped key of %d bytes, want %d): %w", errWrongKey, len(wrapped), WrappedSize, model.ErrUnauthorized)
	}
	if _, err := aead.Open(k[:0], wrapped[1:headerSize], wrapped[headerSize:], []byte(adAccountKey)); err != nil {
		return AccountKey{}, fmt.Errorf("%s: %w", errWrongKey, model.ErrUnauthorized)
	}
	return k, nil
}

// newAEAD returns XChaCha20-Poly1305 for a 32-byte key, or an error
// wrapping model.ErrInvalid.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key of %d bytes, want %d: %w", len(key), KeySize, model.ErrInvalid)
	}
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("xchacha20poly1305: %v: %w", err, model.ErrInvalid)
	}
	return a, nil
}
