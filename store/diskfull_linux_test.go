package store_test

import (
	"context"
	"errors"
	"fmt"
	stdmaps "maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

func TestWritesOnAFullDiskFailCleanlyAndKeepEarlierData(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(servertest.MountTmpfs(t, "3m").Dir, "profile")
	db, err := store.Open(ctx, dir, store.Options{})
	must(t, err)
	defer db.Close()
	early := sampleOps(t)
	must(t, db.Apply(ctx, early...))

	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	big[0], big[len(big)-1] = '"', '"'
	var werr error
	saved := 0
	for i := 0; i < 100 && werr == nil; i++ {
		op := historyOp(t, model.NewID(), "GET", "https://big.example/")
		op.Fields["error"] = big
		if werr = db.Apply(ctx, op); werr == nil {
			saved++
		}
	}
	if werr == nil {
		t.Fatal("100 writes of 256 KiB fit in a 3 MiB file system")
	}
	if !errors.Is(werr, model.ErrUnavailable) || !strings.Contains(werr.Error(), "full") {
		t.Fatalf("write on a full disk = %v; want ErrUnavailable saying the disk is full", werr)
	}
	t.Logf("saved %d big entries, then: %v", saved, werr)
	checkReadable := func(db *store.DB) {
		t.Helper()
		for _, op := range early {
			if _, err := db.Get(ctx, op.Kind, op.ID); err != nil {
				t.Errorf("after the failed write, %s is unreadable: %v", op.Kind, err)
			}
		}
		if n, err := db.HistoryCount(ctx); err != nil || n != saved+1 {
			t.Errorf("HistoryCount = %d, %v; want %d", n, err, saved+1)
		}
	}
	checkReadable(db)
	small := model.Op{Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{"name": []byte(`"small"`)}}
	if err := db.Apply(ctx, small); err != nil && !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("a small write after the failure = %v; want success or ErrUnavailable", err)
	}
	must(t, db.Close())

	db, err = store.Open(ctx, dir, store.Options{}) // opening needs no write
	must(t, err)
	defer db.Close()
	checkReadable(db)
}

func TestOpenOnAReadOnlyFileSystemSaysSo(t *testing.T) {
	ctx := context.Background()
	fs := servertest.MountTmpfs(t, "4m")
	mnt := fs.Dir
	dir := filepath.Join(mnt, "profile")
	db, err := store.Open(ctx, dir, store.Options{})
	must(t, err)
	must(t, db.Apply(ctx, sampleOps(t)...))
	must(t, db.Close())
	fs.Remount(t, syscall.MS_RDONLY, "")
	for _, tc := range []struct{ name, dir string }{
		{"existing profile", dir},
		{"new profile", filepath.Join(mnt, "new")},
		{"new file in an existing folder", filepath.Join(dir, "sub")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(ctx, tc.dir, store.Options{})
			if !errors.Is(err, model.ErrUnavailable) || !errors.Is(err, store.ErrNotWritable) || !strings.Contains(err.Error(), "read-only") {
				t.Errorf("Open = %v; want ErrUnavailable and ErrNotWritable saying read-only", err)
			}
		})
	}
}

// A merge into the account that fills the disk half way stops cleanly:
// the chunks committed stay, nothing the user sees changes, and once
// there is room again the rest is queued before the first server change.
func TestAMergeThatFillsTheDiskIsFinishedLater(t *testing.T) {
	defer store.SetQueueChunk(4, 1<<30)()
	ctx := context.Background()
	fs := servertest.MountTmpfs(t, "64m")
	dir := filepath.Join(fs.Dir, "profile")
	db, err := store.Open(ctx, dir, store.Options{})
	must(t, err)
	defer db.Close()
	body := make([]byte, 32<<10)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	body[0], body[len(body)-1] = '"', '"'
	const records = 64
	for range records {
		op := historyOp(t, model.NewID(), "GET", "https://big.example/")
		op.Fields["error"] = body
		must(t, db.Apply(ctx, op))
	}
	before := visibleOf(t, db, model.KindHistory)

	var st syscall.Statfs_t
	must(t, syscall.Statfs(fs.Dir, &st))
	used := (st.Blocks - st.Bfree) * uint64(st.Bsize)
	fs.Remount(t, 0, fmt.Sprint(used+1<<20))
	n, err := db.QueueAllLocal(ctx)
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("QueueAllLocal on a disk that fills = %d, %v; want ErrUnavailable saying the disk is full", n, err)
	}
	t.Logf("queued %d of %d records, then: %v", n, records, err)
	if n == 0 || n >= records {
		t.Fatalf("QueueAllLocal queued %d of %d records before the disk was full; want some but not all", n, records)
	}
	if got := visibleOf(t, db, model.KindHistory); !stdmaps.Equal(got, before) {
		t.Errorf("after the full disk, %d history entries show; want the %d from before, unchanged", len(got), len(before))
	}

	fs.Remount(t, 0, "64m")
	must(t, db.ApplyServerChanges(ctx, []model.Change{nameChange(1, model.NewID(), "server", "")}, 1))
	if c, err := db.PendingCount(ctx); err != nil || c != records {
		t.Errorf("PendingCount once finished = %d, %v; want every record, %d", c, err, records)
	}
	if got := visibleOf(t, db, model.KindHistory); !stdmaps.Equal(got, before) {
		t.Errorf("once finished, %d history entries show; want the %d from before, unchanged", len(got), len(before))
	}
}

func TestReadOnlyOpenReadsAProfileOnAReadOnlyFileSystem(t *testing.T) {
	ctx := context.Background()
	fs := servertest.MountTmpfs(t, "4m")
	dir := filepath.Join(fs.Dir, "profile")
	db, err := store.Open(ctx, dir, store.Options{})
	must(t, err)
	must(t, db.Apply(ctx, sampleOps(t)...))
	want := servertest.State(t, db)
	must(t, db.Close())
	must(t, os.Chmod(filepath.Join(dir, store.FileName), 0o400))
	fs.Remount(t, syscall.MS_RDONLY, "")

	if _, err := store.Open(ctx, dir, store.Options{}); !errors.Is(err, store.ErrNotWritable) {
		t.Fatalf("read-write Open = %v; want ErrNotWritable", err)
	}
	ro, err := store.Open(ctx, dir, store.Options{ReadOnly: true})
	must(t, err)
	if diff := servertest.StateDiff(servertest.State(t, ro), want); diff != "" {
		t.Errorf("read-only, the records differ:\n%s", diff)
	}
	if n, err := ro.HistoryCount(ctx); err != nil || n != 1 {
		t.Errorf("HistoryCount = %d, %v; want 1", n, err)
	}
	// Refused as read-only, before the file system is asked.
	wantReadOnlyRefusal(t, "Apply", dir, ro.Apply(ctx, nameOp(model.NewID(), "new")))
	must(t, ro.Close())

	// No profile there: nothing to read, and no folder can be made.
	_, err = store.Open(ctx, filepath.Join(fs.Dir, "new"), store.Options{ReadOnly: true})
	if !errors.Is(err, model.ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only Open of a profile that is not there = %v; want ErrUnavailable and ErrNotExist", err)
	}
}
