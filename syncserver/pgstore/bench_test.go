package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
	"github.com/courierapp/courier/syncserver/storetest"
)

// BenchmarkDelivery measures how long a push takes to reach another
// device of the account: across two replicas through PostgreSQL
// (.../pg-cross-replica), on one replica over PostgreSQL
// (.../pg-same-replica), and on one bbolt server (.../bbolt, the
// baseline). It reports p50 and p99 per push.
func BenchmarkDelivery(b *testing.B) {
	url := pgtest.URL(b)
	b.Run("pg-cross-replica", func(b *testing.B) {
		r1, r2 := startReplica(b, url, pgstore.Options{}), startReplica(b, url, pgstore.Options{})
		measureDelivery(b, r1, r2, r1.db)
	})
	b.Run("pg-same-replica", func(b *testing.B) {
		r := startReplica(b, url, pgstore.Options{})
		measureDelivery(b, r, r, r.db)
	})
	b.Run("bbolt", func(b *testing.B) {
		db, err := boltstore.Open(filepath.Join(b.TempDir(), "server.db"))
		if err != nil {
			b.Fatal(err)
		}
		r := startServer(b, db, &syncBuffer{})
		measureDelivery(b, r, r, db)
	})
}

var benchAccounts atomic.Int64

func measureDelivery(b *testing.B, from, to *replica, st syncserver.Storage) {
	token := newAccount(b, st, int(1000+benchAccounts.Add(1)))
	pusher, watcher := connect(b, from, token), connect(b, to, token)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		pusher.push(fmt.Sprintf("req-%d", i%50))
		for !watcher.reached(uint64(i + 1)) {
			select {
			case <-watcher.more:
			case <-time.After(10 * time.Second):
				b.Fatalf("push %d not delivered within 10 s (%v)", i+1, watcher.lastErr())
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkPushThroughput measures durable pushes per second from 16
// concurrent writers, each on its own account: PostgreSQL with NOTIFY
// (.../pg-notify), without (.../pg-no-notify), and bbolt (.../bbolt, the
// baseline, whose writers share group commits).
func BenchmarkPushThroughput(b *testing.B) {
	url := pgtest.URL(b)
	for _, tt := range []struct {
		name string
		open func(b *testing.B) storetest.SyncBackend
	}{
		{"pg-notify", func(b *testing.B) storetest.SyncBackend { return openBench(b, url, pgstore.Options{}) }},
		{"pg-no-notify", func(b *testing.B) storetest.SyncBackend { return openBench(b, url, pgstore.Options{NotifyEvery: -1}) }},
		{"bbolt", func(b *testing.B) storetest.SyncBackend {
			db, err := boltstore.Open(filepath.Join(b.TempDir(), "server.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st := tt.open(b)
			const writers = 16
			accts := make([]string, writers)
			for i := range accts {
				n := int(2000 + benchAccounts.Add(1))
				newAccount(b, st, n)
				accts[i] = fmt.Sprintf("acct-%d", n)
			}
			var next atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				acct := accts[int(next.Add(1)-1)%writers]
				v := syncproto.SealedValue(randomBytes(64))
				for i := 0; pb.Next(); i++ {
					op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("req-%d", i%50)), Fields: model.Fields{"name": v}}
					if _, err := st.Push(context.Background(), acct, []model.Op{op}, syncserver.Quota{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		})
	}
}

func openBench(b *testing.B, url string, opt pgstore.Options) storetest.SyncBackend {
	opt.MaxConns = 16
	opt.Logger = slog.New(slog.DiscardHandler)
	db, err := pgstore.Open(context.Background(), url, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
