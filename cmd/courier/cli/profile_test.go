package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/keyring"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// fakeOSKeyring is a keyring.Backend: a map, or down (every call fails
// as with no D-Bus session).
type fakeOSKeyring struct {
	mu      sync.Mutex
	entries map[string]string
	down    bool
}

func (f *fakeOSKeyring) Set(service, user, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("dbus: no session bus")
	}
	f.entries[service+"|"+user] = password
	return nil
}

func (f *fakeOSKeyring) Get(service, user string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", errors.New("dbus: no session bus")
	}
	v, ok := f.entries[service+"|"+user]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeOSKeyring) Delete(service, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("dbus: no session bus")
	}
	delete(f.entries, service+"|"+user)
	return nil
}

func (f *fakeOSKeyring) secrets(dir string) keyring.PersistentSecrets {
	return keyring.NewFallback(keyring.New(keyringService, keyring.ProfileID(dir), keyring.WithBackend(f)), keyring.NewMemory())
}

// putSecretVariable stores a secret variable in the profile dir, opened
// without a key (as an older Courier did).
func putSecretVariable(t *testing.T, dir, value string) {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := json.Marshal(value)
	op := model.Op{Kind: model.KindVariable, ID: model.NewID(), Fields: model.Fields{
		"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(`"token"`), "value": v, "secret": json.RawMessage("true"),
	}}
	if err := db.Apply(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

func TestSecretValuesAreSealedWithAKeyInTheKeyring(t *testing.T) {
	const marker = "MARKER-cli-5ecret"
	dir := t.TempDir()
	putSecretVariable(t, dir, marker)
	kr := &fakeOSKeyring{entries: map[string]string{}}
	opts := runOpts{env: map[string]string{"COURIER_PROFILE": dir}, main: func(m *Main) { m.ProfileSecrets = kr.secrets }}

	if r := run(t, opts, "history"); r.code != 0 || r.stderr != "" {
		t.Fatalf("history with a keyring: exit %d, stderr %q; want success, no warning", r.code, r.stderr)
	}
	if len(kr.entries) != 1 {
		t.Errorf("keyring entries = %d; want the profile's key", len(kr.entries))
	}
	if fileHolds(t, dir, marker) {
		t.Error("courier.db still holds the secret value in plain text")
	}
	if r := run(t, opts, "history"); r.code != 0 || r.stderr != "" {
		t.Fatalf("history again: exit %d, stderr %q", r.code, r.stderr)
	}

	kr.down = true
	r := run(t, opts, "history")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "unlock the OS keyring") {
		t.Fatalf("history with the keyring down: exit %d, stderr %q; want exit 1 naming the remedy", r.code, r.stderr)
	}
	oneLine(t, r.stderr)

	kr.down = false
	kr.entries = map[string]string{} // the keyring was reset: the key is lost
	r = run(t, opts, "history")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "holds no key for this profile") {
		t.Fatalf("history after the key was lost: exit %d, stderr %q", r.code, r.stderr)
	}
	if len(kr.entries) != 0 {
		t.Error("a new, useless key was left in the keyring")
	}
}

func TestWithoutAKeyringTheCLIWarnsThatSecretsAreUnencrypted(t *testing.T) {
	const marker = "MARKER-cli-plain"
	kr := &fakeOSKeyring{entries: map[string]string{}, down: true}
	dir := t.TempDir()
	opts := runOpts{env: map[string]string{"COURIER_PROFILE": dir}, main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	if r := run(t, opts, "sync", "off"); r.code != 0 || r.stderr != "" { // makes the profile
		t.Fatalf("sync off: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, opts, "history"); r.code != 0 || r.stderr != "" {
		t.Fatalf("history of a profile without secrets: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
	putSecretVariable(t, dir, marker)
	r := run(t, opts, "history")
	if r.code != 0 || !strings.Contains(r.stderr, "the value of 1 secret variable is stored unencrypted") {
		t.Fatalf("history without a keyring: exit %d, stderr %q; want success with a warning", r.code, r.stderr)
	}
	oneLine(t, r.stderr)
	if !fileHolds(t, dir, marker) {
		t.Error("the value is not where the warning says it is: the test proves nothing")
	}
}

// sealedProfile opens a profile in dir with a fake OS keyring, stores a
// sealed secret value "kept" in it and returns m, the open profile and the
// variable's id.
func sealedProfile(t *testing.T, dir string) (*Main, *Profile, model.ID) {
	t.Helper()
	kr := &fakeOSKeyring{entries: map[string]string{}}
	m := &Main{ProfileSecrets: kr.secrets}
	m.defaults()
	p, err := m.openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	id := model.NewID()
	err = p.Store.(*store.DB).Apply(context.Background(), model.Op{Kind: model.KindVariable, ID: id, Fields: model.Fields{"value": json.RawMessage(`"kept"`), "secret": json.RawMessage("true")}})
	if err != nil {
		t.Fatal(err)
	}
	return m, p, id
}

// wantKept fails unless the profile in dir opens and shows the value.
func wantKept(t *testing.T, m *Main, dir string, id model.ID, what string) {
	t.Helper()
	ctx := context.Background()
	p, err := m.openStore(ctx, dir)
	if err != nil {
		t.Fatalf("open %s: %v", what, err)
	}
	defer p.Close()
	if r, err := p.Store.Get(ctx, model.KindVariable, id); err != nil || string(r.Fields["value"]) != `"kept"` {
		t.Errorf("the value of %s = %s, %v", what, r.Fields["value"], err)
	}
}

func TestAProfileCopyOpensOnceItIsGivenTheKey(t *testing.T) {
	ctx := context.Background()
	from, to := t.TempDir(), t.TempDir()
	m, p, id := sealedProfile(t, from)
	if err := p.Store.(*store.DB).CopyTo(ctx, filepath.Join(to, store.FileName)); err != nil { // as keeping local data aside does
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.openStore(ctx, to); !errors.Is(err, store.ErrSecretsLocked) {
		t.Fatalf("open the copy without its key = %v; want ErrSecretsLocked", err)
	}
	if err := m.copyProfileKey(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	wantKept(t, m, to, id, "the copy with the key")
}

// TestAMovedProfileOpensWithItsKey: a profile holding a sealed secret
// value, moved to another folder (a restored backup, a new home), still
// finds its key in the keyring and opens.
func TestAMovedProfileOpensWithItsKey(t *testing.T) {
	root := t.TempDir()
	from, to := filepath.Join(root, "courier"), filepath.Join(root, "restored")
	m, p, id := sealedProfile(t, from)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	wantKept(t, m, to, id, "the moved profile")
}

// TestSecretVariablesSyncBetweenSealedProfiles: a secret value typed on
// one device reaches the other through the real server, and neither
// profile file holds it in plain text.
func TestSecretVariablesSyncBetweenSealedProfiles(t *testing.T) {
	gokeyring.MockInit() // an OS keyring that lasts across commands
	const marker, pw = "MARKER-synced-secret", "correct horse battery"
	srv := startSyncServer(t)
	c := accountCLI{t: t, srv: srv}
	laptop, desktop := t.TempDir(), t.TempDir()
	c.ok(laptop, pw+"\n", "signup", "--email", "ann@example.com", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "confirm", srv.NextMail(t, "confirm").Links[0])
	c.ok(laptop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	var env model.ID
	withProfile(t, laptop, func(ctx context.Context, a *app.App) {
		e, err := a.CreateEnvironment(ctx, "prod")
		if err != nil {
			t.Fatal(err)
		}
		env = e.ID
		if _, err := a.SaveVariable(ctx, model.Variable{Owner: env, Name: "token", Value: marker, Enabled: true, Secret: true}); err != nil {
			t.Fatal(err)
		}
	})
	c.ok(laptop, "", "sync")
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(desktop, "", "sync")
	withProfile(t, desktop, func(ctx context.Context, a *app.App) {
		vars, err := a.Variables(ctx, env)
		if err != nil || len(vars) != 1 || vars[0].Value != marker || !vars[0].Secret {
			t.Fatalf("desktop variables = %+v, %v; want the secret token", vars, err)
		}
	})
	for _, dir := range []string{laptop, desktop} {
		if fileHolds(t, dir, marker) {
			t.Errorf("%s holds the secret value in plain text", dir)
		}
	}
}

// A profile whose keyring name cannot be kept in it says what that risks.
func TestAProfileThatCannotKeepItsKeyringNameSaysSo(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, keyring.IDFile), 0o700); err != nil { // a folder where the file goes
		t.Fatal(err)
	}
	kr := &fakeOSKeyring{entries: map[string]string{}}
	r := run(t, runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}, "import", "--profile", dir, writeTemp(t, "p.json", petstore("Petstore")))
	want := "courier: Courier could not keep this profile's keyring name in " + filepath.Join(dir, keyring.IDFile) + " ("
	if r.code != 0 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "were the folder moved") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want one line starting %q", r.code, r.stderr, want)
	}
}
