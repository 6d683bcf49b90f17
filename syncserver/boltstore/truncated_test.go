package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/internal/boltfile"
)

// A server.db cut short (a crash, a full disk, a partial copy) keeps valid
// meta pages; bbolt would read its pages past the end and die of SIGBUS or
// SIGSEGV. Open must say the file is truncated and how long it should be,
// and leave it as it is.
func TestOpenTruncatedFileFailsClearly(t *testing.T) {
	src := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	fillAccount(t, d, "acct", 50)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// The length its pages need, counted after Close's last checkpoint.
	b, err := bbolt.Open(src, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var need int64
	_ = b.View(func(tx *bbolt.Tx) error { need = tx.Size(); return nil })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if need <= 20000 || int64(len(whole)) < need {
		t.Fatalf("the file is %d bytes and needs %d; want more than the sizes tried", len(whole), need)
	}

	for _, size := range []int64{8 << 10, 12 << 10, 16 << 10, 20000, need - 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "server.db")
			if err := os.WriteFile(path, whole[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := Open(path)
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, boltfile.ErrDamaged) {
				t.Errorf("Open = %v; want ErrDamaged", err)
			}
			for _, want := range []string{path, "truncated", fmt.Sprint(size), fmt.Sprint(need)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, whole[:size]) {
				t.Errorf("the file was changed")
			}
			if _, err := os.Stat(path + ".log"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a push log was made next to the damaged file: %v", err)
			}
		})
	}

	// As long as its pages need, it is whole.
	path := filepath.Join(t.TempDir(), "server.db")
	if err := os.WriteFile(path, whole[:need], 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(path); err != nil {
		t.Fatalf("Open(file of exactly its pages' length) = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
