package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// refChanges is the plain reading of a page the pageReader must match:
// each entry decoded with encoding/json, each field looked up alone.
func refChanges(acct *bbolt.Bucket, after uint64, limit, maxBytes int) ([]model.Change, error) {
	out := []model.Change{}
	size := 0
	c := acct.Bucket(sbLog).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit && (size < maxBytes || len(out) == 0); k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		var rec logRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("decode sync log entry %d: %w", seq, err)
		}
		ch := model.Change{Seq: seq, Kind: rec.Kind, ID: rec.ID, OpID: rec.OpID, Fields: model.Fields{}}
		for _, f := range rec.Fields {
			fv := acct.Bucket(sbFields).Get(fieldKey(rec.Kind, rec.ID, f))
			if len(fv) < 8 || !bytes.Equal(fv[:8], u64(seq)) {
				continue
			}
			ch.Fields[f] = bytes.Clone(fv[8:])
			size += len(fv) - 8
		}
		out = append(out, ch)
	}
	return out, nil
}

// seedSync opens a store holding one account with ops pushed in pushes
// of 100: records of several fields, later ops overwriting some fields
// of earlier records, some ops writing no field.
func seedSync(tb testing.TB, ops int) (*DB, string) {
	tb.Helper()
	d, err := Open(filepath.Join(tb.TempDir(), "server.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	const acct = "acct1"
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"name", "method", "url", "headers", "body", "auth", "description", "parent", "order"}
	ids := []model.ID{}
	batch := []model.Op{}
	for i := range ops {
		op := model.Op{OpID: model.ID(fmt.Sprintf("op%06d", i)), Kind: model.KindRequest, Fields: model.Fields{}}
		if len(ids) > 0 && rng.IntN(4) == 0 {
			op.ID = ids[rng.IntN(len(ids))]
		} else {
			op.ID = model.ID(fmt.Sprintf("r%06d", i))
			ids = append(ids, op.ID)
		}
		for _, n := range names[:rng.IntN(len(names)+1)] {
			op.Fields[n] = json.RawMessage(fmt.Sprintf("%q", bytes.Repeat([]byte{'a' + byte(i%26)}, 20+rng.IntN(400))))
		}
		batch = append(batch, op)
		if len(batch) == 100 || i == ops-1 {
			err := d.db.Update(func(tx *bbolt.Tx) error {
				if err := tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)); err != nil {
					return err
				}
				_, err := push(tx, acct, batch, syncserver.Quota{})
				return err
			})
			if err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return d, acct
}

func TestChangesReadsWhatThePlainReadingReads(t *testing.T) {
	d, acct := seedSync(t, 1000)
	tests := []struct {
		name            string
		after           uint64
		limit, maxBytes int
	}{
		{"everything in one page", 0, 5000, 1 << 30},
		{"a page bounded by count", 100, 50, 1 << 30},
		{"a page bounded by bytes", 300, 5000, 4 << 10},
		{"at least one change over the byte bound", 10, 5000, 1},
		{"the last changes", 990, 100, 1 << 30},
		{"nothing after head", 1000, 100, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Changes(context.Background(), acct, tt.after, tt.limit, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			var want []model.Change
			err = d.db.View(func(tx *bbolt.Tx) error {
				want, err = refChanges(tx.Bucket(bSync).Bucket([]byte(acct)), tt.after, tt.limit, tt.maxBytes)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Changes after %d: %d changes differ from the plain reading's %d", tt.after, len(got), len(want))
			}
		})
	}
}

func TestChangesReadsEntriesWrittenWithEscapes(t *testing.T) {
	d, acct := seedSync(t, 3)
	err := d.db.Update(func(tx *bbolt.Tx) error {
		// An entry as encoding/json writes an op id with '<': escaped.
		return putJSON(tx.Bucket(bSync).Bucket([]byte(acct)).Bucket(sbLog), u64(2), logRec{OpID: "a<b", Kind: model.KindRequest, ID: "r000001", Fields: []string{"name"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Changes(context.Background(), acct, 1, 1, 1<<20)
	if err != nil || len(got) != 1 || got[0].OpID != "a<b" || got[0].ID != "r000001" {
		t.Fatalf("Changes = %+v, %v; want the entry of op a<b", got, err)
	}
}

func TestChangesNamesTheEntryThatDoesNotDecode(t *testing.T) {
	d, acct := seedSync(t, 3)
	err := d.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bSync).Bucket([]byte(acct)).Bucket(sbLog).Put(u64(2), []byte(`{"kind":`))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Changes(context.Background(), acct, 0, 10, 1<<20)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("entry 2")) {
		t.Fatalf("Changes over a broken entry: err = %v, want one naming entry 2", err)
	}
}

// BenchmarkChangesPage reads pages of the server's default bounds (1000
// changes, 512 KiB) from 5000 ops: courier is Changes, baseline the plain reading.
func BenchmarkChangesPage(b *testing.B) {
	d, acct := seedSync(b, 5000)
	read := map[string]func(acct *bbolt.Bucket, after uint64, limit, maxBytes int) ([]model.Change, error){
		"courier": readPage, "baseline": refChanges,
	}
	for _, name := range []string{"courier", "baseline"} {
		b.Run(name, func(b *testing.B) {
			n, changes := 0, 0
			for b.Loop() {
				err := d.db.View(func(tx *bbolt.Tx) error {
					page, err := read[name](tx.Bucket(bSync).Bucket([]byte(acct)), uint64(n%5)*1000, 1000, 512<<10)
					n, changes = n+1, changes+len(page)
					if err == nil && len(page) == 0 {
						err = fmt.Errorf("empty page")
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(changes)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

// BenchmarkPushBesideACatchUp measures the acknowledgement of pushes to
// one account (and the read of them by its other device) while a device
// of another account, far behind, reads its changes page after page (a
// first sync) without pause; its baseline, alone, the same pushes with no
// catch-up. Those reads run beside the committer: were they queued on it,
// each push would wait for them.
func BenchmarkPushBesideACatchUp(b *testing.B) {
	for _, catchUp := range []bool{false, true} {
		name := "alone"
		if catchUp {
			name = "beside-catch-up"
		}
		b.Run(name, func(b *testing.B) { benchPushBeside(b, catchUp) })
	}
}

func benchPushBeside(b *testing.B, catchUp bool) {
	d, big := seedSync(b, 20_000)
	ctx := context.Background()
	if err := d.commit(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte("small"), []byte(`{}`)) }); err != nil {
		b.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	var pages atomic.Int64
	go func() {
		defer close(done)
		var after uint64
		for catchUp {
			select {
			case <-stop:
				return
			default:
			}
			chs, err := d.Changes(ctx, big, after, 256, 1<<20)
			if err != nil {
				b.Error(err)
				return
			}
			pages.Add(1)
			if len(chs) == 0 {
				after = 0
				continue
			}
			after = chs[len(chs)-1].Seq
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		op := []model.Op{{OpID: model.ID(fmt.Sprintf("s%d", i)), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("q%d", i%50)), Fields: model.Fields{"name": json.RawMessage(`"x"`)}}}
		start := time.Now()
		if _, err := d.Push(ctx, "small", op, syncserver.Quota{}); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Changes(ctx, "small", uint64(i), 10, 1<<20); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	close(stop)
	<-done
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if catchUp {
		b.ReportMetric(float64(pages.Load())/b.Elapsed().Seconds(), "catch-up-pages/s")
	}
}
