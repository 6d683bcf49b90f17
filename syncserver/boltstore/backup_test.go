package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// A backup taken while pushes wait in the log holds them; it opens as a
// database of its own; a push after it is not in it.
func TestBackupHoldsEveryAcknowledgedPush(t *testing.T) {
	d := openTestDB(t)
	HoldCheckpoints(d)
	ctx := context.Background()
	if err := d.commit(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte("a"), []byte(`{}`)) }); err != nil {
		t.Fatal(err)
	}
	push := func(id string) {
		t.Helper()
		op := []model.Op{{OpID: model.ID("op-" + id), Kind: model.KindRequest, ID: model.ID(id), Fields: model.Fields{"name": json.RawMessage(`"x"`)}}}
		if _, err := d.Push(ctx, "a", op, syncserver.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	push("r1")
	push("r2")
	if !Logged(d) {
		t.Fatal("the pushes were checkpointed; the test needs them in the log")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	n, err := d.BackupFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != n || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want %d bytes, mode 0600", fi, err, n)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 1 {
		t.Fatalf("files beside the backup: %v", names)
	}
	push("r3")

	b, err := Open(path)
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer b.Close()
	chs, err := b.Changes(ctx, "a", 0, 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 || chs[0].ID != "r1" || chs[1].ID != "r2" {
		t.Fatalf("the backup holds %+v, want r1 and r2", chs)
	}
	if h, err := d.Head(ctx, "a"); err != nil || h != 3 {
		t.Fatalf("head of the live store = %d, %v; want 3", h, err)
	}

	// Put back, the copy goes on past a gap: a cursor in it counts in the
	// stream the live store went on with (r3 at seq 3), so it is foreign.
	if h, err := b.Head(ctx, "a"); err != nil || h != 2+copyGap {
		t.Fatalf("head of the copy = %d, %v; want 2 + the gap", h, err)
	}
	for cursor, want := range map[uint64]bool{0: false, 2: false, 3: true, 2 + copyGap: true, 3 + copyGap: false} {
		if cursor == 3+copyGap {
			op := []model.Op{{OpID: "op-r4", Kind: model.KindRequest, ID: "r4", Fields: model.Fields{"name": json.RawMessage(`"y"`)}}}
			if res, err := b.Push(ctx, "a", op, syncserver.Quota{}); err != nil || res.Head != 3+copyGap {
				t.Fatalf("push to the copy = %+v, %v; want seq %d", res, err, 3+copyGap)
			}
		}
		if got, err := b.ForeignCursor(ctx, "a", cursor); err != nil || got != want {
			t.Errorf("ForeignCursor(%d) = %v, %v; want %v", cursor, got, err, want)
		}
	}
	if live, copied := logID(t, d), logID(t, b); bytes.Equal(live, copied) {
		t.Error("the copy kept the live file's log id: the live log would replay into it")
	}
}

func logID(t *testing.T, d *DB) []byte {
	t.Helper()
	var id []byte
	if err := d.db.View(func(tx *bbolt.Tx) error { id = bytes.Clone(tx.Bucket(bMeta).Get(kLogID)); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBackupToAFolderThatIsNotThereFailsAndLeavesNothing(t *testing.T) {
	d := openTestDB(t)
	path := filepath.Join(t.TempDir(), "missing", "backup.db")
	if _, err := d.BackupFile(context.Background(), path); err == nil {
		t.Fatal("a backup into a missing folder succeeded")
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Fatalf("the folder appeared: %v", err)
	}
}

// A file put back from a plain copy is marked once after the restore, as
// BackupFile marks its copies.
func TestMarkRestoredMovesTheStreamsPastAGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.commit(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte("a"), []byte(`{}`)) }); err != nil {
		t.Fatal(err)
	}
	op := func(id string) []model.Op {
		return []model.Op{{OpID: model.ID("op-" + id), Kind: model.KindRequest, ID: model.ID(id), Fields: model.Fields{"name": json.RawMessage(`"x"`)}}}
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := d.Push(ctx, "a", op(id), syncserver.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.MarkRestored(ctx); err != nil || n != 1 {
		t.Fatalf("MarkRestored = %d, %v; want 1 account", n, err)
	}
	if res, err := d.Push(ctx, "a", op("r3"), syncserver.Quota{}); err != nil || res.Head != 3+copyGap {
		t.Fatalf("push after the mark = %+v, %v; want seq %d", res, err, 3+copyGap)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for cursor, want := range map[uint64]bool{2: false, 3: true, 2 + copyGap: true, 3 + copyGap: false} {
		if got, err := d.ForeignCursor(ctx, "a", cursor); err != nil || got != want {
			t.Errorf("ForeignCursor(%d) = %v, %v; want %v", cursor, got, err, want)
		}
	}
	chs, err := d.Changes(ctx, "a", 2, 10, 1<<20)
	if err != nil || len(chs) != 1 || chs[0].ID != "r3" {
		t.Fatalf("changes after 2 = %+v, %v; want r3 past the gap", chs, err)
	}
}
