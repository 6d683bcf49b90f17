package keyring

import (
	"context"
	"fmt"
	"sync"

	"github.com/courierapp/courier/model"
)

// Memory is Secrets in memory, for a run without an OS keyring: values
// live until the process exits. Get returns a copy and Set stores one. The
// zero value is ready to use and safe for concurrent use.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{} }

// Get returns the value of key, or an error wrapping model.ErrNotFound.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory secret get %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	if !ok {
		return nil, fmt.Errorf("memory secret %s: %w", key, model.ErrNotFound)
	}
	return append([]byte{}, v...), nil
}

// Set stores a copy of value under key; an empty key is model.ErrInvalid.
func (m *Memory) Set(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory secret set %s: %w", key, err)
	}
	if key == "" {
		return fmt.Errorf("empty secret key: %w", model.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string][]byte)
	}
	m.m[key] = append([]byte{}, value...)
	return nil
}

// Delete removes key, or returns an error wrapping model.ErrNotFound.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory secret delete %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[key]; !ok {
		return fmt.Errorf("memory secret %s: %w", key, model.ErrNotFound)
	}
	delete(m.m, key)
	return nil
}
