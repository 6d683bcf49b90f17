package store_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// envHold makes the test binary, re-executed as a helper, hold the profile
// named by its value until its stdin closes; with envHoldReadOnly set, it
// holds it read-only.
const (
	envHold         = "COURIER_STORE_TEST_HOLD_PROFILE"
	envHoldReadOnly = "COURIER_STORE_TEST_HOLD_READ_ONLY"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envHold); dir != "" {
		os.Exit(holdProfile(dir, os.Getenv(envHoldReadOnly) != ""))
	}
	code := m.Run()
	removeFixtures()
	os.Exit(code)
}

func holdProfile(dir string, readOnly bool) int {
	db, err := store.Open(context.Background(), dir, store.Options{ReadOnly: readOnly})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func TestSecondOpenInTheSameProcessFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	start := time.Now()
	_, err := store.Open(context.Background(), dir, store.Options{Timeout: 5 * time.Second})
	if !errors.Is(err, store.ErrProfileLocked) || !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("second Open = %v; want ErrProfileLocked wrapping ErrUnavailable", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("second Open took %v; want an immediate answer", d)
	}
	for _, want := range []string{dir, "in use by another Courier", "--profile"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	must(t, db.Close())
	openStore(t, dir) // released by Close
}

// holdInAnotherProcess makes a helper process open the profile in dir
// (read-only when readOnly) and hold it until release, which waits for
// the helper to end.
func holdInAnotherProcess(t *testing.T, dir string, readOnly bool) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHold+"="+dir)
	if readOnly {
		cmd.Env = append(cmd.Env, envHoldReadOnly+"=1")
	}
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v (stderr: %s)", line, err, stderr.String())
	}
	return func() {
		t.Helper()
		_ = stdin.Close()
		must(t, cmd.Wait())
	}
}

func TestOpenWhileAnotherProcessHoldsTheProfileFails(t *testing.T) {
	dir := t.TempDir()
	release := holdInAnotherProcess(t, dir, false)

	start := time.Now()
	_, err := store.Open(context.Background(), dir, store.Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, store.ErrProfileLocked) || !strings.Contains(err.Error(), "--profile") {
		t.Fatalf("Open while another process holds it = %v; want ErrProfileLocked naming --profile", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %v; want about the timeout", d)
	}
	release()
	openStore(t, dir) // the helper released it
}

// writeBolt makes a bbolt file at dir/courier.db with the given buckets
// and keys.
func writeBolt(t *testing.T, dir string, content map[string]map[string][]byte) {
	t.Helper()
	b, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	must(t, err)
	defer b.Close()
	must(t, b.Update(func(tx *bbolt.Tx) error {
		for name, kv := range content {
			bk, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for k, v := range kv {
				if err := bk.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

func TestOpenSetsADamagedFileAsideAndStartsFresh(t *testing.T) {
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string)
	}{
		{"random bytes", func(t *testing.T, dir string) { writeFile(t, dir, random) }},
		{"a few bytes", func(t *testing.T, dir string) { writeFile(t, dir, []byte("hello")) }},
		{"meta pages zeroed", func(t *testing.T, dir string) {
			db := openStore(t, dir)
			must(t, db.Apply(context.Background(), sampleOps(t)...))
			must(t, db.Close())
			f, err := os.OpenFile(filepath.Join(dir, store.FileName), os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt(make([]byte, 2*4096), 0)
			must(t, err)
			must(t, f.Close())
		}},
		{"a bbolt file of another program", func(t *testing.T, dir string) {
			writeBolt(t, dir, map[string]map[string][]byte{"other": {"k": []byte("v")}})
		}},
		{"an unreadable schema version", func(t *testing.T, dir string) {
			writeBolt(t, dir, map[string]map[string][]byte{"meta": {"schema": []byte("two")}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			tc.make(t, dir)
			before, err := os.ReadFile(filepath.Join(dir, store.FileName))
			must(t, err)

			db := openStore(t, dir)
			kept, _ := filepath.Glob(filepath.Join(dir, store.FileName+".corrupt-*"))
			if len(kept) != 1 {
				t.Fatalf("kept files %v; want one", kept)
			}
			if !strings.Contains(db.Notice(), kept[0]) {
				t.Errorf("Notice() = %q; want it to name %s", db.Notice(), kept[0])
			}
			if got, _ := os.ReadFile(kept[0]); !bytes.Equal(got, before) {
				t.Errorf("the kept file differs from the damaged one")
			}
			ops := sampleOps(t)
			must(t, db.Apply(ctx, ops...))
			if _, err := db.Get(ctx, ops[2].Kind, ops[2].ID); err != nil {
				t.Errorf("the fresh database does not work: %v", err)
			}
		})
	}
}

// TestOpenSetsATruncatedFileAside covers a file cut short (a crash, a full
// disk, a partial copy): its meta pages are valid, but bbolt would read its
// pages past the end of the file and die of SIGBUS.
func TestOpenSetsATruncatedFileAside(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	db := openStore(t, src)
	must(t, db.Apply(ctx, sampleOps(t)...))
	for i := range 40 {
		e := historyEntry(model.NewID(), "GET", fmt.Sprintf("https://shop.example/orders/%d", i), 200)
		op, err := model.UpsertOp(model.KindOf(e), e.ID, e)
		must(t, err)
		must(t, db.Apply(ctx, op))
	}
	must(t, db.Close())
	whole, err := os.ReadFile(filepath.Join(src, store.FileName))
	must(t, err)
	// The length its pages need: the page count of its meta page times
	// the page size.
	b, err := bbolt.Open(filepath.Join(src, store.FileName), 0o600, &bbolt.Options{ReadOnly: true})
	must(t, err)
	var need int64
	must(t, b.View(func(tx *bbolt.Tx) error { need = tx.Size(); return nil }))
	must(t, b.Close())
	if need <= 20000 {
		t.Fatalf("the profile needs only %d bytes; want more than the sizes tried", need)
	}

	for _, size := range []int64{8 << 10, 12 << 10, 16 << 10, 20000, need - 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, whole[:size])

			db, err := store.Open(ctx, dir, store.Options{})
			if err != nil {
				t.Fatalf("Open = %v; want the file set aside and a fresh one", err)
			}
			t.Cleanup(func() { _ = db.Close() })
			kept, _ := filepath.Glob(filepath.Join(dir, store.FileName+".corrupt-*"))
			if len(kept) != 1 {
				t.Fatalf("kept files %v; want one", kept)
			}
			if !strings.Contains(db.Notice(), kept[0]) {
				t.Errorf("Notice() = %q; want it to name %s", db.Notice(), kept[0])
			}
			if got, _ := os.ReadFile(kept[0]); !bytes.Equal(got, whole[:size]) {
				t.Errorf("the kept file differs from the truncated one")
			}
			ops := sampleOps(t)
			must(t, db.Apply(ctx, ops...))
			if _, err := db.Get(ctx, ops[2].Kind, ops[2].ID); err != nil {
				t.Errorf("the fresh database does not work: %v", err)
			}
		})
	}

	// As long as its pages need, it is whole: opened, not set aside.
	dir := t.TempDir()
	writeFile(t, dir, whole[:need])
	db = openStore(t, dir)
	if db.Notice() != "" {
		t.Errorf("Notice() = %q for a file of exactly its pages' length", db.Notice())
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*")); len(kept) != 0 {
		t.Errorf("a whole file was set aside: %v", kept)
	}
}

func writeFile(t *testing.T, dir string, b []byte) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(dir, store.FileName), b, 0o600))
}

func TestOpenRefusesAFileFromANewerCourier(t *testing.T) {
	dir := t.TempDir()
	writeBolt(t, dir, map[string]map[string][]byte{"meta": {"schema": {0, 0, 0, 0, 0, 0, 0, 99}}})
	_, err := store.Open(context.Background(), dir, store.Options{})
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "newer version of Courier") {
		t.Fatalf("Open = %v; want ErrUnavailable saying a newer Courier wrote it", err)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*")); len(kept) != 0 {
		t.Errorf("a newer file was set aside as damaged: %v", kept)
	}
}

func TestOpenHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.Open(ctx, t.TempDir(), store.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v", err)
	}
}

func TestOpenInAFolderWithoutWritePermissionSaysSo(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions; TestOpenOnAReadOnlyFileSystemSaysSo covers a folder that cannot be written")
	}
	parent := t.TempDir()
	must(t, os.Chmod(parent, 0o500))
	t.Cleanup(func() { _ = os.Chmod(parent, 0o700) })
	_, err := store.Open(context.Background(), filepath.Join(parent, "profile"), store.Options{})
	if !errors.Is(err, model.ErrUnavailable) || !errors.Is(err, store.ErrNotWritable) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("Open = %v; want ErrUnavailable and ErrNotWritable saying permission denied", err)
	}
}
