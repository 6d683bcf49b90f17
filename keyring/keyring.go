package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/model"
)

// Secrets is the app's secret storage port, repeated here so Fallback can
// combine any two implementations.
type Secrets interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// Backend is the part of go-keyring's API a Keyring uses. The default
// calls the go-keyring package functions (so keyring.MockInit applies);
// tests may pass a fake with WithBackend. Errors are go-keyring's:
// gokeyring.ErrNotFound, gokeyring.ErrSetDataTooBig, anything else means
// the keyring could not be used.
type Backend interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// DefaultTimeout bounds every OS keyring call unless WithTimeout says
// otherwise.
const DefaultTimeout = 3 * time.Second

// Keyring is Secrets over the OS keyring, for one profile. It is safe for
// concurrent use.
type Keyring struct {
	service   string
	profileID string
	timeout   time.Duration
	backend   Backend
	// busy holds a token while an OS call runs, so a hung call never has
	// company.
	busy chan struct{}
}

// Option changes a Keyring made by New.
type Option func(*Keyring)

// WithTimeout sets the time-out of each OS call (DefaultTimeout when d <= 0).
func WithTimeout(d time.Duration) Option {
	return func(k *Keyring) {
		if d > 0 {
			k.timeout = d
		}
	}
}

// WithBackend replaces go-keyring, for tests.
func WithBackend(b Backend) Option { return func(k *Keyring) { k.backend = b } }

// New returns a Keyring that stores entries under service, named
// "<profileID>/<key>". profileID is normally ProfileID(profileDir); it
// must be non-empty and free of '/', or every call fails with
// model.ErrInvalid.
func New(service, profileID string, opts ...Option) *Keyring {
	k := &Keyring{
		service:   service,
		profileID: profileID,
		timeout:   DefaultTimeout,
		backend:   system{},
		busy:      make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// IDFile is the file in a profile folder that keeps the profile's
// keyring name (see PinProfileID).
const IDFile = "keyring-id"

// ProfileID returns the keyring name of the profile in dir: the one kept
// in dir's IDFile, else (a profile never pinned) the first 16 hex digits
// of SHA-256 of dir's absolute, cleaned path.
func ProfileID(dir string) string {
	if id, ok := readProfileID(dir); ok {
		return id
	}
	return pathID(dir)
}

// PinProfileID keeps the profile's keyring name in dir's IDFile, unless it
// holds one already, so that the profile keeps its keyring entries when
// its folder is moved, renamed, restored elsewhere or reached by another
// path. The name is the one ProfileID gave so far, so nothing stored
// under it is lost. dir must exist.
func PinProfileID(dir string) error {
	if _, ok := readProfileID(dir); ok {
		return nil
	}
	f, err := os.CreateTemp(dir, ".keyring-id-*")
	if err != nil {
		return fmt.Errorf("keep the profile's keyring name: %w", err)
	}
	_, err = f.WriteString(pathID(dir) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, IDFile))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("keep the profile's keyring name: %w", err)
	}
	return nil
}

// readProfileID reads dir's IDFile: 16 lowercase hex digits.
func readProfileID(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, IDFile))
	if err != nil {
		return "", false
	}
	id := strings.TrimSpace(string(b))
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	return id, true
}

func pathID(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return hex.EncodeToString(sum[:8])
}

// Get returns the value stored under key, or an error wrapping
// model.ErrNotFound when there is none (see the package doc for the
// others).
func (k *Keyring) Get(ctx context.Context, key string) ([]byte, error) {
	user, err := k.user(key)
	if err != nil {
		return nil, err
	}
	s, err := k.call(ctx, "get", key, func() (string, error) { return k.backend.Get(k.service, user) })
	if err != nil {
		return nil, err
	}
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("keyring entry %s of service %s is not base64 (was it written by another program?): %w", user, k.service, model.ErrInvalid)
	}
	return v, nil
}

// Set stores value under key, replacing any value there.
func (k *Keyring) Set(ctx context.Context, key string, value []byte) error {
	user, err := k.user(key)
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(value)
	_, err = k.call(ctx, "set", key, func() (string, error) { return "", k.backend.Set(k.service, user, enc) })
	return err
}

// Delete removes the value stored under key; an error wraps
// model.ErrNotFound when there was none.
func (k *Keyring) Delete(ctx context.Context, key string) error {
	user, err := k.user(key)
	if err != nil {
		return err
	}
	_, err = k.call(ctx, "delete", key, func() (string, error) { return "", k.backend.Delete(k.service, user) })
	return err
}

// user returns the keyring account name of key.
func (k *Keyring) user(key string) (string, error) {
	if k.profileID == "" || strings.Contains(k.profileID, "/") {
		return "", fmt.Errorf("keyring profile id %q is empty or contains '/': %w", k.profileID, model.ErrInvalid)
	}
	if key == "" {
		return "", fmt.Errorf("empty keyring key: %w", model.ErrInvalid)
	}
	return k.profileID + "/" + key, nil
}

type result struct {
	s   string
	err error
}

// call runs f on its own goroutine, one at a time, and gives up after the
// time-out. It translates go-keyring's errors.
func (k *Keyring) call(ctx context.Context, op, key string, f func() (string, error)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("keyring %s %s: %w", op, key, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	select {
	case k.busy <- struct{}{}:
	case <-ctx.Done():
		return "", k.doneError(parent, op, key, "an earlier call is still waiting for it")
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-k.busy }()
		s, err := f()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, k.translate(op, key, r.err)
	case <-ctx.Done():
		return "", k.doneError(parent, op, key, fmt.Sprintf("no answer within %v (is the keyring locked?)", k.timeout))
	}
}

// doneError explains why call stopped waiting: the caller's context, or
// the time-out.
func (k *Keyring) doneError(parent context.Context, op, key, why string) error {
	if err := parent.Err(); err != nil {
		return fmt.Errorf("keyring %s %s: %w", op, key, err)
	}
	return fmt.Errorf("the system keyring is not available: %s (keyring %s %s): %w", why, op, key, model.ErrUnavailable)
}

func (k *Keyring) translate(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return fmt.Errorf("keyring %s %s: %w", op, key, model.ErrNotFound)
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring %s %s: the system keyring refuses a value this large: %w", op, key, model.ErrTooLarge)
	}
	return fmt.Errorf("the system keyring is not available: %v (keyring %s %s): %w", err, op, key, model.ErrUnavailable)
}

// system is the real go-keyring.
type system struct{}

func (system) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}
func (system) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }
func (system) Delete(service, user string) error        { return gokeyring.Delete(service, user) }
