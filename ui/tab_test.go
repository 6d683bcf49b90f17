package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestCancelStopsASendInProgress(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // answer only when the client gives up
	}))
	defer srv.Close()
	h := newHarness(t)
	tab := h.tab()
	test.Type(tab.editor.url, srv.URL+"/slow")
	h.mw.TypedShortcut(shortcutSend)
	h.loop.until(t, "the send is under way", func() bool { return tab.Sending() })
	if tab.cancelB.Hidden || tab.progress.Hidden || !tab.send.Disabled() {
		t.Error("while sending, Cancel and the progress bar are not shown, or Send is not disabled")
	}
	<-arrived
	test.Tap(tab.cancelB)
	h.loop.until(t, "the send ends", func() bool { return !tab.Sending() })
	if got := tab.response.StatusText(); got != "Cancelled" {
		t.Errorf("status after Cancel = %q, want Cancelled", got)
	}
	if !tab.cancelB.Hidden || tab.send.Disabled() {
		t.Error("after the send, Cancel stays or Send stays disabled")
	}
}

// fileWriter is a WriteCloser over a file, standing in for a chosen URI.
type fileWriter struct{ *os.File }

func TestSaveWholeBodyCopiesTheFileOrTheBody(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "body.bin")
	whole := make([]byte, 3<<20)
	for i := range whole {
		whole[i] = byte(i)
	}
	if err := os.WriteFile(src, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		d    responseData
		want int
	}{
		{"a body kept in a file is copied whole", responseData{Body: whole[:10], BodyFile: src}, len(whole)},
		{"a body in memory is written whole", responseData{Body: whole[:1000]}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+filepath.Base(t.Name()))
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeBody(fileWriter{f}, tt.d); err != nil {
				t.Fatalf("writeBody: %v", err)
			}
			got, err := os.ReadFile(out)
			if err != nil || len(got) != tt.want {
				t.Errorf("saved %d bytes (err %v), want %d", len(got), err, tt.want)
			}
		})
	}
}
