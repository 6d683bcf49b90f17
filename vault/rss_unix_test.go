//go:build unix

package vault

import (
	"runtime"
	"syscall"
	"testing"
)

// reportPeakRSS reports the process's peak resident set in MiB (ru_maxrss
// is KiB on Linux, bytes on Darwin). It is a high-water mark for the whole
// process, so it is meaningful when one benchmark runs alone.
func reportPeakRSS(b *testing.B) {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	kib := float64(ru.Maxrss)
	if runtime.GOOS == "darwin" {
		kib /= 1024
	}
	b.ReportMetric(kib/1024, "peakRSS-MiB")
}
