package app_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/postman"
	"github.com/courierapp/courier/store"
)

// BenchmarkImportExport5000 imports a generated collection of 5,000
// requests (about 10 MB) through the App into a real bbolt store (fsync
// on, one transaction), and exports it back from the store. The baselines
// are the postman package alone on the same file: parse only, and export
// from the parsed values in memory, so the ratio is what the store adds;
// import/courier-nosync skips fsync, to tell the disk's share.
// Besides wall time it reports CPU time per op (all threads, GC included),
// which depends much less on the neighbours of a shared machine.
func BenchmarkImportExport5000(b *testing.B) {
	ctx := context.Background()
	data := genImportCollection(5_000)
	bundle, err := postman.Import(ctx, bytes.NewReader(data), postman.Options{})
	if err != nil {
		b.Fatal(err)
	}
	openApp := func(b *testing.B) (*app.App, func()) { return openBenchApp(b, false) }
	b.Run("import/courier", func(b *testing.B) { benchImport(b, data, openApp) })
	b.Run("import/courier-nosync", func(b *testing.B) {
		benchImport(b, data, func(b *testing.B) (*app.App, func()) { return openBenchApp(b, true) })
	})
	b.Run("import/baseline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu0 := cpuTime()
		defer func() { reportCPU(b, cpuTime()-cpu0) }()
		for range b.N {
			if _, err := postman.Import(ctx, bytes.NewReader(data), postman.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("export/courier", func(b *testing.B) {
		a, done := openApp(b)
		defer done()
		s, err := a.Import(ctx, bytes.NewReader(data), app.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		cpu0 := cpuTime()
		defer func() { reportCPU(b, cpuTime()-cpu0) }()
		for range b.N {
			if _, err := a.ExportCollection(ctx, s.Collections[0].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("export/baseline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu0 := cpuTime()
		defer func() { reportCPU(b, cpuTime()-cpu0) }()
		for range b.N {
			if _, err := postman.ExportCollection(bundle.Collections[0], bundle.Folders, bundle.Requests, bundle.Variables); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// openBenchApp opens an App over a new store in b.TempDir(); nosync skips
// fsync (to tell the disk's share of the time from the CPU's).
func openBenchApp(b *testing.B, nosync bool) (*app.App, func()) {
	db, err := store.Open(context.Background(), b.TempDir(), store.Options{NoSync: nosync})
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(db, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return a, func() { _ = db.Close() }
}

// benchImport imports data into a new store per iteration, timing only
// the import.
func benchImport(b *testing.B, data []byte, open func(*testing.B) (*app.App, func())) {
	b.SetBytes(int64(len(data)))
	var cpu time.Duration
	defer func() { reportCPU(b, cpu) }()
	for range b.N {
		b.StopTimer()
		a, done := open(b)
		b.StartTimer()
		cpu0 := cpuTime()
		if _, err := a.Import(context.Background(), bytes.NewReader(data), app.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		b.StopTimer()
		done()
		b.StartTimer()
	}
}

func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
