package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

// openWindow runs the desktop window on the profile in dir, as `courier`
// without a command does, until the test ends; it returns the window's
// core once the window runs. with, when set, adjusts its Main.
func openWindow(t *testing.T, dir string, with ...func(*Main)) *app.App {
	t.Helper()
	up, release, done := make(chan *app.App, 1), make(chan struct{}), make(chan result, 1)
	go func() {
		done <- run(t, runOpts{main: func(m *Main) {
			for _, w := range with {
				w(m)
			}
			m.RunGUI = func(_ context.Context, core *app.App, _ string) error {
				up <- core
				<-release
				return nil
			}
		}}, "--profile", dir)
	}()
	var core *app.App
	select {
	case core = <-up:
	case r := <-done:
		t.Fatalf("the window did not start: exit %d, %q", r.code, r.stderr)
	}
	t.Cleanup(func() {
		close(release)
		if r := <-done; r.code != 0 {
			t.Errorf("the window exited %d: %q", r.code, r.stderr)
		}
	})
	return core
}

// TestDataCommandsWorkBesideTheWindow runs send, import, history and
// export on a profile the window has open: they go through the window's
// store (it sees their writes at once); the commands that need the profile
// to themselves say that the window has it.
func TestDataCommandsWorkBesideTheWindow(t *testing.T) {
	ctx := context.Background()
	srv := server(t, false)
	dir := t.TempDir()
	kr := &fakeOSKeyring{entries: map[string]string{}}
	keyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	window := openWindow(t, dir, keyring.main)

	if r := run(t, keyring, "send", "--profile", dir, srv.URL+"/echo?beside-the-window"); r.code != 0 {
		t.Fatalf("send beside the window: exit %d, %q", r.code, r.stderr)
	}
	sums, err := window.History(ctx, app.HistoryQuery{})
	if err != nil || len(sums) != 1 || !strings.Contains(sums[0].URL, "beside-the-window") {
		t.Fatalf("the window's history after the send: %+v, %v", sums, err)
	}
	file := writeTemp(t, "p.json", petstore("Petstore"))
	if r := run(t, keyring, "import", "--profile", dir, file); r.code != 0 || !strings.Contains(r.stdout, "41 requests") {
		t.Fatalf("import beside the window: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if cols, err := window.Collections(ctx); err != nil || len(cols) != 1 {
		t.Fatalf("the window's collections after the import: %v, %v", cols, err)
	}
	if r := run(t, keyring, "history", "--profile", dir); r.code != 0 || !strings.Contains(r.stdout, "beside-the-window") {
		t.Fatalf("history beside the window: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	if r := run(t, keyring, "export", "--profile", dir, "-o", out, "collection", "Petstore"); r.code != 0 {
		t.Fatalf("export beside the window: exit %d, %q", r.code, r.stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "Petstore") {
		t.Fatalf("the exported file: %.80q, %v", b, err)
	}
	for _, args := range [][]string{{"sync"}, {"status"}, {"link", "list"}} {
		r := run(t, keyring, append(args, "--profile", dir)...)
		if r.code != 1 || !strings.Contains(r.stderr, "the Courier window has the profile") {
			t.Errorf("%v beside the window: exit %d, %q; want it to say the window has the profile", args, r.code, r.stderr)
		}
		oneLine(t, r.stderr)
	}
}

// TestStatusBesideTheWindowIsTheWindows: courier status on a profile the
// window has open tells the window's account and live sync.
func TestStatusBesideTheWindowIsTheWindows(t *testing.T) {
	dir := t.TempDir()
	kr := &fakeOSKeyring{entries: map[string]string{}}
	keyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	last := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	openWindow(t, dir, keyring.main, func(m *Main) {
		m.SetStatusSource(func(context.Context) (app.Account, app.SyncStatus, error) {
			a := app.Account{ServerURL: "https://sync.example.com", AccountID: "acc1", Username: "ann", Email: "ann@example.com", SignedIn: true}
			return a, app.SyncStatus{State: app.SyncInSync, Cursor: 42, Pending: 0, LastSync: last}, nil
		})
	})
	r := run(t, keyring, "status", "--json", "--profile", dir)
	var got statusReport
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("status --json beside the window: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if !got.Window || got.Account != "ann" || !got.SignedIn || got.Sync != "IN SYNC" || got.Cursor != 42 || got.LastSync == nil || !got.LastSync.Equal(last) {
		t.Fatalf("status beside the window = %+v", got)
	}
	if r := run(t, keyring, "status", "--profile", dir); r.code != 0 || !strings.Contains(r.stdout, "sync:      IN SYNC (in the Courier window)") {
		t.Fatalf("status beside the window: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestSyncWatchBesideTheWindowFollowsTheWindowsSync: courier sync --watch
// on a profile the window has open prints the window's sync status as it
// changes, until interrupted.
func TestSyncWatchBesideTheWindowFollowsTheWindowsSync(t *testing.T) {
	dir := t.TempDir()
	kr := &fakeOSKeyring{entries: map[string]string{}}
	var mu sync.Mutex
	st := app.SyncStatus{State: app.SyncInSync, Cursor: 42}
	openWindow(t, dir, func(m *Main) { m.ProfileSecrets = kr.secrets }, func(m *Main) {
		m.SetStatusSource(func(context.Context) (app.Account, app.SyncStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			return app.Account{Username: "ann", SignedIn: true}, st, nil
		})
	})
	var out, errb servertest.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, ProfileSecrets: kr.secrets}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- m.Run(ctx, []string{"sync", "--watch", "--profile", dir}) }()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q within 10 s; stdout %q, stderr %q", want, out.String(), errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOut("IN SYNC (cursor 42)\n")
	mu.Lock()
	st = app.SyncStatus{State: app.SyncInSync, Cursor: 43}
	mu.Unlock()
	waitOut("IN SYNC (cursor 43)\n")
	cancel() // Ctrl+C
	if c := <-code; c != ExitOK {
		t.Errorf("exit %d after Ctrl+C, stderr %q", c, errb.String())
	}
	if !strings.Contains(errb.String(), "the Courier window has the profile open") {
		t.Errorf("stderr %q does not say whose sync it shows", errb.String())
	}
}

// TestAStoreErrorCrossesWithItsKind: a record the window's store does not
// hold is model.ErrNotFound for the command too.
func TestAStoreErrorCrossesWithItsKind(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	noKeyring := &fakeOSKeyring{entries: map[string]string{}, down: true}
	openWindow(t, dir, func(m *Main) { m.ProfileSecrets = noKeyring.secrets })
	rs, err := dialProfile(ctx, dir, func(context.Context) ([]byte, error) { return nil, errors.New("no key asked for") })
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if rs.Dir() != dir {
		t.Errorf("Dir = %q, want %q", rs.Dir(), dir)
	}
	_, err = rs.Get(ctx, model.KindRequest, model.NewID())
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Get of a missing record = %v; want ErrNotFound", err)
	}
	var v struct{ A int }
	if err := rs.SetSetting(ctx, "k", struct{ A int }{7}); err != nil {
		t.Fatal(err)
	}
	if err := rs.Setting(ctx, "k", &v); err != nil || v.A != 7 {
		t.Fatalf("Setting = %+v, %v", v, err)
	}
}

// TestTheSocketGoesWithTheWindow: the socket exists while the window is
// open only; the window closes with a command still connected (which then
// hears that it is gone), and the commands open the profile themselves
// after it.
func TestTheSocketGoesWithTheWindow(t *testing.T) {
	dir := t.TempDir()
	kr := &fakeOSKeyring{entries: map[string]string{}}
	keyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	var connected *remoteStore
	t.Run("open", func(t *testing.T) {
		openWindow(t, dir, keyring.main)
		if _, err := os.Stat(filepath.Join(dir, socketName)); err != nil {
			t.Fatalf("no socket while the window is open: %v", err)
		}
		rs, err := dialProfile(context.Background(), dir, func(ctx context.Context) ([]byte, error) {
			return kr.secrets(dir).Get(ctx, storeKeyName)
		})
		if err != nil {
			t.Fatal(err)
		}
		connected = rs // still connected when the window closes
	})
	defer connected.Close()
	if _, err := os.Stat(filepath.Join(dir, socketName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket outlives the window: %v", err)
	}
	if _, err := connected.List(context.Background(), model.KindRequest); !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("a call after the window closed = %v; want ErrUnavailable", err)
	}
	if r := run(t, keyring, "history", "--profile", dir); r.code != 0 {
		t.Fatalf("history once the window is closed: exit %d, %q", r.code, r.stderr)
	}
}

// TestTheWindowLendsAKeyedProfileOnlyToWhoCanReadItsKey: with secret
// values sealed by a key in the OS keyring, a command that reads the same
// key uses the window's profile (secret values resolve); one whose
// keyring lacks the key, or is down, is refused with a clear message.
func TestTheWindowLendsAKeyedProfileOnlyToWhoCanReadItsKey(t *testing.T) {
	srv := server(t, false)
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, store.Options{}) // no key: the value is stored plain
	if err != nil {
		t.Fatal(err)
	}
	plain, err := app.New(db, app.Options{})
	if err == nil {
		_, err = plain.SaveVariable(context.Background(), model.Variable{Owner: model.GlobalsID, Name: "token", Value: "s3cr3t-value", Enabled: true, Secret: true})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	kr := &fakeOSKeyring{entries: map[string]string{}}
	withKeyring := func(m *Main) { m.ProfileSecrets = kr.secrets }
	openWindow(t, dir, withKeyring)
	if len(kr.entries) != 1 {
		t.Fatalf("the window's profile has %d keys in the keyring, want 1", len(kr.entries))
	}
	if fileHolds(t, dir, "s3cr3t-value") {
		t.Fatal("the secret value is not sealed: the test proves nothing")
	}
	r := run(t, runOpts{main: withKeyring}, "send", "--profile", dir, srv.URL+"/echo?t={{token}}")
	if r.code != 0 || !strings.Contains(r.stdout, "s3cr3t-value") {
		t.Fatalf("send with the key beside the window: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	other := &fakeOSKeyring{entries: map[string]string{}}
	r = run(t, runOpts{main: func(m *Main) { m.ProfileSecrets = other.secrets }}, "history", "--profile", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot read the profile's key") {
		t.Fatalf("history without the key beside the window: exit %d, stderr %q; want it refused, saying why", r.code, r.stderr)
	}
	oneLine(t, r.stderr)

	wrong := &fakeOSKeyring{entries: map[string]string{}}
	for k := range kr.entries {
		wrong.entries[k] = strings.Repeat("A", len(kr.entries[k]))
	}
	r = run(t, runOpts{main: func(m *Main) { m.ProfileSecrets = wrong.secrets }}, "history", "--profile", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("history with another key beside the window: exit %d, stderr %q; want it refused", r.code, r.stderr)
	}
	oneLine(t, r.stderr)
}
