//go:build !keyring_integration

package keyring

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/model"
)

// counting wraps Secrets and counts calls.
type counting struct {
	Secrets
	mu    sync.Mutex
	calls int
}

func (c *counting) count() {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
}
func (c *counting) Get(ctx context.Context, k string) ([]byte, error) {
	c.count()
	return c.Secrets.Get(ctx, k)
}
func (c *counting) Set(ctx context.Context, k string, v []byte) error {
	c.count()
	return c.Secrets.Set(ctx, k, v)
}
func (c *counting) Delete(ctx context.Context, k string) error {
	c.count()
	return c.Secrets.Delete(ctx, k)
}
func (c *counting) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func TestFallbackMovesToMemoryWhenTheKeyringIsUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		backend Backend
	}{
		{"keyring fails", failing{errors.New(`exec: "dbus-launch": executable file not found in $PATH`)}},
		{"keyring hangs", newHanging()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, ok := tt.backend.(*hanging); ok {
				defer close(h.release)
			}
			primary := &counting{Secrets: New(testService, "p1", WithBackend(tt.backend), WithTimeout(50*time.Millisecond))}
			f := NewFallback(primary, NewMemory())
			ctx := context.Background()

			if err := f.Set(ctx, "account/a/token", []byte("tok")); err != nil {
				t.Fatalf("Set = %v, want it kept in memory", err)
			}
			if f.Persistent() {
				t.Error("Persistent() = true after the keyring was unavailable")
			}
			if !errors.Is(f.Reason(), model.ErrUnavailable) {
				t.Errorf("Reason() = %v, want model.ErrUnavailable", f.Reason())
			}
			got, err := f.Get(ctx, "account/a/token")
			if err != nil || string(got) != "tok" {
				t.Errorf("Get = %q, %v; want the value from memory", got, err)
			}
			if err := f.Delete(ctx, "account/a/token"); err != nil {
				t.Errorf("Delete = %v", err)
			}
			if n := primary.n(); n != 1 {
				t.Errorf("keyring tried %d times, want once for the run", n)
			}
		})
	}
}

func TestFallbackKeepsTheKeyringWhenItAnswers(t *testing.T) {
	gokeyring.MockInit()
	ctx := context.Background()
	mem := NewMemory()
	f := NewFallback(New(testService, "p1"), mem)
	if !f.Probe(ctx) {
		t.Fatalf("Probe() = false with a working keyring: %v", f.Reason())
	}
	if err := f.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Get(ctx, "k"); !errors.Is(err, model.ErrNotFound) {
		t.Error("a value went to memory although the keyring works")
	}
	if got, err := New(testService, "p1").Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("keyring holds %q, %v; want v", got, err)
	}
	// the keyring breaks later in the run: the caller hears about it
	gokeyring.MockInitWithError(errors.New("collection is locked"))
	defer gokeyring.MockInit()
	if err := f.Set(ctx, "k", []byte("w")); !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("Set on a broken keyring = %v, want model.ErrUnavailable", err)
	}
	if !f.Persistent() || f.Reason() != nil {
		t.Errorf("Persistent() = %v, Reason() = %v; want true, nil", f.Persistent(), f.Reason())
	}
}

func TestFallbackDecidesNothingOnCallerErrors(t *testing.T) {
	gokeyring.MockInit()
	f := NewFallback(New(testService, "p1"), NewMemory())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Set(cancelled, "k", []byte("v")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Set = %v, want context.Canceled", err)
	}
	if err := f.Set(context.Background(), "", []byte("v")); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("empty key = %v, want model.ErrInvalid", err)
	}
	f.mu.Lock()
	state := f.state
	f.mu.Unlock()
	if state != undecided {
		t.Errorf("state = %v after caller errors, want undecided", state)
	}
}

func TestFallbackIsSafeForConcurrentUse(t *testing.T) {
	f := NewFallback(New(testService, "p1", WithBackend(failing{errors.New("no bus")})), NewMemory())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key, v := string(rune('a'+i)), []byte{byte(i)}
			if err := f.Set(context.Background(), key, v); err != nil {
				t.Error(err)
				return
			}
			if got, err := f.Get(context.Background(), key); err != nil || !bytes.Equal(got, v) {
				t.Errorf("Get(%s) = %v, %v", key, got, err)
			}
		})
	}
	wg.Wait()
	if f.Persistent() {
		t.Error("Persistent() = true with a failing keyring")
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	var m Memory // the zero value works
	if _, err := m.Get(ctx, "k"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Get of missing = %v, want model.ErrNotFound", err)
	}
	v := []byte("secret")
	if err := m.Set(ctx, "k", v); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	got, err := m.Get(ctx, "k")
	if err != nil || string(got) != "secret" {
		t.Fatalf("Get = %q, %v; want the value as set, unaffected by later changes to the caller's slice", got, err)
	}
	got[0] = 'Y'
	if again, _ := m.Get(ctx, "k"); string(again) != "secret" {
		t.Errorf("changing a returned value changed the stored one: %q", again)
	}
	if err := m.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "k"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("second Delete = %v, want model.ErrNotFound", err)
	}
	if err := m.Set(ctx, "", v); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("empty key = %v, want model.ErrInvalid", err)
	}
}

func TestFallbackPersistentDoesNotWaitForTheDecidingCall(t *testing.T) {
	h := newHanging()
	f := NewFallback(New(testService, "p1", WithBackend(h), WithTimeout(time.Minute)), NewMemory())
	setDone := make(chan error, 1)
	go func() { setDone <- f.Set(context.Background(), "k", []byte("v")) }()
	<-h.entered

	answered := make(chan bool, 1)
	go func() { answered <- f.Persistent() }()
	select {
	case p := <-answered:
		if !p {
			t.Error("Persistent() = false while the keyring is still answering")
		}
	case <-time.After(5 * time.Second):
		t.Error("Persistent() blocked behind the deciding keyring call")
	}
	close(h.release)
	if err := <-setDone; err != nil {
		t.Errorf("Set = %v once the keyring answered", err)
	}
	if !f.Persistent() {
		t.Error("Persistent() = false after the keyring answered")
	}
}
