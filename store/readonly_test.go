package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

// openReadOnly opens dir read-only, with key (nil: none); the caller
// closes.
func openReadOnly(dir string, key []byte) (*store.DB, error) {
	return store.Open(context.Background(), dir, store.Options{Timeout: 200 * time.Millisecond, ReadOnly: true, SecretKey: store.FixedKey(key)})
}

func mustOpenReadOnly(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := openReadOnly(dir, nil)
	if err != nil {
		t.Fatalf("Open(%s) read-only: %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// folderDigest returns the SHA-256 of every file in dir by name (and
// "folder" for a folder), so that a test sees any change in it.
func folderDigest(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			out[e.Name()] = "folder"
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		must(t, err)
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameDigest(t testing.TB, dir string, before map[string]string, when string) {
	t.Helper()
	if after := folderDigest(t, dir); !sameFiles(after, before) {
		t.Errorf("%s, the profile folder changed: %v; before: %v", when, after, before)
	}
}

// setSchema sets the schema version recorded in dir's file.
func setSchema(t testing.TB, dir string, v uint64, drop ...string) {
	t.Helper()
	b, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	must(t, err)
	defer b.Close()
	must(t, b.Update(func(tx *bbolt.Tx) error {
		for _, name := range drop {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, byte(v)})
	}))
}

// schemaOf reads the schema version recorded in dir's file.
func schemaOf(t testing.TB, dir string) uint64 {
	t.Helper()
	b, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, &bbolt.Options{ReadOnly: true})
	must(t, err)
	defer b.Close()
	var v []byte
	must(t, b.View(func(tx *bbolt.Tx) error {
		v = slices.Clone(tx.Bucket([]byte("meta")).Get([]byte("schema")))
		return nil
	}))
	if len(v) != 8 {
		t.Fatalf("schema version %x", v)
	}
	return uint64(v[7])
}

// wantReadOnlyRefusal fails unless err is a write refused because the
// store was opened read-only.
func wantReadOnlyRefusal(t testing.TB, what string, dir string, err error) {
	t.Helper()
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "was opened read-only") || !strings.Contains(err.Error(), dir) {
		t.Errorf("%s on a read-only store = %v; want ErrUnavailable saying the profile %s was opened read-only", what, err, dir)
	}
}

func TestReadOnlyOpenReadsEverythingAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.SetSyncEnabled(ctx, true))
	must(t, db.Apply(ctx, sampleOps(t)...))
	confirmed := nameOp(model.NewID(), "from the server")
	must(t, db.ApplyServerChanges(ctx, []model.Change{{Seq: 1, Kind: confirmed.Kind, ID: confirmed.ID, Fields: confirmed.Fields}}, 1))
	must(t, db.SetSetting(ctx, "theme", "dark"))
	want := servertest.State(t, db)
	wantPending := pendingIDs(t, db)
	wantHistory, err := db.History(ctx, app.HistoryQuery{})
	must(t, err)
	must(t, db.Close())
	before := folderDigest(t, dir)

	ro := mustOpenReadOnly(t, dir)
	if !ro.ReadOnly() || ro.Notice() != "" || ro.SecretsSealed() {
		t.Errorf("ReadOnly() = %v, Notice() = %q, SecretsSealed() = %v; want true, \"\", false", ro.ReadOnly(), ro.Notice(), ro.SecretsSealed())
	}
	var notified atomic.Int32
	defer ro.Subscribe(func(app.Changes) { notified.Add(1) })()

	reads := func(when string) {
		t.Helper()
		if diff := servertest.StateDiff(servertest.State(t, ro), want); diff != "" {
			t.Errorf("%s, the records read differ:\n%s", when, diff)
		}
		if got := pendingIDs(t, ro); !slices.Equal(got, wantPending) {
			t.Errorf("%s, pending ops %v; want %v", when, got, wantPending)
		}
		hs, err := ro.History(ctx, app.HistoryQuery{})
		if err != nil || len(hs) != len(wantHistory) || len(hs) == 0 || hs[0].ID != wantHistory[0].ID {
			t.Errorf("%s, History = %+v, %v; want %+v", when, hs, err, wantHistory)
		}
		if n, err := ro.HistoryCount(ctx); err != nil || n != len(wantHistory) {
			t.Errorf("%s, HistoryCount = %d, %v; want %d", when, n, err, len(wantHistory))
		}
		var theme string
		if err := ro.Setting(ctx, "theme", &theme); err != nil || theme != "dark" {
			t.Errorf("%s, setting theme = %q, %v; want dark", when, theme, err)
		}
		if on, err := ro.SyncEnabled(ctx); err != nil || !on {
			t.Errorf("%s, SyncEnabled = %v, %v; want true", when, on, err)
		}
		if c, err := ro.Cursor(ctx); err != nil || c != 1 {
			t.Errorf("%s, Cursor = %d, %v; want 1", when, c, err)
		}
		if n, err := ro.UnsealedSecrets(ctx); err != nil || n != 1 {
			t.Errorf("%s, UnsealedSecrets = %d, %v; want the sample's 1", when, n, err)
		}
	}
	reads("opened read-only")

	// A copy, which writes elsewhere only, works.
	copyDir := t.TempDir()
	must(t, ro.CopyTo(ctx, filepath.Join(copyDir, store.FileName), "theme"))
	if diff := servertest.StateDiff(servertest.State(t, openStore(t, copyDir)), want); diff != "" {
		t.Errorf("the copy differs:\n%s", diff)
	}

	page, err := ro.PrepareServerChanges([]model.Change{{Seq: 2, Kind: confirmed.Kind, ID: confirmed.ID, Fields: nameOp("", "page").Fields}})
	must(t, err)
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"Apply", func() error { return ro.Apply(ctx, nameOp(model.NewID(), "new")) }},
		{"Apply of a history entry", func() error { return ro.Apply(ctx, historyOp(t, model.NewID(), "GET", "https://new.example/")) }},
		{"SetSetting", func() error { return ro.SetSetting(ctx, "theme", "light") }},
		{"SetSyncEnabled(false)", func() error { return ro.SetSyncEnabled(ctx, false) }},
		{"SetSyncEnabled(true)", func() error { return ro.SetSyncEnabled(ctx, true) }},
		{"ApplyServerChanges", func() error {
			return ro.ApplyServerChanges(ctx, []model.Change{{Seq: 2, Kind: confirmed.Kind, ID: confirmed.ID, Fields: nameOp("", "changed").Fields}}, 2)
		}},
		{"ApplyServerPage", func() error { return ro.ApplyServerPage(ctx, page, 2) }},
		{"AckOps", func() error { return ro.AckOps(ctx, wantPending[:1]) }},
		{"QueueAllLocal", func() error { _, err := ro.QueueAllLocal(ctx); return err }},
		{"DiscardLocal", func() error { return ro.DiscardLocal(ctx) }},
		{"Rebase", func() error { _, err := ro.Rebase(ctx, 1); return err }},
		{"PruneHistory", func() error { _, err := ro.PruneHistory(ctx, 0); return err }},
		{"Compact", func() error {
			did, err := ro.Compact(ctx)
			if did {
				t.Errorf("Compact on a read-only store says it compacted")
			}
			return err
		}},
	} {
		wantReadOnlyRefusal(t, w.name, dir, w.write())
	}
	reads("after the refused writes")
	must(t, ro.Close())
	if n := notified.Load(); n != 0 {
		t.Errorf("subscribers were told of %d commits", n)
	}
	sameDigest(t, dir, before, "after a read-only session")

	// The comparison sees a write: a read-write session changes the file.
	db = openStore(t, dir)
	must(t, db.Apply(ctx, nameOp(model.NewID(), "written")))
	must(t, db.Close())
	if sameFiles(folderDigest(t, dir), before) {
		t.Fatal("a write left the folder's digest as it was: the comparison proves nothing")
	}
}

func TestReadOnlyOpensShareAProfileThatAWriterHoldsAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wantLocked := func(what string, readOnly bool) {
		t.Helper()
		start := time.Now()
		_, err := store.Open(ctx, dir, store.Options{ReadOnly: readOnly, Timeout: 5 * time.Second})
		if !errors.Is(err, store.ErrProfileLocked) || !strings.Contains(err.Error(), "in use by another Courier") {
			t.Fatalf("%s = %v; want ErrProfileLocked saying another Courier uses it", what, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s took %v; want an immediate answer", what, d)
		}
	}
	rw := openStore(t, dir)
	must(t, rw.Apply(ctx, sampleOps(t)...))
	wantLocked("a read-only Open beside a read-write one", true)
	must(t, rw.Close())

	ro1, ro2 := mustOpenReadOnly(t, dir), mustOpenReadOnly(t, dir)
	wantLocked("a read-write Open beside two read-only ones", false)
	must(t, ro1.Close())
	wantLocked("a read-write Open beside the read-only one left", false)
	if n, err := ro2.HistoryCount(ctx); err != nil || n != 1 {
		t.Errorf("the read-only store left: HistoryCount = %d, %v; want 1", n, err)
	}
	must(t, ro2.Close())
	must(t, ro2.Close()) // a second Close releases nothing more
	openStore(t, dir)
	wantLocked("a read-only Open beside the new read-write one", true)
}

func TestReadOnlyOpenBesideAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.Apply(ctx, sampleOps(t)...))
	must(t, db.Close())

	t.Run("a writer there keeps it out", func(t *testing.T) {
		release := holdInAnotherProcess(t, dir, false)
		start := time.Now()
		_, err := store.Open(ctx, dir, store.Options{ReadOnly: true, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, store.ErrProfileLocked) || !strings.Contains(err.Error(), "in use by another Courier") {
			t.Fatalf("read-only Open while another process writes = %v; want ErrProfileLocked saying another Courier uses it", err)
		}
		if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
			t.Errorf("Open took %v; want about the timeout", d)
		}
		release()
		must(t, mustOpenReadOnly(t, dir).Close())
	})
	t.Run("a reader there lets it read and keeps writers out", func(t *testing.T) {
		release := holdInAnotherProcess(t, dir, true)
		ro := mustOpenReadOnly(t, dir)
		if n, err := ro.HistoryCount(ctx); err != nil || n != 1 {
			t.Errorf("HistoryCount beside another reader = %d, %v; want 1", n, err)
		}
		_, err := store.Open(ctx, dir, store.Options{Timeout: 300 * time.Millisecond})
		if !errors.Is(err, store.ErrProfileLocked) {
			t.Fatalf("read-write Open while another process reads = %v; want ErrProfileLocked", err)
		}
		must(t, ro.Close())
		release()
		must(t, openStore(t, dir).Close())
	})
}

func TestReadOnlyOpenNeedsTheKeyOfSealedValues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := newSecretKey(t)
	db := mustOpenWithKey(t, dir, key)
	id := model.NewID()
	must(t, db.Apply(ctx, variableOp(id, "sealed-RO-value", true)))
	must(t, db.Close())
	before := folderDigest(t, dir)

	for name, k := range map[string][]byte{"no key": nil, "another key": newSecretKey(t)} {
		_, err := openReadOnly(dir, k)
		if !errors.Is(err, store.ErrSecretsLocked) || !strings.Contains(err.Error(), "unlock the OS keyring") {
			t.Errorf("read-only Open with %s = %v; want ErrSecretsLocked", name, err)
		}
	}
	calls := 0
	ro, err := store.Open(ctx, dir, store.Options{ReadOnly: true, SecretKey: func(context.Context) ([]byte, error) { calls++; return key, nil }})
	must(t, err)
	if got := valueOf(t, ro, id); got != "sealed-RO-value" || calls != 1 || !ro.SecretsSealed() {
		t.Errorf("value %q, key asked %d times, SecretsSealed %v; want the plain value, once, true", got, calls, ro.SecretsSealed())
	}
	must(t, ro.Close())
	_, err = store.Open(ctx, dir, store.Options{ReadOnly: true, SecretKey: func(context.Context) ([]byte, error) {
		return nil, errors.New("keyring unreachable")
	}})
	if err == nil || !strings.Contains(err.Error(), "keyring unreachable") {
		t.Errorf("read-only Open whose key cannot be read = %v; want that error", err)
	}
	sameDigest(t, dir, before, "after read-only opens")
}

func TestReadOnlyOpenReadsPlainSecretValuesWithoutSealingThem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const marker = "MARKER-plain-RO-4d2e"
	db := openStore(t, dir) // no key: stored plain
	id := model.NewID()
	must(t, db.Apply(ctx, variableOp(id, marker, true)))
	must(t, db.Close())
	before := folderDigest(t, dir)

	calls := 0
	key := newSecretKey(t)
	ro, err := store.Open(ctx, dir, store.Options{ReadOnly: true, SecretKey: func(context.Context) ([]byte, error) { calls++; return key, nil }})
	must(t, err)
	if got := valueOf(t, ro, id); got != marker {
		t.Errorf("value %q; want %q", got, marker)
	}
	if n, err := ro.UnsealedSecrets(ctx); calls != 0 || ro.SecretsSealed() || n != 1 || err != nil {
		t.Errorf("key asked %d times, SecretsSealed %v, UnsealedSecrets %d, %v; want 0, false, 1", calls, ro.SecretsSealed(), n, err)
	}
	must(t, ro.Close())
	sameDigest(t, dir, before, "after a read-only open with a key")
	if !fileHolds(t, dir, marker) {
		t.Fatal("the plain value is not in the file")
	}
	// What the read-only open did not do: a read-write one seals it.
	must(t, mustOpenWithKey(t, dir, key).Close())
	if fileHolds(t, dir, marker) {
		t.Error("a read-write open with a key left the value plain")
	}
}

func TestReadOnlyOpenRefusesAFileThatMustBeWrittenFirst(t *testing.T) {
	ctx := context.Background()
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	profile := func(t *testing.T, dir string) {
		db := openStore(t, dir)
		must(t, db.Apply(ctx, sampleOps(t)...))
		must(t, db.Close())
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string)
		want []string
	}{
		{"an empty file", func(t *testing.T, dir string) { writeFile(t, dir, nil) },
			[]string{"is empty", "must be opened once with write access to be set up", "opened read-only"}},
		{"a database without buckets", func(t *testing.T, dir string) { writeBolt(t, dir, nil) },
			[]string{"never set up", "must be opened once with write access to be set up"}},
		{"schema 1", func(t *testing.T, dir string) { profile(t, dir); setSchema(t, dir, 1, "history", "history_search") },
			[]string{"older Courier (schema 1)", "must be opened once with write access to be upgraded"}},
		{"a newer schema", func(t *testing.T, dir string) { profile(t, dir); setSchema(t, dir, 99) },
			[]string{"newer version of Courier"}},
		{"a damaged file", func(t *testing.T, dir string) { writeFile(t, dir, random) },
			[]string{"is damaged", "opened read-only and left as it is"}},
		{"a file cut short", func(t *testing.T, dir string) {
			profile(t, dir)
			must(t, os.Truncate(filepath.Join(dir, store.FileName), 12<<10))
		}, []string{"is damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			before := folderDigest(t, dir)
			_, err := openReadOnly(dir, nil)
			if !errors.Is(err, model.ErrUnavailable) {
				t.Fatalf("read-only Open = %v; want ErrUnavailable", err)
			}
			for _, w := range append(tc.want, filepath.Join(dir, store.FileName)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			sameDigest(t, dir, before, "after a refused read-only open")
			// Refused, not held: a read-write open (which sets up, upgrades
			// or sets aside) follows at once.
			if db, err := store.Open(ctx, dir, store.Options{}); err == nil {
				must(t, db.Close())
				must(t, mustOpenReadOnly(t, dir).Close())
			}
		})
	}

	t.Run("no file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "profile")
		_, err := openReadOnly(dir, nil)
		if !errors.Is(err, model.ErrUnavailable) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no profile database") {
			t.Errorf("read-only Open of a missing profile = %v; want ErrUnavailable and ErrNotExist saying there is no database", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a read-only open made the folder: %v", err)
		}
	})
}

func TestReadOnlyOpenReadsASchema2FileAsItIs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.Apply(ctx, sampleOps(t)...))
	want := servertest.State(t, db)
	must(t, db.Close())
	setSchema(t, dir, 2) // what a schema 2 Courier wrote: the same, no secret values sealed
	before := folderDigest(t, dir)

	ro := mustOpenReadOnly(t, dir)
	if diff := servertest.StateDiff(servertest.State(t, ro), want); diff != "" {
		t.Errorf("a schema 2 file read-only:\n%s", diff)
	}
	if hs, err := ro.History(ctx, app.HistoryQuery{}); err != nil || len(hs) != 1 {
		t.Errorf("History = %+v, %v; want the sample's entry", hs, err)
	}
	must(t, ro.Close())
	sameDigest(t, dir, before, "after reading a schema 2 file")
	if v := schemaOf(t, dir); v != 2 {
		t.Errorf("schema %d after a read-only open; want 2 as it was", v)
	}
	must(t, openStore(t, dir).Close())
	if v := schemaOf(t, dir); v == 2 {
		t.Error("a read-write open left the schema at 2: the file needed no upgrade")
	}
}
