package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// fillAccount creates acct (bare) and pushes n ops of about 1 KB each.
func fillAccount(tb testing.TB, d *DB, acct string, n int) {
	tb.Helper()
	ctx := context.Background()
	err := d.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)) })
	if err != nil {
		tb.Fatal(err)
	}
	val := json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)
	for i := 0; i < n; i += 200 {
		ops := make([]model.Op, 0, 200)
		for j := i; j < min(n, i+200); j++ {
			ops = append(ops, model.Op{OpID: model.NewID(), Kind: model.KindHistory, ID: model.NewID(), Fields: model.Fields{"body": val}})
		}
		if _, err := d.Push(ctx, acct, ops, syncserver.Quota{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// eraseAccountSync drops acct's sync data, as deleting the account does.
func eraseAccountSync(tb testing.TB, d *DB, acct string) {
	tb.Helper()
	if err := d.db.Update(func(tx *bbolt.Tx) error { return eraseSync(tx, acct) }); err != nil {
		tb.Fatal(err)
	}
}

// highWater is the size of the file's used pages, free ones included.
func highWater(tb testing.TB, d *DB) int64 {
	tb.Helper()
	var n int64
	if err := d.db.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil }); err != nil {
		tb.Fatal(err)
	}
	return n
}

// The list of free pages is not written by commits but rebuilt when the
// file opens: the pages an erased account freed before a restart are
// found again and reused, so the file does not grow by their size.
func TestPagesFreedBeforeARestartAreReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fillAccount(t, d, "gone", 4000)
	eraseAccountSync(t, d, "gone")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if free := d.db.Stats().FreePageN; free < 1000 {
		t.Fatalf("%d free pages after the restart; want the erased account's (over 1,000)", free)
	}
	before := highWater(t, d)
	fillAccount(t, d, "new", 4000)
	if grown := highWater(t, d) - before; grown > before/4 {
		t.Fatalf("the file grew by %d bytes of %d for data the size of what was freed: free pages not reused", grown, before)
	}
}

// BenchmarkPushAfterFreeingPages measures a one-op durable push on a file
// where an erased account left tens of thousands of pages free, against
// the same push on a file without free pages (baseline). Were the list of
// free pages written by every commit, each would write it whole.
func BenchmarkPushAfterFreeingPages(b *testing.B) {
	for _, run := range []struct {
		name  string
		freed bool
	}{{"freed", true}, {"baseline", false}} {
		freed := run.freed
		b.Run(run.name, func(b *testing.B) {
			d, err := Open(filepath.Join(b.TempDir(), "server.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			fillAccount(b, d, "acct", 100)
			if freed {
				fillAccount(b, d, "gone", 40000)
				eraseAccountSync(b, d, "gone")
			}
			st := d.db.Stats()
			free := st.FreePageN + st.PendingPageN
			val := json.RawMessage(`"v"`)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprint("r", i%100)), Fields: model.Fields{"name": val}}
				if _, err := d.Push(ctx, "acct", []model.Op{op}, syncserver.Quota{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(free), "free-pages")
		})
	}
}
