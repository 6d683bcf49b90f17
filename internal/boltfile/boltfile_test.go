package boltfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/courierapp/courier/internal/boltfile"
)

// makeDB writes a bbolt file with a few buckets of data and returns its
// path and the length its pages need (pgid * page size).
func makeDB(t *testing.T, o *bbolt.Options) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := bbolt.Open(path, 0o600, o)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(fmt.Appendf(nil, "bucket%d", b))
			if err != nil {
				return err
			}
			for i := range 300 {
				if err := bk.Put(fmt.Appendf(nil, "key%05d", i), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, needed(t, path)
}

// needed is the length the pages of the file at path need, as bbolt
// counts them.
func needed(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	_ = db.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
	return n
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPassesSoundFiles(t *testing.T) {
	for _, o := range []*bbolt.Options{nil, {NoFreelistSync: true}, {PageSize: 16384}} {
		path, need := makeDB(t, o)
		if err := boltfile.Check(path); err != nil {
			t.Errorf("Check(sound file, %+v) = %v", o, err)
		}
		// Exactly as long as its pages need: sound, and bbolt opens it.
		truncate(t, path, need)
		if err := boltfile.Check(path); err != nil {
			t.Errorf("Check(file of exactly %d bytes) = %v", need, err)
		}
		db, err := boltfile.Open(path, 0o600, o)
		if err != nil {
			t.Fatalf("Open(file of exactly %d bytes) = %v", need, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := boltfile.Check(filepath.Join(dir, "missing.db")); err != nil {
		t.Errorf("Check(missing file) = %v", err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := boltfile.Check(empty); err != nil {
		t.Errorf("Check(empty file) = %v", err)
	}
}

func TestCheckFindsTruncatedFiles(t *testing.T) {
	for _, o := range []*bbolt.Options{nil, {NoFreelistSync: true}} {
		_, need := makeDB(t, o)
		if need <= 32768 {
			t.Fatalf("the test file needs only %d bytes; want more than the sizes tried", need)
		}
		for _, size := range []int64{4096, 8192, 12288, 16384, 20000, need - 4096, need - 1} {
			t.Run(fmt.Sprintf("NoFreelistSync=%v/%d", o != nil, size), func(t *testing.T) {
				path, need := makeDB(t, o)
				truncate(t, path, size)
				before, _ := os.ReadFile(path)

				err := boltfile.Check(path)
				var e *boltfile.Error
				if !errors.As(err, &e) || !errors.Is(err, boltfile.ErrDamaged) || !e.Truncated() {
					t.Fatalf("Check = %v; want a truncated *Error wrapping ErrDamaged", err)
				}
				if e.Size != size || e.Want != need {
					t.Errorf("Size, Want = %d, %d; want %d, %d", e.Size, e.Want, size, need)
				}
				for _, want := range []string{"truncated", fmt.Sprint(size), fmt.Sprint(need)} {
					if !bytes.Contains([]byte(err.Error()), []byte(want)) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if db, err := boltfile.Open(path, 0o600, o); err == nil || !errors.Is(err, boltfile.ErrDamaged) {
					if db != nil {
						_ = db.Close()
					}
					t.Errorf("Open = %v; want the check's error", err)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
					t.Errorf("the file was changed")
				}
			})
		}
	}
}

func TestCheckFindsFilesWithoutValidMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	err := boltfile.Check(path)
	if !errors.Is(err, boltfile.ErrDamaged) || !errors.Is(err, berrors.ErrInvalid) {
		t.Errorf("Check(junk) = %v; want ErrDamaged and bbolt's ErrInvalid", err)
	}
}

func TestCheckLeavesAFileInUseToBbolt(t *testing.T) {
	path, _ := makeDB(t, nil)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Its pages as seen while in use must not be judged: a writer may be
	// growing it. Here it is sound anyway; the point is the answer is nil
	// and the lock is still bbolt's.
	if err := boltfile.Check(path); err != nil {
		t.Errorf("Check(file in use) = %v", err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("more")); return err }); err != nil {
		t.Errorf("the holder cannot write after Check: %v", err)
	}
}

// A bucket pointing at a page past the end of the file (but within the
// mapping) passes Check, which reads only the meta pages, and makes bbolt
// fault (SIGBUS) while rebuilding its free-page list in Open; Open must
// return an error, not crash.
func TestOpenTurnsAFaultIntoAnError(t *testing.T) {
	o := &bbolt.Options{NoFreelistSync: true, InitialMmapSize: 64 << 20}
	path, _ := makeDB(t, o)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The root bucket's leaf holds "bucket1" then its root page id.
	i := bytes.LastIndex(b, []byte("bucket1"))
	if i < 0 {
		t.Fatal("bucket name not found")
	}
	binary.NativeEndian.PutUint64(b[i+len("bucket1"):], uint64(len(b)/4096+10))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := boltfile.Check(path); err != nil {
		t.Fatalf("Check = %v; want nil (the damage is past the meta pages)", err)
	}
	db, err := boltfile.Open(path, 0o600, o)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, boltfile.ErrDamaged) || !bytes.Contains([]byte(err.Error()), []byte("memory fault")) {
		t.Errorf("Open = %v; want ErrDamaged saying it faulted", err)
	}
}
