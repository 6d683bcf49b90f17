//go:build keyring_integration

package keyring

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// TestIntegrationProfileKeySealsAProfile: a store key created in the real
// Secret Service seals a profile's secret value, and a later run (a new
// Fallback) reads the key back and opens the profile.
func TestIntegrationProfileKeySealsAProfile(t *testing.T) {
	ctx := context.Background()
	service := testService()
	dir := t.TempDir()
	const name, marker = "store/secret-key", "MARKER-integration-secret"
	run := func() *Fallback { return NewFallback(New(service, ProfileID(dir)), NewMemory()) }
	t.Cleanup(func() { _ = New(service, ProfileID(dir)).Delete(context.Background(), name) })
	open := func(f *Fallback) (*store.DB, error) {
		return store.Open(ctx, dir, store.Options{SecretKey: func(ctx context.Context) ([]byte, error) {
			k, _, err := LoadOrCreateKey(ctx, f, name, store.SecretKeySize)
			return k, err
		}})
	}

	f := run()
	db, err := open(f)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Persistent() || !db.SecretsSealed() {
		t.Fatalf("no usable Secret Service (run under dbus-run-session with gnome-keyring unlocked): %v", f.Reason())
	}
	id := model.NewID()
	err = db.Apply(ctx, model.Op{Kind: model.KindVariable, ID: id, Fields: model.Fields{
		"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(`"token"`),
		"value": json.RawMessage(`"` + marker + `"`), "secret": json.RawMessage("true"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil || bytes.Contains(raw, []byte(marker)) {
		t.Fatalf("courier.db holds the secret value in plain text (read: %v)", err)
	}

	db, err = open(run())
	if err != nil {
		t.Fatalf("reopen with the key from the keyring: %v", err)
	}
	defer db.Close()
	r, err := db.Get(ctx, model.KindVariable, id)
	if err != nil || string(r.Fields["value"]) != `"`+marker+`"` {
		t.Errorf("value after reopening = %s, %v", r.Fields["value"], err)
	}
}
