package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver/servertest"
)

// folderDigest returns the SHA-256 of every file in dir by name.
func folderDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			out[e.Name()] = "folder"
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// readOnlyProfile fills the profile dir, with its key in kr: one request
// sent to srv (its URL holds "ro-marker"), the collection Petstore, and a
// secret global whose value is sealed.
func readOnlyProfile(t *testing.T, srv string, dir string, kr *fakeOSKeyring) {
	t.Helper()
	withKeyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	if r := run(t, withKeyring, "send", "--profile", dir, srv+"/echo?ro-marker"); r.code != 0 {
		t.Fatalf("send: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, withKeyring, "import", "--profile", dir, writeTemp(t, "p.json", petstore("Petstore"))); r.code != 0 {
		t.Fatalf("import: exit %d, %q", r.code, r.stderr)
	}
	m := &Main{ProfileSecrets: kr.secrets}
	m.defaults()
	p, err := m.openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	core, err := app.New(p.Store, app.Options{})
	if err == nil {
		_, err = core.SaveVariable(context.Background(), model.Variable{Owner: model.GlobalsID, Name: "token", Value: "s3cr3t-ro-value", Enabled: true, Secret: true})
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(kr.entries) != 1 || fileHolds(t, dir, "s3cr3t-ro-value") {
		t.Fatalf("%d keys in the keyring, the value sealed: %v; want 1 key and a sealed value", len(kr.entries), !fileHolds(t, dir, "s3cr3t-ro-value"))
	}
}

// checkReadOnlyCommands runs the reading commands on the profile dir,
// which Courier may not write for reason, and checks that they read it,
// say once that it was opened read-only, and change nothing; the writing
// ones fail with reason.
func checkReadOnlyCommands(t *testing.T, srv, dir, reason string, kr *fakeOSKeyring) {
	t.Helper()
	before := folderDigest(t, dir)
	keys := len(kr.entries)
	withKeyring := runOpts{main: func(m *Main) { m.ProfileSecrets = kr.secrets }}
	notice := "courier: Courier may not write to the profile " + dir + ", so it opened it read-only.\n"
	reads := func(args ...string) result {
		t.Helper()
		r := run(t, withKeyring, append(args, "--profile", dir)...)
		if r.code != 0 || r.stderr != notice {
			t.Fatalf("courier %s: exit %d, stderr %q; want 0 and %q", strings.Join(args, " "), r.code, r.stderr, notice)
		}
		return r
	}

	if r := reads("history"); !strings.Contains(r.stdout, "ro-marker") {
		t.Errorf("history printed %q; want the request sent", r.stdout)
	}
	var hs []historyJSON
	if r := reads("history", "--json"); json.Unmarshal([]byte(r.stdout), &hs) != nil || len(hs) != 1 || !strings.Contains(hs[0].URL, "ro-marker") {
		t.Errorf("history --json printed %q; want one entry as JSON", r.stdout)
	}
	if r := reads("export", "globals"); !strings.Contains(r.stdout, "s3cr3t-ro-value") {
		t.Errorf("export globals printed %q; want the secret value, opened with the key", r.stdout)
	}
	out := filepath.Join(t.TempDir(), "petstore.json")
	reads("export", "collection", "petstore", "-o", out)
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"Petstore"`) || !strings.Contains(string(b), "Request 40") {
		t.Errorf("export -o wrote %.100q, %v; want the collection", b, err)
	}
	var st statusReport
	if r := reads("status", "--offline", "--json"); json.Unmarshal([]byte(r.stdout), &st) != nil || st.Sync != "not signed in" || st.Account != "" {
		t.Errorf("status --json printed %q; want a profile without an account", r.stdout)
	}

	// The commands that write still refuse, saying why.
	for _, args := range [][]string{
		{"send", srv + "/echo"},
		{"import", writeTemp(t, "q.json", petstore("Other"))},
	} {
		r := run(t, withKeyring, append(args, "--profile", dir)...)
		if r.code != 1 || !strings.Contains(r.stderr, reason) || strings.Contains(r.stderr, "opened it read-only") {
			t.Errorf("courier %s: exit %d, stderr %q; want 1 saying %q", args[0], r.code, r.stderr, reason)
		}
	}
	// Without the key, the sealed values stay locked, and no key is made.
	empty := &fakeOSKeyring{entries: map[string]string{}}
	r := run(t, runOpts{main: func(m *Main) { m.ProfileSecrets = empty.secrets }}, "export", "globals", "--profile", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "unlock the OS keyring") || len(empty.entries) != 0 {
		t.Errorf("export without the key: exit %d, stderr %q, %d keys made; want 1 saying unlock the OS keyring, none made", r.code, r.stderr, len(empty.entries))
	}

	if len(kr.entries) != keys {
		t.Errorf("the keyring holds %d entries; want %d as before", len(kr.entries), keys)
	}
	after := folderDigest(t, dir)
	if len(after) != len(before) {
		t.Errorf("the profile folder holds %v; want %v", after, before)
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("%s changed in the profile folder", name)
		}
	}
}

func TestReadingCommandsReadAProfileCourierMayNotWrite(t *testing.T) {
	srv := server(t, false).URL
	t.Run("a courier.db of mode 0400", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root may write a file of any mode, so the profile opens read-write; the read-only file system case below runs as root")
		}
		dir := t.TempDir()
		kr := &fakeOSKeyring{entries: map[string]string{}}
		readOnlyProfile(t, srv, dir, kr)
		db := filepath.Join(dir, store.FileName)
		if err := os.Chmod(db, 0o400); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(db, 0o600) })
		checkReadOnlyCommands(t, srv, dir, "permission denied", kr)
	})
	t.Run("a courier.db of mode 0400 on a read-only file system", func(t *testing.T) {
		fs := servertest.MountTmpfs(t, "16m")
		dir := filepath.Join(fs.Dir, "profile")
		kr := &fakeOSKeyring{entries: map[string]string{}}
		readOnlyProfile(t, srv, dir, kr)
		if err := os.Chmod(filepath.Join(dir, store.FileName), 0o400); err != nil {
			t.Fatal(err)
		}
		fs.Remount(t, syscall.MS_RDONLY, "")
		checkReadOnlyCommands(t, srv, dir, "read-only file system", kr)

		// A profile that is not there has nothing to read, and a command
		// that only reads makes none.
		r := run(t, runOpts{}, "history", "--profile", filepath.Join(fs.Dir, "new"))
		if r.code != 1 || !strings.Contains(r.stderr, "there is no Courier profile in "+filepath.Join(fs.Dir, "new")) {
			t.Errorf("history of a missing profile: exit %d, stderr %q", r.code, r.stderr)
		}
		oneLine(t, r.stderr)
	})
}

// A profile opened read-only cannot remember that the server ended its
// session; status tells it all the same. The account commands that only
// read work on it too.
func TestStatusOfAReadOnlyProfileTellsARevokedSession(t *testing.T) {
	c := newSyncCLI(t)
	fs := servertest.MountTmpfs(t, "16m")
	laptop, desktop := filepath.Join(fs.Dir, "laptop"), filepath.Join(fs.Dir, "desktop")
	const pw = "correct horse battery"
	signedIn(t, c, laptop, "ann", pw)
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "devices", "--revoke", sessionOf(t, c, desktop))
	fs.Remount(t, syscall.MS_RDONLY, "")

	status := func(flags ...string) statusReport {
		t.Helper()
		res := c.run(desktop, "", append([]string{"status", "--json"}, flags...)...)
		var r statusReport
		if res.code != 0 || !strings.Contains(res.stderr, "so it opened it read-only") || json.Unmarshal([]byte(res.stdout), &r) != nil {
			t.Fatalf("status %v: exit %d, stdout %q, stderr %q; want JSON and the read-only notice", flags, res.code, res.stdout, res.stderr)
		}
		return r
	}
	if r := status("--offline"); !r.SignedIn {
		t.Fatalf("status --offline before the device learnt of the revocation = %+v", r)
	}
	r := status()
	if r.SignedIn || r.Sync != "action needed: sign in again" || !strings.Contains(r.Why, "the server ended this device's session") {
		t.Fatalf("status after the server refused the session = %+v", r)
	}
	// Not remembered: the profile may not be written.
	if r := status("--offline"); !r.SignedIn {
		t.Fatalf("status --offline after the refusal = %+v; want what the profile holds", r)
	}
	c.fails(desktop, "", "sign in again", "devices")

	for _, args := range [][]string{{"devices"}, {"link", "list"}} {
		r := c.run(laptop, "", args...)
		if r.code != 0 || !strings.Contains(r.stderr, "so it opened it read-only") || !strings.HasPrefix(r.stdout, "ID ") {
			t.Errorf("courier %s on a read-only profile: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	if r := c.run(laptop, "", "devices", "--revoke", "x"); r.code != 1 || !strings.Contains(r.stderr, "read-only file system") {
		t.Errorf("devices --revoke on a read-only profile: exit %d, stderr %q; want the profile's error", r.code, r.stderr)
	}
}
