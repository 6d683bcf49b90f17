//go:build !keyring_integration

package keyring

import (
	"bytes"
	"context"
	"errors"
	"testing"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/model"
)

func TestLoadOrCreateKey(t *testing.T) {
	ctx := context.Background()
	const name = "store/secret-key"
	t.Run("creates a key once and returns it after", func(t *testing.T) {
		gokeyring.MockInit()
		f := NewFallback(New(testService, "pk1"), NewMemory())
		k1, created, err := LoadOrCreateKey(ctx, f, name, 32)
		if err != nil || !created || len(k1) != 32 {
			t.Fatalf("first call = %x, %v, %v; want a new 32-byte key", k1, created, err)
		}
		f2 := NewFallback(New(testService, "pk1"), NewMemory()) // a later run
		k2, created, err := LoadOrCreateKey(ctx, f2, name, 32)
		if err != nil || created || !bytes.Equal(k1, k2) {
			t.Fatalf("second call = %x, %v, %v; want the same key, not created", k2, created, err)
		}
	})
	t.Run("gives no key when only memory is left", func(t *testing.T) {
		gokeyring.MockInitWithError(errors.New("dbus: no session bus"))
		defer gokeyring.MockInit()
		f := NewFallback(New(testService, "pk2"), NewMemory())
		k, created, err := LoadOrCreateKey(ctx, f, name, 32)
		if k != nil || created || err != nil {
			t.Fatalf("LoadOrCreateKey = %x, %v, %v; want no key, no error", k, created, err)
		}
		if _, err := f.Get(ctx, name); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("a key was kept in memory: %v", err)
		}
	})
	t.Run("refuses an entry of the wrong size and keeps it", func(t *testing.T) {
		gokeyring.MockInit()
		k := New(testService, "pk3")
		if err := k.Set(ctx, name, []byte("short")); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateKey(ctx, NewFallback(k, NewMemory()), name, 32)
		if !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("err = %v; want model.ErrInvalid", err)
		}
		if v, _ := k.Get(ctx, name); string(v) != "short" {
			t.Errorf("entry now %q; want it kept", v)
		}
	})
}
