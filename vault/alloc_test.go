//go:build !race

// The race detector adds allocations of its own, so this test builds only
// without it.

package vault

import (
	"bytes"
	"testing"
)

func TestSealerAllocatesOnlyTheResult(t *testing.T) {
	s := NewSealer(NewAccountKey())
	pt := bytes.Repeat([]byte("x"), 1024)
	sealed, _ := s.Seal(katKind, katID, katField, pt)
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Seal(katKind, katID, katField, pt) }); n > 1 {
		t.Errorf("Seal allocates %.0f times, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Open(katKind, katID, katField, sealed) }); n > 1 {
		t.Errorf("Open allocates %.0f times, want 1", n)
	}
	room := append(make([]byte, 0, len(sealed)+64), sealed...)
	if n := testing.AllocsPerRun(100, func() {
		buf := append(room[:0], sealed...)
		_, _ = s.OpenInPlace(katKind, katID, katField, buf)
	}); n > 0 {
		t.Errorf("OpenInPlace with room for the associated data allocates %.0f times, want 0", n)
	}
}
