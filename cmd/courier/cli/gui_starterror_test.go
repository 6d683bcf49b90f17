package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/courierapp/courier/store"
)

func TestAProfileTheWindowCannotOpenIsShownInAWindowToo(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var shown []string
	r := run(t, runOpts{main: func(m *Main) {
		m.RunGUI = failGUI(t)
		m.ShowStartError = func(msg string) error { shown = append(shown, msg); return nil }
	}}, "--profile", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	oneLine(t, r.stderr)
	if len(shown) != 1 || shown[0]+"\n" != strings.TrimPrefix(r.stderr, "courier: ") {
		t.Fatalf("the window was shown %q, want the printed error %q once", shown, r.stderr)
	}
	// A command never opens a window; it prints.
	shown = nil
	if r := run(t, runOpts{main: func(m *Main) {
		m.ShowStartError = func(msg string) error { shown = append(shown, msg); return nil }
	}}, "history", "--profile", dir); r.code != 1 || len(shown) != 0 {
		t.Fatalf("history: exit %d, windows %v", r.code, shown)
	}
}
