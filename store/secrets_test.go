package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

func newSecretKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, store.SecretKeySize)
	_, _ = rand.Read(k)
	return k
}

// openWithKey opens dir with key (nil: none); the caller closes.
func openWithKey(t testing.TB, dir string, key []byte) (*store.DB, error) {
	t.Helper()
	return store.Open(context.Background(), dir, store.Options{Timeout: 200 * time.Millisecond, SecretKey: store.FixedKey(key)})
}

func mustOpenWithKey(t testing.TB, dir string, key []byte) *store.DB {
	t.Helper()
	db, err := openWithKey(t, dir, key)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return db
}

// variableOp sets fields of variable id; value "" leaves the value out.
func variableOp(id model.ID, value string, secret bool) model.Op {
	f := model.Fields{
		"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(`"token"`),
		"enabled": json.RawMessage("true"), "secret": json.RawMessage(map[bool]string{true: "true", false: "false"}[secret]),
	}
	if value != "" {
		f["value"], _ = json.Marshal(value)
	}
	return model.Op{OpID: model.NewID(), Kind: model.KindVariable, ID: id, Fields: f}
}

func secretFlagOp(id model.ID, secret bool) model.Op {
	op := variableOp(id, "", secret)
	op.Fields = model.Fields{"secret": op.Fields["secret"]}
	return op
}

// fileHolds reports whether the profile's database file contains s.
func fileHolds(t testing.TB, dir, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, store.FileName))
	must(t, err)
	return bytes.Contains(b, []byte(s))
}

func valueOf(t testing.TB, db *store.DB, id model.ID) string {
	t.Helper()
	r, err := db.Get(context.Background(), model.KindVariable, id)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	var s string
	if err := json.Unmarshal(r.Fields["value"], &s); err != nil {
		return "<not JSON: " + string(r.Fields["value"]) + ">"
	}
	return s
}

func echo(seq uint64, op model.Op) model.Change {
	return model.Change{Seq: seq, Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID}
}

func TestSecretValuesAreNeverStoredInPlainText(t *testing.T) {
	ctx := context.Background()
	const marker = "MARKER-s3cr3t-7f1c"
	tests := []struct {
		name string
		// write leaves the marker in variable id; the file must hold it
		// in plain text only when plain is set.
		write func(t *testing.T, db *store.DB, id model.ID)
		plain bool
		want  string // the visible value; "" means the marker
	}{
		{"a local write without sync, in confirmed", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, marker, true)))
		}, false, ""},
		{"a local edit with sync, in the outbox and visible", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.Apply(ctx, variableOp(id, marker, true)))
		}, false, ""},
		{"a local edit of the value only, in the outbox", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, "first", true)))
			_, err := db.QueueAllLocal(ctx)
			must(t, err)
			op := model.Op{OpID: model.NewID(), Kind: model.KindVariable, ID: id, Fields: model.Fields{"value": json.RawMessage(`"` + marker + `"`)}}
			must(t, db.Apply(ctx, op))
		}, false, ""},
		{"a local edit the server page confirmed", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			op := variableOp(id, marker, true)
			must(t, db.Apply(ctx, op))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(1, op)}, 1))
			if n, _ := db.PendingCount(ctx); n != 0 {
				t.Fatalf("%d ops pending after the echo", n)
			}
		}, false, ""},
		{"another device's change from a server page", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(1, variableOp(id, marker, true))}, 1))
		}, false, ""},
		{"a page prepared ahead of its transaction", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			page, err := db.PrepareServerChanges([]model.Change{echo(1, variableOp(id, marker, true))})
			must(t, err)
			must(t, db.ApplyServerPage(ctx, page, 1))
		}, false, ""},
		{"a page prepared by another profile's store, with another key", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			other := mustOpenWithKey(t, t.TempDir(), newSecretKey(t))
			defer other.Close()
			page, err := other.PrepareServerChanges([]model.Change{echo(1, variableOp(id, marker, true))})
			must(t, err)
			must(t, db.ApplyServerPage(ctx, page, 1))
		}, false, ""},
		{"pages prepared ahead, joined into one transaction", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			p1, err := db.PrepareServerChanges([]model.Change{echo(1, variableOp(id, "first", true))})
			must(t, err)
			p2, err := db.PrepareServerChanges([]model.Change{echo(2, variableOp(id, marker, true))})
			must(t, err)
			page, err := db.JoinServerPages([]app.ServerPage{p1, p2})
			must(t, err)
			must(t, db.ApplyServerPage(ctx, page, 2))
		}, false, ""},
		{"a page of another profile's store joined with one of this store", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			other := mustOpenWithKey(t, t.TempDir(), newSecretKey(t))
			defer other.Close()
			p1, err := other.PrepareServerChanges([]model.Change{echo(1, variableOp(id, marker, true))})
			must(t, err)
			p2, err := db.PrepareServerChanges([]model.Change{echo(2, variableOp(model.NewID(), marker, true))})
			must(t, err)
			page, err := db.JoinServerPages([]app.ServerPage{p1, p2})
			must(t, err)
			must(t, db.ApplyServerPage(ctx, page, 2))
		}, false, ""},
		{"a server change under a pending op", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.Apply(ctx, variableOp(id, "mine", true)))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(1, variableOp(id, marker, true))}, 1))
		}, false, "mine"},
		{"a plain value made secret", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, marker, false)))
			must(t, db.Apply(ctx, secretFlagOp(id, true)))
		}, false, ""},
		{"a plain value made secret with sync, then confirmed", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(1, variableOp(id, marker, false))}, 1))
			op := secretFlagOp(id, true)
			must(t, db.Apply(ctx, op))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(2, op)}, 2))
		}, false, ""},
		{"a secret made plain and secret again", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, marker, true)))
			must(t, db.Apply(ctx, secretFlagOp(id, false)))
			must(t, db.Apply(ctx, secretFlagOp(id, true)))
		}, false, ""},
		{"a plain pending copy replaced by a sealed confirmed record", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(1, variableOp(id, marker, true))}, 1))
			mine := secretFlagOp(id, false)
			must(t, db.Apply(ctx, mine))
			must(t, db.ApplyServerChanges(ctx, []model.Change{echo(2, mine), echo(3, secretFlagOp(id, true))}, 3))
		}, false, ""},
		{"sync turned off folds the sealed outbox", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, db.Apply(ctx, variableOp(id, marker, true)))
			must(t, db.SetSyncEnabled(ctx, false))
		}, false, ""},
		{"a secret made plain is stored plain (the control)", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, marker, true)))
			must(t, db.Apply(ctx, secretFlagOp(id, false)))
		}, true, ""},
		{"a plain variable is stored plain (the control)", func(t *testing.T, db *store.DB, id model.ID) {
			must(t, db.Apply(ctx, variableOp(id, marker, false)))
		}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, key, id := t.TempDir(), newSecretKey(t), model.NewID()
			db := mustOpenWithKey(t, dir, key)
			if !db.SecretsSealed() {
				t.Error("SecretsSealed = false with a key")
			}
			tt.write(t, db, id)
			want := tt.want
			if want == "" {
				want = marker
			}
			if got := valueOf(t, db, id); got != want {
				t.Errorf("value read back = %q; want %q", got, want)
			}
			must(t, db.Close())
			if got := fileHolds(t, dir, marker); got != tt.plain {
				t.Fatalf("courier.db holds the value in plain text: %v; want %v", got, tt.plain)
			}
			db = mustOpenWithKey(t, dir, key)
			defer db.Close()
			if got := valueOf(t, db, id); got != want {
				t.Errorf("value after reopening with the key = %q; want %q", got, want)
			}
			ops, err := db.PendingOps(ctx, 0)
			must(t, err)
			for _, op := range ops {
				if v, ok := op.Fields["value"]; ok && !json.Valid(v) {
					t.Errorf("pending op value %q is not plain JSON", v)
				}
			}
		})
	}
}

// TestOpeningWithoutTheKeyFailsAndChangesNothing seals a profile's first
// secret value, from a local edit or from a server page prepared ahead of
// its transaction, and opens the profile without its key.
func TestOpeningWithoutTheKeyFailsAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	for _, first := range []struct {
		name  string
		write func(db *store.DB, id model.ID) error
	}{
		{"a local edit", func(db *store.DB, id model.ID) error {
			return db.Apply(ctx, variableOp(id, "hunter2", true))
		}},
		{"a prepared server page", func(db *store.DB, id model.ID) error {
			page, err := db.PrepareServerChanges([]model.Change{echo(1, variableOp(id, "hunter2", true))})
			if err != nil {
				return err
			}
			return db.ApplyServerPage(ctx, page, 1)
		}},
	} {
		t.Run(first.name, func(t *testing.T) {
			dir, key, id := t.TempDir(), newSecretKey(t), model.NewID()
			db := mustOpenWithKey(t, dir, key)
			must(t, db.SetSyncEnabled(ctx, true))
			must(t, first.write(db, id))
			must(t, db.Close())
			before, err := os.ReadFile(filepath.Join(dir, store.FileName))
			must(t, err)

			for _, tt := range []struct {
				name string
				key  []byte
			}{{"no key", nil}, {"another key", newSecretKey(t)}} {
				t.Run(tt.name, func(t *testing.T) {
					db, err := openWithKey(t, dir, tt.key)
					if err == nil {
						db.Close()
						t.Fatal("Open succeeded")
					}
					if !errors.Is(err, store.ErrSecretsLocked) || !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "unlock the OS keyring") {
						t.Errorf("Open error = %v; want ErrSecretsLocked, model.ErrUnavailable, naming the remedy", err)
					}
					after, err := os.ReadFile(filepath.Join(dir, store.FileName))
					must(t, err)
					if !bytes.Equal(before, after) {
						t.Error("the failed Open changed the file")
					}
				})
			}
			db = mustOpenWithKey(t, dir, key)
			defer db.Close()
			if got := valueOf(t, db, id); got != "hunter2" {
				t.Errorf("value with the right key = %q", got)
			}
		})
	}
}

func TestOpeningAPlainProfileWithAKeySealsIt(t *testing.T) {
	ctx := context.Background()
	const m1, m2 = "MARKER-confirmed-91", "MARKER-pending-92"
	dir, key := t.TempDir(), newSecretKey(t)
	a, b := model.NewID(), model.NewID()
	db := mustOpenWithKey(t, dir, nil)
	if db.SecretsSealed() {
		t.Error("SecretsSealed = true without a key")
	}
	must(t, db.Apply(ctx, variableOp(a, m1, true)))
	must(t, db.Apply(ctx, variableOp(b, "old", false)))
	_, err := db.QueueAllLocal(ctx)
	must(t, err)
	must(t, db.Apply(ctx, variableOp(b, m2, true)))
	if n, err := db.UnsealedSecrets(ctx); n != 2 || err != nil {
		t.Errorf("UnsealedSecrets = %d, %v; want 2", n, err)
	}
	must(t, db.Close())
	if !fileHolds(t, dir, m1) || !fileHolds(t, dir, m2) {
		t.Fatal("the plain profile does not hold its values in plain text: the test proves nothing")
	}

	db = mustOpenWithKey(t, dir, key)
	if n, err := db.UnsealedSecrets(ctx); n != 0 || err != nil {
		t.Errorf("UnsealedSecrets after sealing = %d, %v; want 0", n, err)
	}
	must(t, db.Close())
	for _, m := range []string{m1, m2} {
		if fileHolds(t, dir, m) {
			t.Errorf("courier.db still holds %s in plain text after sealing", m)
		}
	}
	db = mustOpenWithKey(t, dir, key) // the second open finds nothing to do
	if valueOf(t, db, a) != m1 || valueOf(t, db, b) != m2 {
		t.Errorf("values after sealing = %q, %q", valueOf(t, db, a), valueOf(t, db, b))
	}
	must(t, db.Close())
	if _, err := openWithKey(t, dir, nil); !errors.Is(err, store.ErrSecretsLocked) {
		t.Errorf("Open without the key after sealing = %v; want ErrSecretsLocked", err)
	}
}

// Sealing at Open that cannot wipe the plain copies says so in Notice.
func TestSealingThatCannotWipeThePlainCopiesSaysSo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenWithKey(t, dir, nil)
	must(t, db.Apply(ctx, variableOp(model.NewID(), "MARKER-plain-93", true)))
	must(t, db.Close())
	defer store.SetScrubFailure(errors.New("disk on fire"))()
	db = mustOpenWithKey(t, dir, newSecretKey(t))
	defer db.Close()
	if n := db.Notice(); !strings.Contains(n, "could not overwrite their unencrypted copies") || !strings.Contains(n, "disk on fire") {
		t.Errorf("Notice = %q; want it to say the plain copies stay", n)
	}
}

func TestAProfileWithoutSecretsOpensWithoutItsKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenWithKey(t, dir, newSecretKey(t))
	must(t, db.Apply(ctx, variableOp(model.NewID(), "plain", false), nameOp(model.NewID(), "a request")))
	must(t, db.Close())
	db, err := openWithKey(t, dir, nil)
	if err != nil {
		t.Fatalf("Open without a key of a profile that never sealed a value: %v", err)
	}
	must(t, db.Close())
}

func TestASecretKeyOfTheWrongLengthIsRefused(t *testing.T) {
	_, err := openWithKey(t, t.TempDir(), []byte("short"))
	if !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Open with a 5-byte key = %v; want model.ErrInvalid", err)
	}
}
