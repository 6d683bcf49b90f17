package store_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/store"
)

// benchRewrite runs rewrite b.N times, each on a fresh copy of the
// fixture profile (105,000 records) after prepare, and reports what it
// rewrote per second (as unit) and the Go heap's peak above its level
// before rewrite started. With oneTransaction, the chunked rewrites run
// in one transaction, as they did before they went a chunk at a time.
func benchRewrite(b *testing.B, unit string, oneTransaction bool, prepare, rewrite func(context.Context, *store.DB) error) {
	root := benchFixture(b)
	ctx := context.Background()
	var took time.Duration
	var peak uint64
	for range b.N {
		dir := b.TempDir()
		copyFile(b, filepath.Join(root, "main", store.FileName), filepath.Join(dir, store.FileName))
		db, err := store.Open(ctx, dir, store.Options{NoSync: true})
		must(b, err)
		if prepare != nil {
			must(b, prepare(ctx, db))
		}
		restore := func() {}
		if oneTransaction {
			restore = store.SetQueueChunk(math.MaxInt, math.MaxInt)
		}
		stop := sampleHeap()
		start := time.Now()
		must(b, rewrite(ctx, db))
		took += time.Since(start)
		peak = max(peak, stop())
		restore()
		must(b, db.Close())
	}
	b.ReportMetric(float64((fixtureHistory+fixtureRequests)*b.N)/took.Seconds(), unit)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(0, "ns/op")
}

// queueAll is the first sign-in's "merge into the account": every record
// queued, sync on.
func queueAll(ctx context.Context, db *store.DB) error {
	n, err := db.QueueAllLocal(ctx)
	if err == nil && n != fixtureHistory+fixtureRequests {
		err = fmt.Errorf("queued %d records; want %d", n, fixtureHistory+fixtureRequests)
	}
	return err
}

// BenchmarkStartOver measures starting over after the server was put back
// from a backup: Rebase (courier), against Rebase in one transaction as it
// was before it queued a chunk per transaction (one-transaction), and what
// starting over did before Rebase, detaching and queuing every visible
// record in one transaction (baseline).
func BenchmarkStartOver(b *testing.B) {
	// The fixture was built offline: its records stand for what a synced
	// device confirmed up to seq 1.
	synced := func(_ context.Context, db *store.DB) error { return db.MarkSynced(1) }
	rebase := func(ctx context.Context, db *store.DB) error {
		_, err := db.Rebase(ctx, 1)
		return err
	}
	b.Run("courier", func(b *testing.B) { benchRewrite(b, "records/s", false, synced, rebase) })
	b.Run("one-transaction", func(b *testing.B) { benchRewrite(b, "records/s", true, synced, rebase) })
	b.Run("baseline", func(b *testing.B) {
		benchRewrite(b, "records/s", true, nil, func(ctx context.Context, db *store.DB) error {
			if err := db.SetSyncEnabled(ctx, false); err != nil {
				return err
			}
			return queueAll(ctx, db)
		})
	})
}

// BenchmarkSignInMerge measures the first sign-in's "merge into the
// account": QueueAllLocal (courier), against the same in one transaction
// (baseline), as it was before it queued a chunk per transaction.
func BenchmarkSignInMerge(b *testing.B) {
	b.Run("courier", func(b *testing.B) { benchRewrite(b, "records/s", false, nil, queueAll) })
	b.Run("baseline", func(b *testing.B) { benchRewrite(b, "records/s", true, nil, queueAll) })
}

// BenchmarkSyncOff measures turning sync off with the fixture profile's
// 105,000 records pending (merged into an account, not pushed yet):
// SetSyncEnabled(false) folds them into confirmed a chunk per transaction
// (courier), against the same in one transaction (baseline), as it was
// before.
func BenchmarkSyncOff(b *testing.B) {
	syncOff := func(ctx context.Context, db *store.DB) error {
		if err := db.SetSyncEnabled(ctx, false); err != nil {
			return err
		}
		if n, err := db.PendingCount(ctx); err != nil || n != 0 {
			return fmt.Errorf("PendingCount = %d, %v; want 0", n, err)
		}
		return nil
	}
	b.Run("courier", func(b *testing.B) { benchRewrite(b, "ops/s", false, queueAll, syncOff) })
	b.Run("baseline", func(b *testing.B) { benchRewrite(b, "ops/s", true, queueAll, syncOff) })
}

// sampleHeap samples the bytes of live heap objects until the returned
// stop, which reports the most seen above the level at the start.
func sampleHeap() (stop func() uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	base, most := read(), uint64(0)
	done, wg := make(chan struct{}), sync.WaitGroup{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			most = max(most, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		most = max(most, read())
		if most < base {
			return 0
		}
		return most - base
	}
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	src, err := os.Open(from)
	must(tb, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	must(tb, err)
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	must(tb, dst.Close())
}
