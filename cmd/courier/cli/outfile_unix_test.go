//go:build unix

package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// reader reads all of a pipe in the background.
func reader(open func() (io.ReadCloser, error)) <-chan string {
	got := make(chan string, 1)
	go func() {
		r, err := open()
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- string(b)
	}()
	return got
}

func waitFor(t *testing.T, got <-chan string) string {
	t.Helper()
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came through the pipe")
		return ""
	}
}

func TestExportWritesIntoANamedPipe(t *testing.T) {
	profile, want := globalsProfile(t)
	fifo := filepath.Join(t.TempDir(), "out.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	got := reader(func() (io.ReadCloser, error) { return os.Open(fifo) })
	if r := exportTo(t, profile, fifo); r.code != ExitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe is now %v, %v", fi.Mode(), err)
	}
	if s := waitFor(t, got); s != want {
		t.Errorf("the pipe's reader got %q, want %q", s, want)
	}
}

// A descriptor, as -o >(cmd) or -o /dev/stdout give, is written in place:
// a pipe, and a regular file too.
func TestExportWritesToAFileDescriptor(t *testing.T) {
	if _, err := os.Stat("/dev/fd"); err != nil {
		t.Skipf("no /dev/fd here: %v", err)
	}
	profile, want := globalsProfile(t)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := reader(func() (io.ReadCloser, error) { return pr, nil })
	r := exportTo(t, profile, fmt.Sprintf("/dev/fd/%d", pw.Fd()))
	pw.Close()
	if r.code != ExitOK {
		t.Fatalf("-o /dev/fd/N of a pipe: exit %d, stderr %q", r.code, r.stderr)
	}
	if s := waitFor(t, got); s != want {
		t.Errorf("the pipe's reader got %q, want %q", s, want)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("old and longer than the new content, much longer, really, so much longer"); err != nil {
		t.Fatal(err)
	}
	before, _ := f.Stat()
	if r := exportTo(t, profile, fmt.Sprintf("/dev/fd/%d", f.Fd())); r.code != ExitOK {
		t.Fatalf("-o /dev/fd/N of a file: exit %d, stderr %q", r.code, r.stderr)
	}
	if s := mustRead(t, f.Name()); s != want {
		t.Errorf("the file holds %q, want %q", s, want)
	}
	if after, err := os.Stat(f.Name()); err != nil || !os.SameFile(before, after) {
		t.Errorf("the file was replaced, not written in place (%v)", err)
	}
}
