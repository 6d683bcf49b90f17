package keyring

import (
	"context"
	"errors"
	"sync"

	"github.com/courierapp/courier/model"
)

// Fallback is Secrets that uses the OS keyring when it can and memory when
// it cannot. The first call that reaches the keyring decides for the whole
// run:
//   - the keyring answers (a value, or model.ErrNotFound): every later call
//     goes to it, and a later model.ErrUnavailable (a time-out, say) is
//     returned to the caller rather than silently dropping persistence;
//   - the keyring is unavailable (model.ErrUnavailable): that call and
//     every later one go to memory, Persistent reports false and Reason
//     says why, so the app can tell the user nothing is saved.
//
// Calls that fail before reaching the keyring (a cancelled context, an
// empty key) decide nothing. Fallback is safe for concurrent use; calls
// wait for the deciding call to finish; Persistent and Reason never wait.
type Fallback struct {
	primary, memory Secrets

	// deciding is held by the call that makes the decision, so others
	// wait for it; mu guards the outcome and is never held across a call,
	// so Persistent never blocks.
	deciding sync.Mutex
	mu       sync.Mutex
	state    fallbackState
	reason   error
}

type fallbackState int

const (
	undecided fallbackState = iota
	usePrimary
	useMemory
)

// probeKey is read by Probe; it is never written.
const probeKey = "keyring-probe"

// NewFallback returns a Fallback over primary (normally a *Keyring) and
// memory (normally NewMemory()).
func NewFallback(primary, memory Secrets) *Fallback {
	return &Fallback{primary: primary, memory: memory}
}

// Get reads key from the store chosen for this run.
func (f *Fallback) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := f.route(func(s Secrets) error {
		var err error
		v, err = s.Get(ctx, key)
		return err
	})
	return v, err
}

// Set writes key to the store chosen for this run.
func (f *Fallback) Set(ctx context.Context, key string, value []byte) error {
	return f.route(func(s Secrets) error { return s.Set(ctx, key, value) })
}

// Delete removes key from the store chosen for this run.
func (f *Fallback) Delete(ctx context.Context, key string) error {
	return f.route(func(s Secrets) error { return s.Delete(ctx, key) })
}

// Probe makes the decision now, by reading an entry that is never
// written, and returns Persistent(). Call it at start-up to tell the user
// early; it is not needed otherwise.
func (f *Fallback) Probe(ctx context.Context) bool {
	_, _ = f.Get(ctx, probeKey)
	return f.Persistent()
}

// Persistent reports whether secrets are kept in the OS keyring: false
// once the keyring was found unavailable (secrets then last for this run
// only), true otherwise, including before the first call.
func (f *Fallback) Persistent() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state != useMemory
}

// Reason returns the error that made Fallback use memory, or nil.
func (f *Fallback) Reason() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reason
}

// route runs op on the chosen store, choosing it on the first call that
// reaches the keyring.
func (f *Fallback) route(op func(Secrets) error) error {
	if s := f.chosen(); s != nil {
		return op(s)
	}
	f.deciding.Lock()
	defer f.deciding.Unlock()
	if s := f.chosen(); s != nil { // decided while this call waited
		return op(s)
	}
	err := op(f.primary)
	switch {
	case errors.Is(err, model.ErrUnavailable):
		f.set(useMemory, err)
		return op(f.memory)
	case err == nil, errors.Is(err, model.ErrNotFound), errors.Is(err, model.ErrTooLarge):
		f.set(usePrimary, nil)
	}
	return err
}

// chosen returns the store decided on, or nil.
func (f *Fallback) chosen() Secrets {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.state {
	case usePrimary:
		return f.primary
	case useMemory:
		return f.memory
	}
	return nil
}

func (f *Fallback) set(state fallbackState, reason error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.reason = state, reason
}
