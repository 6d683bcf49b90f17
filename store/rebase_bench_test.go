package store_test

import (
	"context"
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

// BenchmarkStartOver measures starting over after the server was put back
// from a backup, on the fixture profile (105,000 records): Rebase
// (courier), against Rebase in one transaction as it was before it queued
// a chunk per transaction (one-transaction), and what starting over did
// before Rebase, detaching and queuing every visible record in one
// transaction (baseline). Every
// run starts from a fresh copy of the profile; it reports records/s and
// the Go heap's peak above its level before.
func BenchmarkStartOver(b *testing.B) {
	root := benchFixture(b)
	run := func(b *testing.B, startOver func(context.Context, *store.DB) error) {
		ctx := context.Background()
		var took time.Duration
		var peak uint64
		for range b.N {
			dir := b.TempDir()
			copyFile(b, filepath.Join(root, "main", store.FileName), filepath.Join(dir, store.FileName))
			db, err := store.Open(ctx, dir, store.Options{NoSync: true})
			must(b, err)
			stop := sampleHeap()
			start := time.Now()
			must(b, startOver(ctx, db))
			took += time.Since(start)
			peak = max(peak, stop())
			must(b, db.Close())
		}
		b.ReportMetric(float64((fixtureHistory+fixtureRequests)*b.N)/took.Seconds(), "records/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(0, "ns/op")
	}
	rebase := func(ctx context.Context, db *store.DB) error {
		// The fixture was built offline: its records stand for what a
		// synced device confirmed up to seq 1.
		if err := db.MarkSynced(1); err != nil {
			return err
		}
		_, err := db.Rebase(ctx, 1)
		return err
	}
	b.Run("courier", func(b *testing.B) { run(b, rebase) })
	b.Run("one-transaction", func(b *testing.B) {
		defer store.SetQueueChunk(math.MaxInt, math.MaxInt)()
		run(b, rebase)
	})
	b.Run("baseline", func(b *testing.B) {
		defer store.SetQueueChunk(math.MaxInt, math.MaxInt)()
		run(b, func(ctx context.Context, db *store.DB) error {
			if err := db.SetSyncEnabled(ctx, false); err != nil {
				return err
			}
			_, err := db.QueueAllLocal(ctx)
			return err
		})
	})
}

// BenchmarkSignInMerge measures the first sign-in's "merge into the
// account" on the fixture profile (105,000 records): QueueAllLocal
// (courier), against the same in one transaction (baseline), as it was
// before it queued a chunk per transaction. It reports records/s and the
// Go heap's peak above its level before.
func BenchmarkSignInMerge(b *testing.B) {
	root := benchFixture(b)
	run := func(b *testing.B) {
		ctx := context.Background()
		var took time.Duration
		var peak uint64
		for range b.N {
			dir := b.TempDir()
			copyFile(b, filepath.Join(root, "main", store.FileName), filepath.Join(dir, store.FileName))
			db, err := store.Open(ctx, dir, store.Options{NoSync: true})
			must(b, err)
			must(b, db.SetSyncEnabled(ctx, false))
			stop := sampleHeap()
			start := time.Now()
			n, err := db.QueueAllLocal(ctx)
			must(b, err)
			took += time.Since(start)
			peak = max(peak, stop())
			if n != fixtureHistory+fixtureRequests {
				b.Fatalf("queued %d records; want %d", n, fixtureHistory+fixtureRequests)
			}
			must(b, db.Close())
		}
		b.ReportMetric(float64((fixtureHistory+fixtureRequests)*b.N)/took.Seconds(), "records/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("courier", run)
	b.Run("baseline", func(b *testing.B) {
		defer store.SetQueueChunk(math.MaxInt, math.MaxInt)()
		run(b)
	})
}

// BenchmarkSyncOff measures turning sync off with the fixture profile's
// 105,000 records pending (merged into an account, not pushed yet):
// SetSyncEnabled(false) folds them into confirmed a chunk per transaction
// (courier), against the same in one transaction (baseline), as it was
// before. It reports ops/s and the Go heap's peak above its level before.
func BenchmarkSyncOff(b *testing.B) {
	root := benchFixture(b)
	run := func(b *testing.B, oneTransaction bool) {
		ctx := context.Background()
		var took time.Duration
		var peak uint64
		for range b.N {
			dir := b.TempDir()
			copyFile(b, filepath.Join(root, "main", store.FileName), filepath.Join(dir, store.FileName))
			db, err := store.Open(ctx, dir, store.Options{NoSync: true})
			must(b, err)
			must(b, db.SetSyncEnabled(ctx, false))
			_, err = db.QueueAllLocal(ctx)
			must(b, err)
			restore := func() {}
			if oneTransaction {
				restore = store.SetQueueChunk(math.MaxInt, math.MaxInt)
			}
			stop := sampleHeap()
			start := time.Now()
			must(b, db.SetSyncEnabled(ctx, false))
			took += time.Since(start)
			peak = max(peak, stop())
			restore()
			if n, err := db.PendingCount(ctx); err != nil || n != 0 {
				b.Fatalf("PendingCount = %d, %v; want 0", n, err)
			}
			must(b, db.Close())
		}
		b.ReportMetric(float64((fixtureHistory+fixtureRequests)*b.N)/took.Seconds(), "ops/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("courier", func(b *testing.B) { run(b, false) })
	b.Run("baseline", func(b *testing.B) { run(b, true) })
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
