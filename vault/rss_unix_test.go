//go:build unix

package vault

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// rusageMeter reports, after a benchmark loop, the process's peak resident
// set in MiB (a high-water mark for the whole process, so meaningful when
// one benchmark runs alone) and the CPU time per op in ms (user + system,
// all threads), which a loaded machine disturbs far less than wall time.
type rusageMeter struct{ start time.Duration }

func startRusage() rusageMeter { return rusageMeter{start: cpuTime()} }

func (m rusageMeter) report(b *testing.B) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-m.start)/float64(b.N)/1e6, "cpu-ms/op")
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return
	}
	kib := float64(ru.Maxrss) // KiB on Linux, bytes on Darwin
	if runtime.GOOS == "darwin" {
		kib /= 1024
	}
	b.ReportMetric(kib/1024, "peakRSS-MiB")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
