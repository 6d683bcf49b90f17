package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// secretVariableChanges is a server stream of n secret variables.
func secretVariableChanges(n int) []model.Change {
	out := make([]model.Change, n)
	for i := range out {
		out[i] = model.Change{Seq: uint64(i + 1), Kind: model.KindVariable, ID: model.NewID(), Fields: model.Fields{
			"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(fmt.Sprintf(`"var%d"`, i)),
			"value":   json.RawMessage(fmt.Sprintf(`"sk_live_%032d"`, i)),
			"enabled": json.RawMessage("true"), "secret": json.RawMessage("true"),
		}}
	}
	return out
}

// BenchmarkSecretVariables measures what sealing costs where it is paid:
// applying 10,000 secret variables from server pages of 1,000 (NoSync, so
// the CPU shows), and listing them. .../courier seals with a key;
// .../baseline is the same store without one (values in plain text), in
// the same run, so the ratio is the cost of sealing.
func BenchmarkSecretVariables(b *testing.B) {
	ctx := context.Background()
	changes := secretVariableChanges(10_000)
	for _, c := range []struct {
		name string
		key  []byte
	}{{"courier", newSecretKey(b)}, {"baseline", nil}} {
		open := func(b *testing.B) *store.DB {
			db, err := store.Open(ctx, b.TempDir(), store.Options{NoSync: true, SecretKey: store.FixedKey(c.key)})
			must(b, err)
			must(b, db.SetSyncEnabled(ctx, true))
			return db
		}
		b.Run("apply/"+c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := open(b)
				b.StartTimer()
				for lo := 0; lo < len(changes); lo += 1000 {
					must(b, db.ApplyServerChanges(ctx, changes[lo:lo+1000], uint64(lo+1000)))
				}
				b.StopTimer()
				must(b, db.Close())
				b.StartTimer()
			}
			b.ReportMetric(float64(len(changes)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run("list/"+c.name, func(b *testing.B) {
			db := open(b)
			defer db.Close()
			for lo := 0; lo < len(changes); lo += 1000 {
				must(b, db.ApplyServerChanges(ctx, changes[lo:lo+1000], uint64(lo+1000)))
			}
			for b.Loop() {
				recs, err := db.List(ctx, model.KindVariable)
				if err != nil || len(recs) != len(changes) {
					b.Fatalf("List = %d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(len(changes)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
