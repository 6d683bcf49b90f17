package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

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

// firstSyncChanges is the server stream of BenchmarkFirstSync in
// syncclient (5,000 requests, 1,000 variables, 10,000 history entries),
// with the variables secret when secret is set.
func firstSyncChanges(secret bool) []model.Change {
	var out []model.Change
	add := func(kind model.Kind, f model.Fields) {
		out = append(out, model.Change{Seq: uint64(len(out) + 1), Kind: kind, ID: model.NewID(), Fields: f})
	}
	for i := range 5_000 {
		add(model.KindRequest, model.Fields{
			"name": json.RawMessage(fmt.Sprintf(`"request %d"`, i)), "method": json.RawMessage(`"GET"`),
			"url":     json.RawMessage(fmt.Sprintf(`"https://api.example.com/v1/things/%d?expand=owner"`, i)),
			"headers": json.RawMessage(`[{"key":"Accept","value":"application/json"},{"key":"Authorization","value":"Bearer {{token}}"}]`),
			"parent":  json.RawMessage(`"folder-1"`), "order": json.RawMessage(fmt.Sprintf(`"a%05d"`, i)),
		})
	}
	for i := range 1_000 {
		add(model.KindVariable, model.Fields{
			"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(fmt.Sprintf(`"var%d"`, i)),
			"value": json.RawMessage(fmt.Sprintf(`"value of variable %d"`, i)), "enabled": json.RawMessage("true"),
			"secret": json.RawMessage(fmt.Sprint(secret)),
		})
	}
	for i := range 10_000 {
		add(model.KindHistory, model.Fields{
			"sent_at":  json.RawMessage(fmt.Sprintf(`"2027-01-15T08:%02d:%02dZ"`, i/60%60, i%60)),
			"request":  json.RawMessage(fmt.Sprintf(`{"method":"GET","url":"https://api.example.com/v1/things/%d","headers":[{"key":"Accept","value":"application/json"}]}`, i)),
			"response": json.RawMessage(fmt.Sprintf(`{"status":200,"headers":[{"key":"Content-Type","value":"application/json"}],"time_ms":42,"size":96,"body":"{\"id\":%d}"}`, i)),
		})
	}
	return out
}

// BenchmarkFirstSyncPages is the store's share of a first sync (pages of
// 1,000 changes, NoSync so the CPU shows), reported as process CPU per
// sync: .../baseline without a key (as before sealing existed);
// .../courier with a key and plain variables (only variable records pay
// anything); .../courier-secret with a key and the 1,000 variables secret
// (each sealed).
func BenchmarkFirstSyncPages(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		key    []byte
		secret bool
	}{{"baseline", nil, false}, {"courier", newSecretKey(b), false}, {"courier-secret", newSecretKey(b), true}} {
		changes := firstSyncChanges(c.secret)
		b.Run(c.name, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				db, err := store.Open(ctx, b.TempDir(), store.Options{NoSync: true, SecretKey: store.FixedKey(c.key)})
				must(b, err)
				must(b, db.SetSyncEnabled(ctx, true))
				c0 := cpuTime()
				b.StartTimer()
				for lo := 0; lo < len(changes); lo += 1000 {
					hi := min(lo+1000, len(changes))
					must(b, db.ApplyServerChanges(ctx, changes[lo:hi], uint64(hi)))
				}
				b.StopTimer()
				cpu += cpuTime() - c0
				must(b, db.Close())
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
