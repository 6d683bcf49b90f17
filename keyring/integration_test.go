//go:build keyring_integration

// This test needs a real, unlocked Secret Service (see the package doc). It
// fails, never skips, when none is reachable: whoever builds with the tag
// has promised one.

package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/model"
)

func TestIntegrationSecretService(t *testing.T) {
	ctx := context.Background()
	service := testService()
	a := New(service, ProfileID(t.TempDir()))
	b := New(service, ProfileID(t.TempDir()))
	const key = "account/01HZYINTEGRATION/key"
	t.Cleanup(func() {
		_ = a.Delete(context.Background(), key)
		_ = b.Delete(context.Background(), key)
	})

	if _, err := a.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("no usable Secret Service (run under dbus-run-session with gnome-keyring unlocked): Get = %v, want model.ErrNotFound", err)
	}

	first := make([]byte, 32)
	_, _ = rand.Read(first)
	first[0], first[1] = 0, 0xff // binary, not text
	mustSet(t, a, key, first)
	mustGet(t, a, key, first)

	// stored as documented: service, "<profile>/<key>", base64
	raw, err := gokeyring.Get(service, a.profileID+"/"+key)
	if err != nil || raw != base64.StdEncoding.EncodeToString(first) {
		t.Errorf("raw entry = %q, %v; want base64 of the value under profile/key", raw, err)
	}

	second := []byte("overwritten value")
	mustSet(t, a, key, second)
	mustGet(t, a, key, second)

	// another profile on the same machine sees nothing of a's
	if _, err := b.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("profile b reads profile a's entry: err = %v", err)
	}
	mustSet(t, b, key, []byte("b's value"))
	mustGet(t, a, key, second)

	if err := a.Delete(ctx, key); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := a.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want model.ErrNotFound", err)
	}
	if err := a.Delete(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("second Delete = %v, want model.ErrNotFound", err)
	}
	mustGet(t, b, key, []byte("b's value"))
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("Delete b = %v", err)
	}

	f := NewFallback(a, NewMemory())
	if !f.Probe(ctx) {
		t.Errorf("Fallback over a working Secret Service is not persistent: %v", f.Reason())
	}
}

func mustSet(t *testing.T, k *Keyring, key string, v []byte) {
	t.Helper()
	if err := k.Set(context.Background(), key, v); err != nil {
		t.Fatalf("Set = %v", err)
	}
}

func mustGet(t *testing.T, k *Keyring, key string, want []byte) {
	t.Helper()
	got, err := k.Get(context.Background(), key)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

// testService returns a service name of the test's own, so that it
// touches no other entry of the keyring.
func testService() string {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	return "courier-integration-test-" + hex.EncodeToString(suffix)
}
