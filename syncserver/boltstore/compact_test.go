package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// TestOpenMigratesForCompaction rebuilds a file as a server before
// compaction left it (no candidates, no cursors, a usage without the
// log) and checks that opening it lists the dead entries, counts the log
// and makes every session count from cursor 0: nothing goes until each
// has reported a cursor.
func TestOpenMigratesForCompaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := d.CreateAccount(ctx, syncserver.Account{ID: "a1", Username: "u1", Email: "u1@example.com", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"s1", "s2"} {
		s := syncserver.Session{ID: id, AccountID: "a1", TokenHash: []byte{byte(i + 1)}, CreatedAt: now, LastSeenAt: now}
		if err := d.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	name := func(opID, v string) model.Op {
		return model.Op{OpID: model.ID(opID), Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": []byte(v)}}
	}
	if _, err := d.Push(ctx, "a1", []model.Op{name("o1", `"a"`), name("o2", `"b"`), name("o3", `"c"`)}, syncserver.Quota{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		acct := tx.Bucket(bSync).Bucket([]byte("a1"))
		for _, b := range [][]byte{sbDead, sbCursors} {
			if err := acct.DeleteBucket(b); err != nil {
				return err
			}
		}
		if err := acct.Put(kUsage, append(u64(1), u64(5)...)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Delete(kCompaction)
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}

	d, err = Open(path)
	if err != nil {
		t.Fatalf("opening the older file: %v", err)
	}
	defer d.Close()
	if u, err := d.SyncUsage(ctx, "a1"); err != nil || u != (syncserver.Usage{Records: 1, Bytes: 3, Log: 3}) {
		t.Fatalf("usage after the migration = %+v, %v; want 1 record, 3 bytes, 3 entries", u, err)
	}
	// s2 counts from 0 until it reports.
	if c, err := d.Compact(ctx, "a1", "s1", 3, now.Add(-time.Hour)); err != nil || c.LowWater != 0 || c.Dropped != 0 {
		t.Fatalf("compact with s2 not heard from = %+v, %v; want nothing dropped", c, err)
	}
	c, err := d.Compact(ctx, "a1", "s2", 3, now.Add(-time.Hour))
	if err != nil || c.LowWater != 3 || c.Dropped != 2 || c.Usage.Log != 1 {
		t.Fatalf("compact once both reported = %+v, %v; want entries 1 and 2 dropped", c, err)
	}
	// Reopening does not migrate again.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if u, err := d.SyncUsage(ctx, "a1"); err != nil || u.Log != 1 {
		t.Fatalf("usage after reopening = %+v, %v", u, err)
	}
}

// TestCompactWorksInBatches drops more candidates than one transaction
// takes.
func TestCompactWorksInBatches(t *testing.T) {
	ctx := context.Background()
	d, err := Open(filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	if err := d.CreateAccount(ctx, syncserver.Account{ID: "a1", Username: "u1", Email: "u1@example.com", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSession(ctx, syncserver.Session{ID: "s1", AccountID: "a1", TokenHash: []byte{1}, CreatedAt: now, LastSeenAt: now}); err != nil {
		t.Fatal(err)
	}
	n := compactBatch*2 + 10
	for i := 0; i < n; i += 256 {
		var ops []model.Op
		for j := i; j < min(i+256, n); j++ {
			ops = append(ops, model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": []byte(`"x"`)}})
		}
		if _, err := d.Push(ctx, "a1", ops, syncserver.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := d.Compact(ctx, "a1", "s1", uint64(n), now.Add(-time.Hour))
	if err != nil || c.Dropped != n-1 || c.Usage.Log != 1 {
		t.Fatalf("compact %d entries = %+v, %v; want all but the last dropped", n, c, err)
	}
}

// BenchmarkCompact measures a compaction that drops 4,096 dead entries
// (the ops of two of a device's pushes, rewriting one value, made since
// the last one) against reading the same entries' changes, which a
// device that stays behind would otherwise be sent.
func BenchmarkCompact(b *testing.B) {
	ctx := context.Background()
	d, err := Open(filepath.Join(b.TempDir(), "server.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	if err := d.CreateAccount(ctx, syncserver.Account{ID: "a1", Username: "u1", Email: "u1@example.com", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := d.CreateSession(ctx, syncserver.Session{ID: "s1", AccountID: "a1", TokenHash: []byte{1}, CreatedAt: now, LastSeenAt: now}); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Compact(ctx, "a1", "s1", 0, now.Add(-time.Hour)); err != nil {
		b.Fatal(err)
	}
	const n = 4096
	head := uint64(0)
	rewrite := func() {
		for i := 0; i < n; i += 256 {
			ops := make([]model.Op, 256)
			for j := range ops {
				ops[j] = model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": []byte(`"a value of some length"`)}}
			}
			res, err := d.Push(ctx, "a1", ops, syncserver.Quota{})
			if err != nil {
				b.Fatal(err)
			}
			head = res.Head
		}
	}
	for _, mode := range []string{"compact", "baseline-read"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				rewrite()
				b.StartTimer()
				if mode == "compact" {
					c, err := d.Compact(ctx, "a1", "s1", head, now.Add(-time.Hour))
					if err != nil || c.Dropped < n-1 {
						b.Fatalf("compact = %+v, %v", c, err)
					}
				} else if ch, err := d.Changes(ctx, "a1", head-n, n, 1<<30); err != nil || len(ch) != n {
					b.Fatalf("changes: %d, %v", len(ch), err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
