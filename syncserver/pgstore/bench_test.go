package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/syncserver/storetest"
)

// The delivery load: deliveryRates changes/s (the target, and
// one this 2-core test machine sustains), spread evenly over
// deliveryAccounts accounts, for deliverySeconds per iteration.
var deliveryRates = []int{1000, 300}

const (
	deliveryAccounts = 100
	deliverySeconds  = 3
)

// BenchmarkDelivery applies an open-loop load of 1,000 changes/s (and
// 300/s, under .../rate-300), spread over 100 accounts (a device of each
// pushes 10 changes/s), and measures how long each change takes, from
// the moment it was due to be pushed, to reach another device of its
// account: across two replicas through PostgreSQL (.../pg-cross-replica:
// pushers on replica 1, receivers on replica 2), within one replica over
// PostgreSQL (.../pg-same-replica, the baseline under the same load), and
// on one bbolt server (.../bbolt). It reports p50 and p99 delivery
// latency, the rates at which the changes were pushed and delivered, and
// achieved-% (delivered rate over the target); a run that falls short of
// 95% of the target says so in the log. It also reports the CPU time per
// change, from the first due push until the last delivery, of this
// process (the servers and the clients: proc-cpu-ms/change) and of the
// PostgreSQL backends serving the database (pg-cpu-ms/change, read from
// /proc: the cluster runs on this machine), which a loaded machine
// disturbs less than the latencies.
func BenchmarkDelivery(b *testing.B) {
	url := pgtest.URL(b)
	quiet := pgstore.Options{Logger: slog.New(slog.DiscardHandler)}
	for _, rate := range deliveryRates {
		b.Run(fmt.Sprintf("rate-%d", rate), func(b *testing.B) {
			b.Run("pg-cross-replica", func(b *testing.B) {
				r1, r2 := startReplica(b, url, quiet), startReplica(b, url, quiet)
				measureDelivery(b, r1, r2, r1.db, rate, url)
			})
			b.Run("pg-same-replica", func(b *testing.B) {
				r := startReplica(b, url, quiet)
				measureDelivery(b, r, r, r.db, rate, url)
			})
			b.Run("bbolt", func(b *testing.B) {
				db, err := boltstore.Open(filepath.Join(b.TempDir(), "server.db"))
				if err != nil {
					b.Fatal(err)
				}
				r := startServer(b, db, &servertest.Buffer{})
				measureDelivery(b, r, r, db, rate, "")
			})
		})
	}
}

var benchAccounts atomic.Int64

// deliveryPair is one account's pushing and receiving devices.
type deliveryPair struct{ pusher, watcher *device }

// measureDelivery runs the delivery load of rate changes/s with pushers
// on from and receivers on to, after a warm-up. Push j of account k is
// due at start + (j*accounts+k) ticks of 1/rate; as the account is fresh
// and has one pusher, it gets seq j+2 (the warm-up push has seq 1).
func measureDelivery(b *testing.B, from, to *replica, st syncserver.Storage, rate int, pgURL string) {
	pairs := make([]deliveryPair, deliveryAccounts)
	for k := range pairs {
		token := newAccount(b, st, int(1000+benchAccounts.Add(1)))
		pairs[k] = deliveryPair{connect(b, from, token), connect(b, to, token)}
	}
	warmUp(b, pairs)
	total := b.N * rate * deliverySeconds
	perAcct := total / deliveryAccounts
	tick := time.Second / time.Duration(rate)
	b.ResetTimer()
	procCPU0, pgCPU0 := processCPU(), backendsCPU(b, pgURL)
	start := time.Now()
	due := func(k, j int) time.Time { return start.Add(time.Duration(j*deliveryAccounts+k) * tick) }
	var wg sync.WaitGroup
	var lastSent atomic.Int64
	errs := make(chan error, len(pairs))
	for k, p := range pairs {
		wg.Go(func() {
			for j := range perAcct {
				time.Sleep(time.Until(due(k, j))) // pacing, not waiting for a condition
				if err := p.pusher.pushNamed(fmt.Sprintf("req-%d", j%50)); err != nil {
					errs <- err
					return
				}
			}
			storeMax(&lastSent, int64(time.Since(start)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	sentIn := time.Duration(lastSent.Load())
	for _, p := range pairs {
		w := p.watcher
		waitFor(b, time.Minute, "every change is delivered", func() bool { return w.reached(uint64(perAcct+1)) || w.lastErr() != nil })
		if err := w.lastErr(); err != nil {
			b.Fatal(err)
		}
	}
	procCPU, pgCPU := processCPU()-procCPU0, backendsCPU(b, pgURL)-pgCPU0
	b.StopTimer()
	lat := make([]time.Duration, 0, total)
	var lastDelivered time.Time
	for k, p := range pairs {
		p.watcher.mu.Lock()
		for j := range perAcct {
			at := p.watcher.seen[uint64(j+2)]
			lat = append(lat, at.Sub(due(k, j)))
			if at.After(lastDelivered) {
				lastDelivered = at
			}
		}
		p.watcher.mu.Unlock()
	}
	slices.Sort(lat)
	delivered := float64(len(lat)) / lastDelivered.Sub(start).Seconds()
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat))/sentIn.Seconds(), "sent/s")
	b.ReportMetric(delivered, "delivered/s")
	b.ReportMetric(100*delivered/float64(rate), "achieved-%")
	b.ReportMetric(float64(procCPU.Microseconds())/1000/float64(total), "proc-cpu-ms/change")
	if pgURL != "" {
		b.ReportMetric(float64(pgCPU.Microseconds())/1000/float64(total), "pg-cpu-ms/change")
	}
	if delivered < 0.95*float64(rate) {
		b.Logf("FELL SHORT: delivered %.0f changes/s of the %d/s target", delivered, rate)
	}
}

// pushWriters is the number of accounts pushing at once in
// BenchmarkPushThroughput, each from its own goroutine.
const pushWriters = 32

// BenchmarkPushThroughput measures durable single-op pushes per second
// while 32 accounts push at once, each from its own goroutine that pushes
// again as soon as its last push returned: PostgreSQL with NOTIFY and a
// replica listening (.../pg-notify), without NOTIFY (.../pg-no-notify),
// with NOTIFY on a pool of 4 connections, pgx's default on 2 CPUs, where
// pgstore.DefaultMaxConns gives 8 (.../pg-notify-pool-4), and bbolt
// (.../bbolt, the baseline, whose writers share group commits).
// Each reports pushes/s and the most pushes seen in flight at once (32
// when every account pushed concurrently). .../pg-notify-vs-off runs the
// two PostgreSQL stores in alternate slices of 128 pushes (16 slices of
// each per iteration), so that both see the same machine, and reports
// both rates and off/on, the cost of NOTIFY (1.10 would be 10%).
func BenchmarkPushThroughput(b *testing.B) {
	url := pgtest.URL(b)
	bolt := func(b *testing.B) storetest.SyncBackend {
		db, err := boltstore.Open(filepath.Join(b.TempDir(), "server.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	for _, tt := range []struct {
		name string
		open func(b *testing.B) storetest.SyncBackend
	}{
		{"pg-notify", func(b *testing.B) storetest.SyncBackend { return openBench(b, url, pgstore.Options{}) }},
		{"pg-no-notify", func(b *testing.B) storetest.SyncBackend { return openBench(b, url, pgstore.Options{NotifyEvery: -1}) }},
		{"pg-notify-pool-4", func(b *testing.B) storetest.SyncBackend { return openBench(b, url, pgstore.Options{MaxConns: 4}) }},
		{"bbolt", bolt},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st := tt.open(b)
			accts := benchAccountsOn(b, st)
			peak := &atomic.Int64{}
			b.ResetTimer()
			took := pushAll(b, st, accts, b.N, peak)
			b.ReportMetric(float64(b.N)/took.Seconds(), "pushes/s")
			b.ReportMetric(float64(peak.Load()), "in-flight-max")
		})
	}
	b.Run("pg-notify-vs-off", func(b *testing.B) {
		on, off := openBench(b, url, pgstore.Options{}), openBench(b, url, pgstore.Options{NotifyEvery: -1})
		accOn, accOff := benchAccountsOn(b, on), benchAccountsOn(b, off)
		var tOn, tOff time.Duration
		peak := &atomic.Int64{}
		b.ResetTimer()
		const slices, slice = 16, 128 // an iteration takes seconds: one is enough
		for range b.N {
			for i := range slices { // each store goes first in every other slice
				if i%2 == 0 {
					tOn += pushAll(b, on, accOn, slice, peak)
					tOff += pushAll(b, off, accOff, slice, peak)
				} else {
					tOff += pushAll(b, off, accOff, slice, peak)
					tOn += pushAll(b, on, accOn, slice, peak)
				}
			}
		}
		pushes := float64(b.N * slices * slice)
		b.ReportMetric(pushes/tOn.Seconds(), "on-pushes/s")
		b.ReportMetric(pushes/tOff.Seconds(), "off-pushes/s")
		b.ReportMetric(tOn.Seconds()/tOff.Seconds(), "off/on")
	})
}

// benchAccountsOn makes pushWriters accounts on st.
func benchAccountsOn(b *testing.B, st storetest.SyncBackend) []string {
	accts := make([]string, pushWriters)
	for i := range accts {
		n := int(2000 + benchAccounts.Add(1))
		newAccount(b, st, n)
		accts[i] = fmt.Sprintf("acct-%d", n)
	}
	return accts
}

// pushAll makes n single-op pushes to st from one goroutine per account,
// raising peak to the most pushes in flight at once, and returns how long
// they took.
func pushAll(b *testing.B, st storetest.SyncBackend, accts []string, n int, peak *atomic.Int64) time.Duration {
	var next, inFlight atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, acct := range accts {
		wg.Go(func() {
			v := syncproto.SealedValue(randomBytes(64))
			for i := 0; next.Add(1) <= int64(n); i++ {
				op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("req-%d", i%50)), Fields: model.Fields{"name": v}}
				storeMax(peak, inFlight.Add(1))
				_, err := st.Push(context.Background(), acct, []model.Op{op}, syncserver.Quota{})
				inFlight.Add(-1)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// listenSink is a replica's side of WatchHeads that only counts.
type listenSink struct{ heard atomic.Int64 }

func (s *listenSink) HeadChanged(string, uint64) { s.heard.Add(1) }
func (s *listenSink) Accounts() []string         { return nil }

// openBench opens a store on url; with NOTIFY on, a second store on url
// listens, as another replica would, until the benchmark ends.
func openBench(b *testing.B, url string, opt pgstore.Options) storetest.SyncBackend {
	opt.Logger = slog.New(slog.DiscardHandler)
	db, err := pgstore.Open(context.Background(), url, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if opt.NotifyEvery >= 0 {
		listener, err := pgstore.Open(context.Background(), url, pgstore.Options{Logger: opt.Logger})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); listener.WatchHeads(ctx, &listenSink{}) }()
		b.Cleanup(func() { cancel(); <-done; listener.Close() })
		waitFor(b, 10*time.Second, "the other replica listens", listener.Listening)
	}
	return db
}

// warmUp pushes one change from every pusher at once and waits until
// all are delivered, so that the measured load finds the database pools
// full and their statements prepared, as a running server would.
func warmUp(b *testing.B, pairs []deliveryPair) {
	for _, p := range pairs {
		if err := p.pusher.pushNamed("warm-up"); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range pairs {
		p.watcher.waitSeq(1, "the warm-up push is delivered")
	}
}

// storeMax raises m to v if v is larger.
func storeMax(m *atomic.Int64, v int64) {
	for old := m.Load(); v > old && !m.CompareAndSwap(old, v); old = m.Load() {
	}
}

// pushNamed sends, from any goroutine, one op writing a sealed name to
// request id.
func (d *device) pushNamed(id string) error {
	v := randomBytes(64)
	v[0] = 0x01
	b, err := syncproto.EncodeFrame(&syncproto.Push{Ops: []model.Op{{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(id),
		Fields: model.Fields{"name": syncproto.SealedValue(v)}}}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.ws.Write(ctx, websocket.MessageText, b)
}

// processCPU returns the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU returns the CPU time used so far by the PostgreSQL backends
// connected to the database at url, from /proc (0 for no url; backends
// it cannot read count as 0, and backends that ended are not counted: the
// stores' connections stay open while the load runs).
func backendsCPU(b *testing.B, url string) time.Duration {
	if url == "" {
		return 0
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis start with
		// the state (field 3); utime and stime are fields 14 and 15.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times on Linux.
const clockTicks = 100
