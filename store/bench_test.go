package store_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// The benchmark fixture: a profile with 100,000 history entries of about
// 1-2 KB (varied URLs, headers and JSON bodies) and 5,000 saved requests,
// built once per test process (NoSync, big transactions), plus two copies
// of its file for the write benchmarks.
const (
	fixtureHistory  = 100_000
	fixtureRequests = 5_000
	// rareToken is in the URL of one entry in 10,000: searching for it
	// scans the whole index.
	rareToken = "legacy-export"
)

// envBenchDir names a directory in which to keep the fixture between runs
// (it is built there when missing); by default it lives in a temporary
// directory removed at exit.
const envBenchDir = "COURIER_STORE_BENCH_DIR"

var fixture struct {
	once sync.Once
	root string
	temp bool
	err  error
}

func removeFixtures() {
	if fixture.temp {
		_ = os.RemoveAll(fixture.root)
	}
}

// benchFixture returns the directory holding the fixture profiles: main
// (read only by the benchmarks), courier-write and bare-write.
func benchFixture(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		if dir := os.Getenv(envBenchDir); dir != "" {
			fixture.root = dir
			if _, err := os.Stat(filepath.Join(dir, "bare-write", store.FileName)); err == nil {
				return
			}
		} else {
			fixture.root, fixture.err = os.MkdirTemp("", "courier-store-bench-")
			fixture.temp = true
		}
		if fixture.err == nil {
			fixture.err = buildFixture(fixture.root)
		}
	})
	if fixture.err != nil {
		b.Fatalf("build fixture: %v", fixture.err)
	}
	return fixture.root
}

func buildFixture(root string) error {
	ctx := context.Background()
	start := time.Now()
	db, err := store.Open(ctx, filepath.Join(root, "main"), store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	batches := make(chan []model.Op, 2)
	genErr := make(chan error, 1)
	go func() { genErr <- genHistory(batches) }()
	for ops := range batches {
		if err := db.Apply(ctx, ops...); err != nil {
			for range batches {
			}
			return err
		}
	}
	if err := <-genErr; err != nil {
		return err
	}
	t0 := time.Now().Add(-100 * 24 * time.Hour)
	var ops []model.Op
	for i := range fixtureRequests {
		e := fakeEntry(rng, "", t0, i)
		r := e.Request.Request
		r.Collection, r.Order = "c1", fmt.Sprintf("a%05d", i)
		op, err := model.UpsertOp(model.KindRequest, model.NewID(), &r)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	if err := db.Apply(ctx, ops...); err != nil {
		return err
	}
	for _, name := range []string{"courier-write", "bare-write"} {
		if err := os.MkdirAll(filepath.Join(root, name), 0o700); err != nil {
			return err
		}
		if err := db.CopyTo(ctx, filepath.Join(root, name, store.FileName)); err != nil {
			return err
		}
	}
	// Flush the files now, so the first fsync of a write benchmark does
	// not pay for writing the whole fixture.
	for _, name := range []string{"main", "courier-write", "bare-write"} {
		if err := syncFile(filepath.Join(root, name, store.FileName)); err != nil {
			return err
		}
	}
	fi, _ := os.Stat(filepath.Join(root, "main", store.FileName))
	fmt.Fprintf(os.Stderr, "fixture: %d history entries, %d requests, %d MB, built in %v\n",
		fixtureHistory, fixtureRequests, fi.Size()>>20, time.Since(start).Round(time.Millisecond))
	return nil
}

// genHistory makes the fixture's history ops, in batches of 5,000 (one
// transaction each), on its own goroutine so that making and writing
// overlap.
func genHistory(out chan<- []model.Op) error {
	defer close(out)
	rng := rand.New(rand.NewPCG(5, 6))
	entropy := ulid.Monotonic(rand.NewChaCha8([32]byte{1}), 0)
	t0 := time.Now().Add(-100 * 24 * time.Hour)
	const batch = 5000
	var ops []model.Op
	for i := range fixtureHistory {
		sent := t0.Add(time.Duration(i) * 86 * time.Second)
		id := model.ID(ulid.MustNew(ulid.Timestamp(sent), entropy).String())
		op, err := model.UpsertOp(model.KindHistory, id, fakeEntry(rng, id, sent, i))
		if err != nil {
			return err
		}
		if ops = append(ops, op); len(ops) == batch {
			out <- ops
			ops = nil
		}
	}
	if len(ops) > 0 {
		out <- ops
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

var (
	fakeHosts     = []string{"api.shop.example", "auth.example.com", "billing.internal", "localhost:8080", "eu.api.example.net", "graph.example.org"}
	fakeResources = []string{"orders", "users", "invoices", "products", "carts", "sessions", "payments", "webhooks", "reports", "search"}
	fakeMethods   = []string{"GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE"}
)

// fakeEntry makes a realistic history entry of about 1-2 KB.
func fakeEntry(rng *rand.Rand, id model.ID, sent time.Time, i int) *model.HistoryEntry {
	res := fakeResources[rng.IntN(len(fakeResources))]
	path := fmt.Sprintf("/v%d/%s/%d", 1+rng.IntN(3), res, rng.IntN(1_000_000))
	if i%10_000 == 5_000 {
		path = "/v1/" + rareToken + "/" + res
	}
	url := fmt.Sprintf("https://%s%s?page=%d&limit=%d", fakeHosts[rng.IntN(len(fakeHosts))], path, rng.IntN(50), 10*(1+rng.IntN(10)))
	method := fakeMethods[rng.IntN(len(fakeMethods))]
	headers := []model.KV{{Key: "Accept", Value: "application/json"}, {Key: "Authorization", Value: "Bearer {{token}}"},
		{Key: "User-Agent", Value: "Courier/1.0"}, {Key: "X-Request-Id", Value: fmt.Sprintf("%016x", rng.Uint64())}}
	body := fakeJSON(rng, 300+rng.IntN(900))
	e := &model.HistoryEntry{
		ID:     id,
		SentAt: sent,
		Request: model.HistoryRequest{Request: model.Request{
			Name: fmt.Sprintf("%s %s", strings.ToUpper(method[:1])+strings.ToLower(method[1:]), res), Method: method, URL: url, Headers: headers,
		}, ResolvedURL: url},
		Response: &model.Response{
			Status: []int{200, 200, 200, 201, 204, 400, 404, 500}[rng.IntN(8)], Proto: "HTTP/2.0",
			Headers: []model.KV{{Key: "Content-Type", Value: "application/json"}, {Key: "Date", Value: sent.UTC().Format(time.RFC1123)},
				{Key: "Cache-Control", Value: "no-store"}, {Key: "Server", Value: "nginx"}},
			Timings: model.Timings{DNS: time.Millisecond, Connect: 3 * time.Millisecond, TLS: 9 * time.Millisecond,
				FirstByte: time.Duration(20+rng.IntN(300)) * time.Millisecond, Total: time.Duration(25+rng.IntN(400)) * time.Millisecond},
			Body: body, Size: int64(len(body)), ContentType: "application/json",
		},
	}
	if method != "GET" && method != "DELETE" {
		e.Request.Body = model.Body{Mode: model.BodyRaw, Language: model.LangJSON, Raw: string(fakeJSON(rng, 100+rng.IntN(200)))}
	}
	return e
}

func fakeJSON(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%x","price":%d.%02d,"ok":%t}`, rng.IntN(1e6), rng.Uint32(), rng.IntN(500), rng.IntN(100), rng.IntN(2) == 0)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkOpenFirstHistoryPage: opening the profile and reading the
// first 50 history summaries, against opening the bare bbolt file and
// reading its last 50 index keys.
func BenchmarkOpenFirstHistoryPage(b *testing.B) {
	root := benchFixture(b)
	dir := filepath.Join(root, "main")
	ctx := context.Background()
	b.Run("courier", func(b *testing.B) {
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			db, err := store.Open(ctx, dir, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			page, err := db.History(ctx, app.HistoryQuery{Limit: 50})
			if err != nil || len(page) != 50 {
				b.Fatalf("History = %d, %v", len(page), err)
			}
			must(b, db.Close())
		}
	})
	b.Run("baseline", func(b *testing.B) {
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			bdb, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			_ = bdb.View(func(tx *bbolt.Tx) error {
				c := tx.Bucket([]byte("history")).Cursor()
				for k, _ := c.Last(); k != nil && n < 50; k, _ = c.Prev() {
					n++
				}
				return nil
			})
			must(b, bdb.Close())
		}
	})
}

// BenchmarkHistorySearch: a substring found in 10 of 100,000 entries (so
// the whole index is scanned) and a common one (the page fills at once),
// against scanning the stored entries' raw bytes without an index.
func BenchmarkHistorySearch(b *testing.B) {
	root := benchFixture(b)
	dir := filepath.Join(root, "main")
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{})
	must(b, err)
	defer db.Close()
	for _, tc := range []struct {
		name, q string
		want    int
	}{{"rare", strings.ToUpper(rareToken), 10}, {"common", "orders", 50}} {
		b.Run(tc.name+"/courier", func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				got, err := db.History(ctx, app.HistoryQuery{Search: tc.q, Limit: 50})
				if err != nil || len(got) != tc.want {
					b.Fatalf("search %q = %d, %v; want %d", tc.q, len(got), err, tc.want)
				}
			}
		})
	}
	must(b, db.Close())
	b.Run("rare/baseline", func(b *testing.B) {
		bdb, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, &bbolt.Options{Timeout: time.Second})
		must(b, err)
		defer bdb.Close()
		needle := []byte(rareToken)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			n := 0
			_ = bdb.View(func(tx *bbolt.Tx) error {
				c := tx.Bucket([]byte("confirmed")).Cursor()
				prefix := []byte("history/")
				for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
					if bytes.Contains(v, needle) {
						n++
					}
				}
				return nil
			})
			if n < 10 {
				b.Fatalf("found %d", n)
			}
		}
	})
}

// BenchmarkSaveHistoryEntry: saving one new entry with fsync on a copy of
// the fixture, against a bare bbolt Update putting the same bytes into a
// copy of the same file. Each iteration does one of each, alternately, so
// that both see the same load on a shared machine; it reports the p50 and
// p99 of each and our CPU time per save.
func BenchmarkSaveHistoryEntry(b *testing.B) {
	root := benchFixture(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	db, err := store.Open(ctx, filepath.Join(root, "courier-write"), store.Options{})
	must(b, err)
	defer db.Close()
	bdb, err := bbolt.Open(filepath.Join(root, "bare-write", store.FileName), 0o600, &bbolt.Options{Timeout: time.Second})
	must(b, err)
	defer bdb.Close()

	var ours, bare []time.Duration
	var cpu time.Duration
	for b.Loop() {
		id := model.NewID()
		op, err := model.UpsertOp(model.KindHistory, id, fakeEntry(rng, id, time.Now(), 1))
		must(b, err)
		val := bareBytes(op)

		start, c0 := time.Now(), cpuTime()
		must(b, db.Apply(ctx, op))
		ours, cpu = append(ours, time.Since(start)), cpu+cpuTime()-c0

		start = time.Now()
		must(b, bdb.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("visible")).Put([]byte("history/"+op.ID), val)
		}))
		bare = append(bare, time.Since(start))
	}
	reportLatency(b, "courier", ours)
	reportLatency(b, "baseline", bare)
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(ours)), "courier-cpu-ms/op")
	}
}

// bareBytes is the op's fields as one JSON object: about the bytes the
// store writes per copy.
func bareBytes(op model.Op) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for k, v := range op.Fields {
		fmt.Fprintf(&b, "%q:%s,", k, v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// reportCPU reports the process CPU time per op since start: on a machine
// shared with other work, wall time per op overstates our cost.
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// reportLatency reports the median and 99th percentile of lat.
func reportLatency(b *testing.B, name string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), name+"-p50-ms")
	b.ReportMetric(pct(0.99), name+"-p99-ms")
}
