package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// storeKeyName is the keyring entry (beside the account's token and key,
// under the same service and profile) holding the key that seals the
// profile's secret variable values at rest.
const storeKeyName = "store/secret-key"

// desktopKeyringTimeout bounds the keyring calls that open the profile of
// the desktop window: a locked login keyring shows an unlock prompt, and
// the call waits for the person.
const desktopKeyringTimeout = 2 * time.Minute

// profileSecrets returns the secret storage of the profile in dir.
func (m *Main) profileSecrets(dir string) keyring.PersistentSecrets {
	if m.ProfileSecrets != nil {
		return m.ProfileSecrets(dir)
	}
	kr := keyring.New(keyringService, keyring.ProfileID(dir), keyring.WithTimeout(m.keyringTimeout))
	return keyring.NewFallback(kr, keyring.NewMemory())
}

// openStore opens the bbolt store of dir. Secret variable values are
// sealed with the profile's key, read from (or created in) the OS keyring
// once the profile is locked. Without a persistent keyring they stay
// unencrypted and, when the profile holds some, the notice says so.
func (m *Main) openStore(ctx context.Context, dir string) (*Profile, error) {
	secrets := m.profileSecrets(dir)
	var (
		created bool
		loaded  []byte
	)
	keyFn := func(ctx context.Context) ([]byte, error) {
		key, c, err := keyring.LoadOrCreateKey(ctx, secrets, storeKeyName, store.SecretKeySize)
		created, loaded = c, key
		return key, err
	}
	db, err := store.Open(ctx, dir, store.Options{Logger: m.Logger, SecretKey: keyFn})
	if err != nil {
		if created && errors.Is(err, store.ErrSecretsLocked) {
			// A new key opens nothing sealed before: leave no wrong key.
			_ = secrets.Delete(ctx, storeKeyName)
			return nil, fmt.Errorf("the OS keyring holds no key for this profile: was the keyring reset, or the folder moved here from another path before Courier kept its keyring name in it (then open it once at its old path, and move it after)? %w", err)
		}
		return nil, err
	}
	notice := db.Notice()
	if err := keyring.PinProfileID(dir); err != nil {
		// Only a move of the folder would lose its keyring entries.
		m.Logger.Warn("keyring name not kept in the profile", "dir", dir, "err", err)
		notice = sentences(notice, fmt.Sprintf("Courier could not keep this profile's keyring name in %s (%s): were the folder moved, its entries in the OS keyring (the key of its secret values, its session) would not be found.",
			filepath.Join(dir, keyring.IDFile), strings.TrimPrefix(Message(err), "keep the profile's keyring name: ")))
	}
	notice = sentences(notice, unsealedWarning(ctx, db))
	p := &Profile{Store: db, Notice: notice, Close: db.Close}
	if db.SecretsSealed() {
		p.SecretKey = loaded
	}
	return p, nil
}

// openStoreReadOnly opens the bbolt store of dir for reading only. It
// changes nothing anywhere: the profile's key, needed only when it holds
// sealed values, is read from the OS keyring but never created there, and
// the keyring name is not written into the folder.
func (m *Main) openStoreReadOnly(ctx context.Context, dir string) (*Profile, error) {
	secrets := m.profileSecrets(dir)
	var loaded []byte
	keyFn := func(ctx context.Context) ([]byte, error) {
		key, err := secrets.Get(ctx, storeKeyName)
		switch {
		case !secrets.Persistent(), errors.Is(err, model.ErrNotFound), errors.Is(err, model.ErrUnavailable):
			return nil, nil // no key: the store says the values are locked
		case err != nil:
			return nil, err
		}
		loaded = key
		return key, nil
	}
	db, err := store.Open(ctx, dir, store.Options{Logger: m.Logger, SecretKey: keyFn, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	p := &Profile{Store: db, Notice: db.Notice(), Close: db.Close}
	if db.SecretsSealed() {
		p.SecretKey = loaded
	}
	return p, nil
}

// sentences joins two notices, either of which may be "".
func sentences(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + " " + b
}

// unsealedWarning returns a sentence when secret values are stored
// unencrypted, or "".
func unsealedWarning(ctx context.Context, db *store.DB) string {
	if db.SecretsSealed() {
		return ""
	}
	n, err := db.UnsealedSecrets(ctx)
	if err != nil || n == 0 {
		return ""
	}
	what, them := fmt.Sprintf("the values of %d secret variables are", n), "them"
	if n == 1 {
		what, them = "the value of 1 secret variable is", "it"
	}
	return fmt.Sprintf("no system keyring is reachable, so %s stored unencrypted in %s; start a keyring (Secret Service, Keychain) to encrypt %s.", what, db.Dir(), them)
}

// CopyProfileKey gives the profile in to, a copy of the profile in from
// (the local data kept aside at the first sign-in), the key that seals
// from's secret values, in the OS keyring, so the copy opens. A profile
// without a key (no persistent keyring) has nothing to copy.
func CopyProfileKey(ctx context.Context, from, to string) error {
	return (&Main{}).copyProfileKey(ctx, from, to)
}

func (m *Main) copyProfileKey(ctx context.Context, from, to string) error {
	key, err := m.profileSecrets(from).Get(ctx, storeKeyName)
	switch {
	case errors.Is(err, model.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("read the key of the profile %s: %w", from, err)
	}
	if err := m.profileSecrets(to).Set(ctx, storeKeyName, key); err != nil {
		return fmt.Errorf("give the profile %s its key: %w", to, err)
	}
	return nil
}
