//go:build !keyring_integration

// Unit tests swap go-keyring's global provider for its mock, so they stay
// out of the integration build, which needs the real one.

package keyring

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/model"
)

var (
	_ Secrets = (*Keyring)(nil)
	_ Secrets = (*Memory)(nil)
	_ Secrets = (*Fallback)(nil)
)

const testService = "courier-test"

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestKeyringStoresGetsOverwritesAndDeletes(t *testing.T) {
	gokeyring.MockInit()
	ctx := context.Background()
	k := New(testService, "p1")
	const key = "account/01HZY/token"

	if _, err := k.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Get before Set: err = %v, want model.ErrNotFound", err)
	}
	for _, v := range [][]byte{allBytes(), {}, []byte("second value")} {
		if err := k.Set(ctx, key, v); err != nil {
			t.Fatal(err)
		}
		got, err := k.Get(ctx, key)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get = %x, %v; want %x", got, err, v)
		}
	}
	if err := k.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want model.ErrNotFound", err)
	}
	if err := k.Delete(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want model.ErrNotFound", err)
	}
}

func TestKeyringProfilesDoNotCollide(t *testing.T) {
	gokeyring.MockInit()
	ctx := context.Background()
	a := New(testService, ProfileID("/home/ann/.config/courier"))
	b := New(testService, ProfileID("/home/ann/courier-work"))
	const key = "account/01HZY/key"
	if err := a.Set(ctx, key, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, key); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("profile b sees profile a's entry: err = %v", err)
	}
	if err := b.Set(ctx, key, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, key); err != nil || string(got) != "b" {
		t.Errorf("profile b after a's delete: %q, %v", got, err)
	}
}

func TestKeyringEntryIsBase64UnderProfileSlashKey(t *testing.T) {
	gokeyring.MockInit()
	v := allBytes()
	if err := New(testService, "p1").Set(context.Background(), "account/x/key", v); err != nil {
		t.Fatal(err)
	}
	raw, err := gokeyring.Get(testService, "p1/account/x/key")
	if err != nil {
		t.Fatal(err)
	}
	if raw != base64.StdEncoding.EncodeToString(v) {
		t.Errorf("stored %q, want the standard base64 of the value", raw)
	}
}

func TestKeyringRefusesEntryThatIsNotBase64(t *testing.T) {
	gokeyring.MockInit()
	if err := gokeyring.Set(testService, "p1/foreign", "not base64!"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testService, "p1").Get(context.Background(), "foreign"); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("err = %v, want model.ErrInvalid", err)
	}
}

func TestKeyringRejectsBadNames(t *testing.T) {
	gokeyring.MockInit()
	tests := []struct{ name, profile, key string }{
		{"empty key", "p1", ""},
		{"empty profile", "", "k"},
		{"profile with a slash", "a/b", "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := New(testService, tt.profile)
			ctx := context.Background()
			if err := k.Set(ctx, tt.key, []byte("v")); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Set err = %v, want model.ErrInvalid", err)
			}
			if _, err := k.Get(ctx, tt.key); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Get err = %v, want model.ErrInvalid", err)
			}
			if err := k.Delete(ctx, tt.key); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Delete err = %v, want model.ErrInvalid", err)
			}
		})
	}
}

// failing is a Backend whose every call returns err.
type failing struct{ err error }

func (f failing) Set(string, string, string) error   { return f.err }
func (f failing) Get(string, string) (string, error) { return "", f.err }
func (f failing) Delete(string, string) error        { return f.err }

func TestKeyringTranslatesErrors(t *testing.T) {
	tests := []struct {
		name    string
		backend error
		want    error
		text    string
	}{
		{"no D-Bus session", errors.New(`exec: "dbus-launch": executable file not found in $PATH`), model.ErrUnavailable, "the system keyring is not available: exec"},
		{"no Secret Service", errors.New("The name org.freedesktop.secrets was not provided by any .service files"), model.ErrUnavailable, "the system keyring is not available"},
		{"value too big", gokeyring.ErrSetDataTooBig, model.ErrTooLarge, "refuses a value this large"},
		{"missing", gokeyring.ErrNotFound, model.ErrNotFound, "keyring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := New(testService, "p1", WithBackend(failing{tt.backend}))
			ctx := context.Background()
			_, getErr := k.Get(ctx, "k")
			for op, err := range map[string]error{"get": getErr, "set": k.Set(ctx, "k", []byte("v")), "delete": k.Delete(ctx, "k")} {
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
					t.Errorf("%s: err = %v, want %v saying %q", op, err, tt.want, tt.text)
				}
			}
		})
	}
}

func TestKeyringMockWithErrorIsUnavailable(t *testing.T) {
	gokeyring.MockInitWithError(errors.New("collection is locked"))
	defer gokeyring.MockInit()
	if _, err := New(testService, "p1").Get(context.Background(), "k"); !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("err = %v, want model.ErrUnavailable", err)
	}
}

// hanging is a Backend whose calls block until release is closed, then
// behave like an empty keyring.
type hanging struct {
	release chan struct{}
	entered chan struct{} // closed by the first call
	once    sync.Once
	mu      sync.Mutex
	calls   int
}

func newHanging() *hanging {
	return &hanging{release: make(chan struct{}), entered: make(chan struct{})}
}

func (h *hanging) wait() {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	h.once.Do(func() { close(h.entered) })
	<-h.release
}
func (h *hanging) Set(string, string, string) error   { h.wait(); return nil }
func (h *hanging) Get(string, string) (string, error) { h.wait(); return "", gokeyring.ErrNotFound }
func (h *hanging) Delete(string, string) error        { h.wait(); return gokeyring.ErrNotFound }

func (h *hanging) callCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

func TestKeyringTimesOutOnAHungKeyring(t *testing.T) {
	h := newHanging()
	k := New(testService, "p1", WithBackend(h), WithTimeout(50*time.Millisecond))
	ctx := context.Background()

	start := time.Now()
	_, err := k.Get(ctx, "k")
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v, want model.ErrUnavailable after the time-out", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, want about 50ms", d)
	}
	// the first call still hangs: the next one must not start another
	err = k.Set(ctx, "k", []byte("v"))
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "earlier call is still waiting") {
		t.Errorf("second call: err = %v, want model.ErrUnavailable about the earlier call", err)
	}
	if n := h.callCount(); n != 1 {
		t.Errorf("backend called %d times while hung, want 1", n)
	}
	// once the OS answers, the keyring is usable again
	close(h.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = k.Get(ctx, "k")
		if errors.Is(err, model.ErrNotFound) || time.Now().After(deadline) {
			break
		}
	}
	if !errors.Is(err, model.ErrNotFound) {
		t.Errorf("after release: err = %v, want model.ErrNotFound", err)
	}
}

func TestKeyringReturnsCallerCancellationAsIs(t *testing.T) {
	h := newHanging()
	defer close(h.release)
	k := New(testService, "p1", WithBackend(h), WithTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-h.entered
		cancel()
	}()
	_, err := k.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) || errors.Is(err, model.ErrUnavailable) {
		t.Errorf("err = %v, want context.Canceled and not model.ErrUnavailable", err)
	}
}

func TestProfileID(t *testing.T) {
	dir := t.TempDir()
	id := ProfileID(dir)
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("ProfileID = %q, want 16 lower-case hex digits", id)
	}
	if ProfileID(dir+"/./") != id || ProfileID(dir+"/sub/..") != id {
		t.Error("spellings of one directory give different profile ids")
	}
	if ProfileID(dir+"/other") == id {
		t.Error("two directories share a profile id")
	}
}

// TestAPinnedProfileIDMovesWithItsFolder: once pinned, the profile keeps
// its keyring name at any path; pinning again changes nothing, and a
// damaged IDFile falls back to the path's name.
func TestAPinnedProfileIDMovesWithItsFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "courier")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	id := ProfileID(dir)
	if err := PinProfileID(dir); err != nil {
		t.Fatal(err)
	}
	if got := ProfileID(dir); got != id {
		t.Fatalf("pinned id = %q, want the one it had, %q", got, id)
	}
	moved := filepath.Join(root, "restored", "courier")
	if err := os.MkdirAll(filepath.Dir(moved), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if got := ProfileID(moved); got != id {
		t.Errorf("id after the move = %q, want %q", got, id)
	}
	if err := PinProfileID(moved); err != nil || ProfileID(moved) != id {
		t.Errorf("pin after the move: %v, id %q; want %q kept", err, ProfileID(moved), id)
	}
	if err := os.WriteFile(filepath.Join(moved, IDFile), []byte("../../etc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ProfileID(moved); got == "../../etc" || len(got) != 16 {
		t.Errorf("id from a damaged file = %q, want the path's", got)
	}
	if entries, _ := os.ReadDir(moved); len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want the id file only (no temp files)", len(entries))
	}
}
