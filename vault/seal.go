package vault

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
)

// Sealer seals and opens field values with one account key. It keeps the
// cipher ready, so a Seal or Open costs one allocation (the result). A
// Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for accountKey.
func NewSealer(accountKey AccountKey) *Sealer {
	a, err := newAEAD(accountKey[:])
	if err != nil { // cannot happen: the key has the right length
		panic("vault: " + err.Error())
	}
	return &Sealer{aead: a}
}

// Seal encrypts the JSON value of one field of one record:
// 0x01 || nonce24 || XChaCha20-Poly1305(json, ad = kind 0x00 id 0x00 field).
// The associated data binds the result to (kind, id, field), so it does not
// open anywhere else. An error wraps model.ErrInvalid when kind, id or
// field is empty or contains a NUL byte.
func (s *Sealer) Seal(kind, id, field string, plaintextJSON []byte) ([]byte, error) {
	var nonce [headerSize - 1]byte
	_, _ = rand.Read(nonce[:]) // never fails
	return s.sealWithNonce(nonce[:], kind, id, field, plaintextJSON)
}

// sealWithNonce is Seal with a given nonce, for known-answer tests.
func (s *Sealer) sealWithNonce(nonce []byte, kind, id, field string, plaintext []byte) ([]byte, error) {
	if err := checkLabels(kind, id, field); err != nil {
		return nil, err
	}
	n := Overhead + len(plaintext)
	// One allocation: the associated data lives past the result's end.
	buf := make([]byte, n+adLen(kind, id, field))
	ad := appendAD(buf[n:n], kind, id, field)
	buf[0] = formatV1
	copy(buf[1:headerSize], nonce)
	out := s.aead.Seal(buf[:headerSize], buf[1:headerSize], plaintext, ad)
	return out[:n:n], nil
}

// Open decrypts a value made by Seal for the same (kind, id, field). An
// error wraps model.ErrInvalid and names kind, id and field when the value
// is truncated, has an unknown version byte, was tampered with, or was
// sealed for another record or field or with another key.
func (s *Sealer) Open(kind, id, field string, sealed []byte) ([]byte, error) {
	if err := checkSealed(kind, id, field, sealed); err != nil {
		return nil, err
	}
	n := len(sealed) - Overhead
	buf := make([]byte, n+adLen(kind, id, field))
	ad := appendAD(buf[n:n], kind, id, field)
	out, err := s.aead.Open(buf[:0], sealed[1:headerSize], sealed[headerSize:], ad)
	if err != nil {
		return nil, openError(kind, id, field, "tampered or moved")
	}
	return out[:n:n], nil
}

// OpenInPlace is Open decrypting into sealed's own memory: the result
// aliases sealed, which holds nothing usable afterwards. When sealed's
// capacity has room past its length for the associated data
// (len(kind)+len(id)+len(field)+2 bytes, overwritten), it allocates
// nothing, so a caller opening many values can decode them all into one
// buffer. Errors as Open's; on error sealed may have been overwritten.
func (s *Sealer) OpenInPlace(kind, id, field string, sealed []byte) ([]byte, error) {
	if err := checkSealed(kind, id, field, sealed); err != nil {
		return nil, err
	}
	ad := appendAD(sealed[len(sealed):], kind, id, field) // allocates without room
	ct := sealed[headerSize:]
	out, err := s.aead.Open(ct[:0], sealed[1:headerSize], ct, ad)
	if err != nil {
		return nil, openError(kind, id, field, "tampered or moved")
	}
	return out, nil
}

// checkSealed checks the labels and the frame of a sealed value before
// it is opened.
func checkSealed(kind, id, field string, sealed []byte) error {
	if err := checkLabels(kind, id, field); err != nil {
		return err
	}
	if len(sealed) < Overhead {
		return openError(kind, id, field, fmt.Sprintf("truncated to %d bytes", len(sealed)))
	}
	if sealed[0] != formatV1 {
		return openError(kind, id, field, fmt.Sprintf("unknown format version 0x%02x", sealed[0]))
	}
	return nil
}

// Seal is NewSealer(accountKey).Seal(kind, id, field, plaintextJSON).
func Seal(accountKey AccountKey, kind, id, field string, plaintextJSON []byte) ([]byte, error) {
	return NewSealer(accountKey).Seal(kind, id, field, plaintextJSON)
}

// Open is NewSealer(accountKey).Open(kind, id, field, sealed).
func Open(accountKey AccountKey, kind, id, field string, sealed []byte) ([]byte, error) {
	return NewSealer(accountKey).Open(kind, id, field, sealed)
}

func openError(kind, id, field, why string) error {
	return fmt.Errorf("sealed value of %s %s field %s does not open: %s: %w", kind, id, field, why, model.ErrInvalid)
}

// checkLabels rejects labels that would make the associated data
// ambiguous.
func checkLabels(kind, id, field string) error {
	for _, l := range [...]struct{ name, v string }{{"kind", kind}, {"id", id}, {"field", field}} {
		if l.v == "" || strings.IndexByte(l.v, 0) >= 0 {
			return fmt.Errorf("seal %s %s field %s: %s %q is empty or has a NUL byte: %w", kind, id, field, l.name, l.v, model.ErrInvalid)
		}
	}
	return nil
}

func adLen(kind, id, field string) int { return len(kind) + 1 + len(id) + 1 + len(field) }

// appendAD appends kind 0x00 id 0x00 field to dst.
func appendAD(dst []byte, kind, id, field string) []byte {
	dst = append(dst, kind...)
	dst = append(dst, 0)
	dst = append(dst, id...)
	dst = append(dst, 0)
	return append(dst, field...)
}
