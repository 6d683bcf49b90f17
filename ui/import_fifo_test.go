//go:build unix

package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCancelStopsABigImportAndStoresNothing(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "big.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	h := newHarness(t)
	im := newImporter(h.core, h.mw.win, &h.mw.bg)
	done := false
	im.OnDone = func([]importResult) { done = true }
	im.Run([]importSource{{Label: "big.json", Path: fifo}})
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The first half of a big collection; the rest never comes until the
	// import is cancelled.
	head := `{"info":{"name":"Big"},"item":[` + strings.Repeat(`{"name":"r","request":{"url":"https://example.com/`+strings.Repeat("x", 1000)+`"}},`, 2000)
	if _, err := w.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	h.loop.until(t, "the dialog shows progress", func() bool { return strings.Contains(im.status.Text, "Reading big.json: ") })
	if done {
		t.Fatal("the import ended before the file did")
	}
	im.cancelB.Tapped(nil)
	_, _ = w.Write([]byte("{}")) // wake the blocked read
	h.loop.until(t, "the import ends", func() bool { return done })
	if !strings.Contains(im.result.Text, "cancelled, nothing imported") {
		t.Errorf("summary %q", im.result.Text)
	}
	if cs, _ := h.core.Collections(context.Background()); len(cs) != 0 {
		t.Errorf("%d collections after a cancelled import", len(cs))
	}
}
