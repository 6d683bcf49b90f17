//go:build unix

package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

// bigHistory writes n history entries of 256 KiB each to db and returns
// their ids.
func bigHistory(t testing.TB, db *store.DB, n int) []model.ID {
	t.Helper()
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	big[0], big[len(big)-1] = '"', '"'
	ids := make([]model.ID, n)
	for i := range ids {
		ids[i] = model.NewID()
		op := historyOp(t, ids[i], "GET", "https://big.example/")
		op.Fields["error"] = big
		must(t, db.Apply(context.Background(), op))
	}
	return ids
}

// deleteHistory deletes the history entries ids, as clearing history does.
func deleteHistory(t testing.TB, db *store.DB, ids []model.ID) {
	t.Helper()
	ops := make([]model.Op, len(ids))
	for i, id := range ids {
		ops[i] = model.DeleteOp(model.KindHistory, id)
	}
	must(t, db.Apply(context.Background(), ops...))
}

// fileSize is the disk space path takes: bbolt grows its file by
// truncating, in steps of 16 MiB, and the room not yet written takes none.
func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// contents is what a compaction must keep: the visible records, the
// pending ops in order, and the cursor.
type contents struct {
	state   map[string]string
	pending []model.ID
	cursor  uint64
}

func contentsOf(t *testing.T, db *store.DB) contents {
	t.Helper()
	cursor, err := db.Cursor(context.Background())
	must(t, err)
	return contents{servertest.State(t, db), pendingIDs(t, db), cursor}
}

func (c contents) check(t *testing.T, db *store.DB, when string) {
	t.Helper()
	got := contentsOf(t, db)
	if len(got.state) != len(c.state) || !slices.Equal(got.pending, c.pending) || got.cursor != c.cursor {
		t.Fatalf("%s: %d records, pending %v, cursor %d; want %d records, pending %v, cursor %d",
			when, len(got.state), got.pending, got.cursor, len(c.state), c.pending, c.cursor)
	}
	for k, v := range c.state {
		if got.state[k] != v {
			t.Fatalf("%s: %s is %s; want %s", when, k, got.state[k], v)
		}
	}
}

// testCompaction makes the tests' files of 5 MiB of history worth
// compacting, as 32 MiB are in use, up to 4 MiB live.
func testCompaction(t *testing.T) {
	t.Cleanup(store.SetCompactLimits(1<<20, 4<<20))
}

// testHistory is the entries (of 256 KiB) the tests delete.
const testHistory = 20

func TestCompactGivesBackTheRoomOfDeletedHistory(t *testing.T) {
	testCompaction(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, dir, store.Options{})
	must(t, err)
	defer func() { _ = db.Close() }()
	must(t, db.SetSyncEnabled(ctx, true))
	must(t, db.Apply(ctx, sampleOps(t)...))
	sample := pendingIDs(t, db)
	deleteHistory(t, db, bigHistory(t, db, testHistory))
	// The history's ops reached the server; the sample's are pending.
	must(t, db.AckOps(ctx, pendingIDs(t, db)[len(sample):]))
	want := contentsOf(t, db)
	if !slices.Equal(want.pending, sample) {
		t.Fatalf("pending %v; want the sample's ops %v", want.pending, sample)
	}
	path := filepath.Join(dir, store.FileName)
	full := fileSize(t, path)

	did, err := db.Compact(ctx)
	if err != nil || !did {
		t.Fatalf("Compact = %v, %v; want a compaction of %d bytes mostly free", did, err, full)
	}
	if small := fileSize(t, path); small > full/4 {
		t.Errorf("the file is %d bytes after compaction, %d before; want at most a quarter", small, full)
	}
	want.check(t, db, "after compaction")
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the compaction's copy is still there: %v", err)
	}

	// The outbox keeps counting where it was: a new op comes after the
	// others.
	last := nameOp(model.NewID(), "after compaction")
	must(t, db.Apply(ctx, last))
	want = contentsOf(t, db)
	if n := len(want.pending); n == 0 || want.pending[n-1] != last.OpID {
		t.Fatalf("pending after a new op: %v; want %s last", want.pending, last.OpID)
	}
	if did, err := db.Compact(ctx); err != nil || did {
		t.Fatalf("a second Compact = %v, %v; want nothing to do", did, err)
	}
	must(t, db.Close())
	db = openStore(t, dir)
	want.check(t, db, "reopened")
}

// clearedProfile opens a profile in a new folder, holding the sample's
// records and the room of deleted history entries, and returns it with
// its file's path and size, and its contents.
func clearedProfile(t *testing.T) (*store.DB, string, int64, contents) {
	t.Helper()
	testCompaction(t)
	dir := t.TempDir()
	db := openStore(t, dir)
	must(t, db.Apply(context.Background(), sampleOps(t)...))
	deleteHistory(t, db, bigHistory(t, db, testHistory))
	path := filepath.Join(dir, store.FileName)
	return db, path, fileSize(t, path), contentsOf(t, db)
}

func TestOpenCompactsAMostlyFreeFileAndRemovesAnUnfinishedCopy(t *testing.T) {
	db, path, full, want := clearedProfile(t)
	must(t, db.Close())
	// A compaction that died half way left its copy.
	must(t, os.WriteFile(path+".compact", []byte("half a copy"), 0o600))

	db = openStore(t, filepath.Dir(path))
	if small := fileSize(t, path); small > full/4 {
		t.Errorf("the file is %d bytes after Open, %d before; want it compacted", small, full)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the unfinished copy is still there: %v", err)
	}
	want.check(t, db, "after Open compacted")
}

func TestAFailedCompactionLeavesTheStoreAsItWas(t *testing.T) {
	ctx := context.Background()
	db, path, full, want := clearedProfile(t)
	// Something the compaction cannot remove holds its copy's name.
	must(t, os.MkdirAll(filepath.Join(path+".compact", "x"), 0o700))

	if did, err := db.Compact(ctx); err == nil || did {
		t.Fatalf("Compact with its copy's name taken = %v, %v; want an error", did, err)
	}
	if got := fileSize(t, path); got != full {
		t.Errorf("the file is %d bytes after a failed compaction; want %d as before", got, full)
	}
	want.check(t, db, "after a failed compaction")
	op := nameOp(model.NewID(), "written after")
	must(t, db.Apply(ctx, op))
	if _, err := db.Get(ctx, op.Kind, op.ID); err != nil {
		t.Fatalf("a write after a failed compaction: %v", err)
	}
	must(t, os.RemoveAll(path+".compact"))
	if did, err := db.Compact(ctx); err != nil || !did {
		t.Fatalf("Compact once the name is free = %v, %v", did, err)
	}
}

// BenchmarkEditAfterClearingHistory: one small edit, with fsync, in a
// profile whose 40 MiB of history was just deleted, alternately in two
// such profiles: one as the deletion left it (bbolt writes its whole list
// of free pages with every commit) and one compacted. Reports the p50 and
// p99 of each.
func BenchmarkEditAfterClearingHistory(b *testing.B) {
	ctx := context.Background()
	open := func(compacted bool) *store.DB {
		db, err := store.Open(ctx, b.TempDir(), store.Options{})
		must(b, err)
		must(b, db.Apply(ctx, sampleOps(b)...))
		deleteHistory(b, db, bigHistory(b, db, 160))
		if compacted {
			did, err := db.Compact(ctx)
			must(b, err)
			if !did {
				b.Fatal("nothing compacted")
			}
		}
		return db
	}
	kept, compacted := open(false), open(true)
	defer kept.Close()
	defer compacted.Close()
	var lk, lc []time.Duration
	edit := func(db *store.DB, lat *[]time.Duration) {
		start := time.Now()
		must(b, db.Apply(ctx, nameOp(model.NewID(), "edit")))
		*lat = append(*lat, time.Since(start))
	}
	for b.Loop() {
		edit(kept, &lk)
		edit(compacted, &lc)
	}
	reportLatency(b, "free-pages-kept", lk)
	reportLatency(b, "compacted", lc)
}

func TestCompactLeavesAFileWithMuchLiveDataAsItIs(t *testing.T) {
	testCompaction(t)
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	bigHistory(t, db, 2*testHistory) // 10 MiB kept: more than 4
	deleteHistory(t, db, bigHistory(t, db, 3*testHistory))
	// More than half of the file is free, but the copy would hold up
	// reads and writes too long.
	if did, err := db.Compact(ctx); err != nil || did {
		t.Fatalf("Compact = %v, %v; want nothing done", did, err)
	}
}

func TestCompactWhileOthersReadAndWrite(t *testing.T) {
	ctx := context.Background()
	db, _, _, _ := clearedProfile(t)
	sample := sampleOps(t)
	must(t, db.Apply(ctx, sample...))

	// Two readers and a writer run step until stop, once at least before
	// the compaction starts.
	stop := make(chan struct{})
	errs := make(chan error, 3)
	var started, done sync.WaitGroup
	loop := func(step func() error) {
		started.Add(1)
		done.Go(func() {
			first := true
			for {
				err := step()
				if first {
					started.Done()
					first = false
				}
				select {
				case <-stop:
				default:
					if err == nil {
						continue
					}
				}
				errs <- err
				return
			}
		})
	}
	read := func() error {
		for _, op := range sample {
			if _, err := db.Get(ctx, op.Kind, op.ID); err != nil {
				return err
			}
		}
		return nil
	}
	var written []model.Op
	loop(read)
	loop(read)
	loop(func() error {
		op := nameOp(model.NewID(), "written meanwhile")
		if err := db.Apply(ctx, op); err != nil {
			return err
		}
		written = append(written, op)
		return nil
	})
	started.Wait()
	did, err := db.Compact(ctx)
	close(stop)
	done.Wait()
	if err != nil || !did {
		t.Fatalf("Compact = %v, %v", did, err)
	}
	for range 3 {
		must(t, <-errs)
	}
	for _, op := range written {
		if _, err := db.Get(ctx, op.Kind, op.ID); err != nil {
			t.Fatalf("a record written around the compaction: %v", err)
		}
	}
}

func TestReadOnlyOpenNeitherCompactsNorRemovesACopy(t *testing.T) {
	db, path, full, want := clearedProfile(t)
	must(t, db.Close())
	dir := filepath.Dir(path)
	// A compaction that died half way left its copy.
	must(t, os.WriteFile(path+".compact", []byte("half a copy"), 0o600))
	before := folderDigest(t, dir)

	ro := mustOpenReadOnly(t, dir)
	want.check(t, ro, "opened read-only")
	if did, err := ro.Compact(context.Background()); did || !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("Compact = %v, %v; want false and ErrUnavailable", did, err)
	}
	must(t, ro.Close())
	sameDigest(t, dir, before, "after a read-only open of a file worth compacting")
	if got := fileSize(t, path); got != full {
		t.Errorf("the file is %d bytes after a read-only open; want %d as before", got, full)
	}
}
