package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"maps"
	"os"
	"sync/atomic"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/courierapp/courier/model"
)

// At-rest sealing of secret values. With Options.SecretKey, the stored
// value field of every variable record whose secret field is true (in the
// confirmed and visible layers), and the value of every pending variable
// op, is kept as
//
//	0x02 nonce24 XChaCha20-Poly1305(key, json, ad = "courier/v1/at-rest" 0x00 kind 0x00 id 0x00 field)
//
// A stored value is otherwise JSON, which never starts with 0x02, so a
// reader recognises a sealed value without knowing the flag. Everything
// the store returns is plaintext; only the bytes on disk change.
//
// The first time a value is sealed, the meta bucket gets a check value
// (the same frame, over a fixed text) in the same transaction; from then
// on Open refuses a missing or different key with ErrSecretsLocked and
// changes nothing. A profile that never held a secret value opens with or
// without a key.

// SecretKeySize is the length of Options.SecretKey.
const SecretKeySize = chacha20poly1305.KeySize

// ErrSecretsLocked reports a profile whose secret values are sealed with
// a key that Open was not given (no key, or a different one). It wraps
// model.ErrUnavailable.
var ErrSecretsLocked = fmt.Errorf("secret values locked: %w", model.ErrUnavailable)

// sealedFormat starts every sealed value. No JSON text starts with it.
const sealedFormat = 0x02

// sealedOverhead is what sealing adds to a value: the format byte, the
// nonce and the tag.
const sealedOverhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// adDomain starts the associated data, so a value sealed at rest never
// opens as an account-sealed one or the other way round.
const adDomain = "courier/v1/at-rest"

// fieldValue is the sealed field of a variable record.
const fieldValue = "value"

// The check value: checkText sealed as field checkField of the meta
// "record" (checkKind, checkID).
const (
	checkKind  = "meta"
	checkID    = "secrets"
	checkField = "check"
	checkText  = "courier secret values"
)

// variablePrefix starts the record keys of variables.
var variablePrefix = kindPrefix(model.KindVariable)

// sealer seals and opens secret values with one profile key. A nil
// *sealer has no key: it seals nothing and opens nothing. It is safe for
// concurrent use.
type sealer struct {
	aead cipher.AEAD
}

// newSealer returns a sealer for key, nil for an empty key, or an error
// wrapping model.ErrInvalid for a key of the wrong length.
func newSealer(key []byte) (*sealer, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("secret key of %d bytes, want %d: %w", len(key), SecretKeySize, model.ErrInvalid)
	}
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %v: %w", err, model.ErrInvalid)
	}
	return &sealer{aead: a}, nil
}

// isSealed reports whether a stored value is sealed.
func isSealed(v []byte) bool { return len(v) > 0 && v[0] == sealedFormat }

func appendAD(b []byte, kind, id, field string) []byte {
	b = append(b, adDomain...)
	for _, s := range [...]string{kind, id, field} {
		b = append(b, 0)
		b = append(b, s...)
	}
	return b
}

// seal returns v sealed for (kind, id, field).
func (s *sealer) seal(kind, id, field string, v []byte) []byte {
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, sealedOverhead+len(v))
	out[0] = sealedFormat
	_, _ = rand.Read(out[1:]) // never fails
	ad := appendAD(make([]byte, 0, 64), kind, id, field)
	return s.aead.Seal(out, out[1:], v, ad)
}

// open returns the plaintext of a value sealed for (kind, id, field).
func (s *sealer) open(kind, id, field string, v []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%s %s: the %s is sealed and no key was given: %w", kind, id, field, ErrSecretsLocked)
	}
	if len(v) < sealedOverhead {
		return nil, fmt.Errorf("%s %s: sealed %s truncated to %d bytes: %w", kind, id, field, len(v), errDamaged)
	}
	ad := appendAD(make([]byte, 0, 64), kind, id, field)
	p, err := s.aead.Open(nil, v[1:sealedOverhead-chacha20poly1305.Overhead], v[sealedOverhead-chacha20poly1305.Overhead:], ad)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the sealed %s does not open with this profile's key (changed outside Courier): %w", kind, id, field, model.ErrUnavailable)
	}
	if p == nil {
		p = []byte{}
	}
	return p, nil
}

// checkValue returns a new check value.
func (s *sealer) checkValue() []byte {
	return s.seal(checkKind, checkID, checkField, []byte(checkText))
}

// verify checks the stored check value against the key: nil when it
// opens, else an error wrapping ErrSecretsLocked that names the remedy.
func (s *sealer) verify(dir string, check []byte) error {
	why := "no key was given (the OS keyring holding it is locked or unreachable)"
	if s != nil {
		p, err := s.open(checkKind, checkID, checkField, check)
		if err == nil && string(p) == checkText {
			return nil
		}
		why = "the key Courier got from the OS keyring is not the one they were sealed with"
	}
	return fmt.Errorf("the secret variable values of the profile %s are encrypted and %s: unlock the OS keyring (or make it reachable) and start Courier again; nothing in the profile was changed: %w",
		dir, why, ErrSecretsLocked)
}

// secretVariable reports whether a variable's fields say it is secret.
func secretVariable(f model.Fields) bool {
	return bytes.Equal(bytes.TrimSpace(f["secret"]), []byte("true"))
}

// needsSealing reports whether a record's value must be stored sealed.
func needsSealing(kind model.Kind, f model.Fields) bool {
	if kind != model.KindVariable {
		return false
	}
	v, ok := f[fieldValue]
	return ok && !isSealed(v) && secretVariable(f)
}

// encodeRecord is encodeFields(f) for record (kind, id), with the value of
// a secret variable sealed; sealed counts the values it sealed. f is not
// changed.
func (s *sealer) encodeRecord(kind model.Kind, id model.ID, f model.Fields, sealed *atomic.Int64) []byte {
	if s == nil || !needsSealing(kind, f) {
		return encodeFields(f)
	}
	g := maps.Clone(f)
	g[fieldValue] = s.seal(string(kind), string(id), fieldValue, f[fieldValue])
	sealed.Add(1)
	return encodeFields(g)
}

// encodeOp is encodeOp(op) with the value of a variable op sealed.
func (s *sealer) encodeOp(op model.Op, sealed *atomic.Int64) []byte {
	v, ok := op.Fields[fieldValue]
	if s == nil || op.Kind != model.KindVariable || !ok || isSealed(v) {
		return encodeOp(op)
	}
	op.Fields = maps.Clone(op.Fields)
	op.Fields[fieldValue] = s.seal(string(op.Kind), string(op.ID), fieldValue, v)
	sealed.Add(1)
	return encodeOp(op)
}

// openFields opens, in f (fresh from decodeFields), the sealed value of
// record (kind, id).
func (s *sealer) openFields(kind model.Kind, id model.ID, f model.Fields) error {
	if kind != model.KindVariable {
		return nil
	}
	v, ok := f[fieldValue]
	if !ok || !isSealed(v) {
		return nil
	}
	p, err := s.open(string(kind), string(id), fieldValue, v)
	if err != nil {
		return err
	}
	f[fieldValue] = p
	return nil
}

// openAt is openFields for the record stored under key rk.
func (s *sealer) openAt(rk []byte, f model.Fields) error {
	if !bytes.HasPrefix(rk, variablePrefix) {
		return nil
	}
	return s.openFields(model.KindVariable, model.ID(rk[len(variablePrefix):]), f)
}

// decodeRecord is decodeFields for the record stored under rk, opening
// its sealed value.
func (s *sealer) decodeRecord(rk, b []byte) (model.Fields, error) {
	f, err := decodeFields(b)
	if err == nil {
		err = s.openAt(rk, f)
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rk, err)
	}
	return f, nil
}

// decodeOp is decodeOp, opening a sealed value.
func (s *sealer) decodeOp(b []byte) (model.Op, error) {
	op, err := decodeOp(b)
	if err == nil {
		err = s.openFields(op.Kind, op.ID, op.Fields)
	}
	return op, err
}

// put stores the record value v under rk in b, noting when it replaces a
// plain secret value by a sealed one (the plain copy then lingers in a
// page bbolt freed, which scrubFreePages overwrites).
func (w *writeTx) put(b *bbolt.Bucket, rk, v []byte) error {
	if w.sec != nil && !w.scrub && bytes.HasPrefix(rk, variablePrefix) &&
		storedValue(w.get(b, rk), func(v []byte) bool { return !isSealed(v) }) {
		now := v
		if bytes.Equal(v, sameAsConfirmed) {
			now = w.conf.Get(rk)
		}
		w.scrub = storedValue(now, isSealed)
	}
	return b.Put(rk, v)
}

// storedValue reports whether the stored record b has a value field for
// which is holds.
func storedValue(b []byte, is func([]byte) bool) bool {
	if b == nil || bytes.Equal(b, sameAsConfirmed) {
		return false
	}
	f, err := decodeFields(b)
	v, ok := f[fieldValue]
	return err == nil && ok && len(v) > 0 && is(v)
}

// scrubFreePages overwrites every free page of the file at path with
// zeros, so a value that was replaced by its sealed form leaves no plain
// copy. No read transaction may be open (the caller makes sure): then
// bbolt's write transaction releases every pending page, and no free page
// is seen by anyone.
func scrubFreePages(b *bbolt.DB, path string, noSync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return b.Update(func(tx *bbolt.Tx) error {
		ps := int64(b.Info().PageSize)
		zero := make([]byte, ps)
		for id := 2; int64(id) < tx.Size()/ps; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil || info.Type != "free" {
				continue
			}
			if _, err := f.WriteAt(zero, int64(id)*ps); err != nil {
				return err
			}
		}
		if noSync {
			return nil
		}
		return f.Sync()
	})
}
