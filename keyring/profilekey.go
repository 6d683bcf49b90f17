package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/courierapp/courier/model"
)

// PersistentSecrets is Secrets that can say whether it keeps what it
// holds beyond this run (Fallback does).
type PersistentSecrets interface {
	Secrets
	Persistent() bool
}

// LoadOrCreateKey returns the size-byte key stored under name in s, or
// stores a new random one when there is none (created is then true).
//
// A key is only worth having if it outlives the run: when s is not
// persistent (the OS keyring is unreachable, or did not answer in time,
// and Fallback moved to memory) it returns no key and no error, and the
// caller keeps working without one. Errors: an entry that is not size
// bytes wraps model.ErrInvalid (it is never replaced); a failed store of a
// new key, or any other keyring error, is returned as it is.
func LoadOrCreateKey(ctx context.Context, s PersistentSecrets, name string, size int) (key []byte, created bool, err error) {
	v, err := s.Get(ctx, name)
	switch {
	case !s.Persistent(), errors.Is(err, model.ErrUnavailable):
		return nil, false, nil
	case err == nil && len(v) != size:
		return nil, false, fmt.Errorf("the keyring entry %s holds %d bytes, not a %d-byte key (was it written by another program?): %w", name, len(v), size, model.ErrInvalid)
	case err == nil:
		return v, false, nil
	case !errors.Is(err, model.ErrNotFound):
		return nil, false, err
	}
	key = make([]byte, size)
	_, _ = rand.Read(key) // never fails
	if err := s.Set(ctx, name, key); err != nil {
		return nil, false, fmt.Errorf("store a new key in the keyring: %w", err)
	}
	if !s.Persistent() {
		return nil, false, nil
	}
	return key, true, nil
}
