package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
)

// putRequest writes one request into the closed profile dir.
func putRequest(t *testing.T, dir, name string) model.ID {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := model.NewID()
	if err := db.Apply(ctx, model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": json.RawMessage(`"` + name + `"`)}}); err != nil {
		t.Fatal(err)
	}
	return id
}

// requestNames lists the names of the visible requests of dir.
func requestNames(t *testing.T, dir string) []string {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.List(context.Background(), model.KindRequest)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		var n string
		_ = json.Unmarshal(r.Fields["name"], &n)
		names = append(names, n)
	}
	return names
}

func statusJSON(t *testing.T, c accountCLI, dir string, flags ...string) statusReport {
	t.Helper()
	var r statusReport
	if err := json.Unmarshal([]byte(c.ok(dir, "", append([]string{"status", "--json"}, flags...)...)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncCommandsEndToEnd(t *testing.T) {
	c := newSyncCLI(t)
	laptop, desktop := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"

	c.fails(laptop, "", "there is no Courier profile in "+laptop, "status")
	c.ok(laptop, "", "sync", "off") // a profile, without an account
	c.ok(laptop, "", "sync", "on")
	if out := c.ok(laptop, "", "status"); !strings.Contains(out, "account:   none") || !strings.Contains(out, "sync:      not signed in") {
		t.Fatalf("status before an account:\n%s", out)
	}
	if r := c.run(laptop, "", "sync"); r.code != ExitFailure || r.stderr != "courier sync: not signed in; sign in with 'courier login'\n" {
		t.Errorf("sync before an account: exit %d, stderr %q; want it to name courier login", r.code, r.stderr)
	}
	c.ok(laptop, pw+"\n", "signup", "--email", "ann@example.com", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "confirm", c.srv.NextMail(t, "confirm").Links[0])

	putRequest(t, laptop, "made on the laptop before signing in")
	if out := c.ok(laptop, pw+"\n", "login", "--username", "ann", "--password-stdin"); !strings.Contains(out, "1 local item will be merged") {
		t.Fatalf("login with local work said:\n%s", out)
	}
	if r := statusJSON(t, c, laptop); r.Sync != "on" || r.Pending != 1 || r.LastSync != nil || !r.SignedIn {
		t.Fatalf("status before the first sync = %+v", r)
	}
	if out := c.ok(laptop, "", "sync"); !strings.Contains(out, "pushed 1 change;") {
		t.Fatalf("sync said %q", out)
	}

	putRequest(t, desktop, "desktop only")
	out := c.ok(desktop, pw+"\n", "login", "--email", "ann@example.com", "--password-stdin", "--keep-local")
	_, kept, ok := strings.Cut(out, "courier --profile ")
	if !ok {
		t.Fatalf("login --keep-local said:\n%s", out)
	}
	kept = strings.TrimSpace(kept)
	if out := c.ok(desktop, "", "sync"); !strings.Contains(out, "pulled 1 change,") {
		t.Fatalf("desktop sync said %q", out)
	}
	if got := requestNames(t, desktop); len(got) != 1 || got[0] != "made on the laptop before signing in" {
		t.Errorf("desktop requests = %q, want the laptop's only", got)
	}
	if got := requestNames(t, kept); len(got) != 1 || got[0] != "desktop only" {
		t.Errorf("kept-aside requests = %q, want the desktop's own", got)
	}

	c.ok(desktop, "", "sync", "off")
	putRequest(t, desktop, "typed while sync is off")
	if r := statusJSON(t, c, desktop); r.Sync != "sync off" || r.Pending != 1 {
		t.Errorf("status while off = %+v", r)
	}
	if r := c.run(desktop, "", "sync"); r.code != ExitFailure || r.stderr != "courier sync: sync is off on this profile; turn it on first ('courier sync on')\n" {
		t.Errorf("sync while off: exit %d, stderr %q; want it to name courier sync on", r.code, r.stderr)
	}
	// --watch says it in the same words, once.
	if r := c.run(desktop, "", "sync", "--watch"); r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "sync is off on this profile; turn it on first") {
		t.Errorf("sync --watch while off: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	c.ok(desktop, "", "sync", "on")
	c.ok(desktop, "", "sync")
	if out := c.ok(laptop, "", "sync"); !strings.Contains(out, "pulled 1 change,") {
		t.Fatalf("laptop sync said %q", out)
	}
	r := statusJSON(t, c, laptop)
	if r.Pending != 0 || r.Cursor != 2 || r.LastSync == nil || r.Server != c.srv.URL {
		t.Errorf("final status = %+v", r)
	}
}

// newSyncCLI starts a sync server and an in-process OS keyring (emptied)
// for the CLI tests of sync.
func newSyncCLI(t *testing.T) accountCLI {
	t.Helper()
	gokeyring.MockInit()
	return accountCLI{t: t, srv: startSyncServer(t)}
}

// signedIn creates the account user on c's server (email user@example.com,
// password pw), confirms it and signs profile dir in to it.
func signedIn(t *testing.T, c accountCLI, dir, user, pw string) {
	t.Helper()
	c.ok(dir, pw+"\n", "signup", "--email", user+"@example.com", "--username", user, "--password-stdin")
	c.ok(dir, "", "confirm", c.srv.NextMail(t, "confirm").Links[0])
	c.ok(dir, pw+"\n", "login", "--username", user, "--password-stdin")
}

func TestSyncWatchPrintsStatusUntilInterrupted(t *testing.T) {
	c := newSyncCLI(t)
	dir := t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, dir, "bob", pw)

	w := startWatch(t, c, dir)
	other := t.TempDir() // another device pushes a request: the watch shows it arrive
	c.ok(other, pw+"\n", "login", "--username", "bob", "--password-stdin")
	putRequest(t, other, "from the other device")
	c.ok(other, "", "sync")
	w.waitFor("the change pulled printed its line", func() bool { return strings.Contains(w.out.String(), "IN SYNC (cursor 1)\n") })
	w.stop()
}

// watch is a courier sync --watch running in this process.
type watch struct {
	t         *testing.T
	out, errb servertest.Buffer
	cancel    context.CancelFunc
	code      chan int
}

// startWatch runs courier sync --watch on dir, beside c's server, and
// waits for its IN SYNC line.
func startWatch(t *testing.T, c accountCLI, dir string) *watch {
	t.Helper()
	w := &watch{t: t, code: make(chan int, 1)}
	env := map[string]string{"COURIER_SERVER": c.srv.URL, "COURIER_CA": c.srv.CAFile}
	m := &Main{Stdout: &w.out, Stderr: &w.errb, Getenv: func(k string) string { return env[k] }}
	var ctx context.Context
	ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(w.cancel)
	go func() { w.code <- m.Run(ctx, []string{"sync", "--watch", "--profile", dir}) }()
	w.waitFor("IN SYNC", func() bool { return strings.Contains(w.out.String(), "IN SYNC") })
	return w
}

// waitFor polls ok for up to 10 s.
func (w *watch) waitFor(what string, ok func() bool) {
	w.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not within 10 s; stdout %q, stderr %q", what, w.out.String(), w.errb.String())
		}
	}
}

// stop presses Ctrl+C and checks that the watch ends well.
func (w *watch) stop() {
	w.t.Helper()
	w.cancel()
	if c := <-w.code; c != ExitOK {
		w.t.Errorf("exit %d after Ctrl+C, stderr %q", c, w.errb.String())
	}
}

// While courier sync --watch runs, the data commands and status work
// beside it through the profile's socket, and their writes are pushed at
// once; the commands that need the profile alone say what holds it.
func TestCommandsWorkBesideSyncWatch(t *testing.T) {
	c := newSyncCLI(t)
	dir, other := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, dir, "bob", pw)
	c.ok(other, pw+"\n", "login", "--username", "bob", "--password-stdin")
	w := startWatch(t, c, dir)

	if out := c.ok(dir, "", "import", filepath.Join("..", "..", "..", "testdata", "postman", "dev.postman_environment.json")); !strings.Contains(out, `imported environment "Dev"`) {
		t.Fatalf("import beside --watch said %q", out)
	}
	c.ok(dir, "", "history")
	if r := statusJSON(t, c, dir); r.LiveFrom != "courier sync --watch" || r.Window || r.Account != "bob" {
		t.Errorf("status beside --watch = %+v; want the live sync of courier sync --watch", r)
	}
	if out := c.ok(dir, "", "status"); !strings.Contains(out, "(in courier sync --watch)") {
		t.Errorf("status beside --watch said:\n%s", out)
	}
	c.fails(dir, "", "courier sync --watch has the profile "+dir+" open: stop it first", "devices")

	// The import reached the account through the watch's sync.
	var exported string
	w.waitFor("the import pushed", func() bool {
		c.ok(other, "", "sync")
		r := c.run(other, "", "export", "environment", "Dev")
		exported = r.stdout
		return r.code == 0
	})
	if !strings.Contains(exported, "baseUrl") {
		t.Errorf("the other device's copy of the environment: %s", exported)
	}
	w.stop()
	c.ok(dir, "", "devices") // the profile is free again
}

func TestSyncUsage(t *testing.T) {
	for _, args := range [][]string{{"sync", "maybe"}, {"sync", "on", "--watch"}, {"sync", "on", "off"}, {"status", "extra"}} {
		r := run(t, runOpts{}, append(args, "--profile", t.TempDir())...)
		if r.code != ExitUsage {
			t.Errorf("courier %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), r.code, ExitUsage, r.stderr)
		}
	}
	r := run(t, runOpts{}, "sync", "--profile", t.TempDir())
	if r.code != ExitFailure || !strings.HasPrefix(r.stderr, "courier sync: not signed in") {
		t.Errorf("sync without an account: exit %d, stderr %q", r.code, r.stderr)
	}
}

// logout --remove-data pushes the changes made here first, and keeps the
// data when it cannot.
func TestLogoutRemoveDataLosesNoChange(t *testing.T) {
	c := newSyncCLI(t)
	laptop, desktop := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, laptop, "ann", pw)
	putRequest(t, laptop, "synced")
	c.ok(laptop, "", "sync")
	putRequest(t, laptop, "not pushed yet")

	out := c.ok(laptop, "", "logout", "--remove-data")
	if !strings.Contains(out, "Signed out") || !strings.Contains(out, "data was removed") {
		t.Fatalf("logout --remove-data said:\n%s", out)
	}
	if got := requestNames(t, laptop); len(got) != 0 {
		t.Fatalf("requests left after the removal: %q", got)
	}
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(desktop, "", "sync")
	if got := requestNames(t, desktop); len(got) != 2 {
		t.Fatalf("the account holds %q, want both requests: the pending one was pushed before the removal", got)
	}

	c.ok(desktop, "", "sync", "off")
	putRequest(t, desktop, "typed while sync is off")
	// The change cannot be pushed: nothing is done, the session stays,
	// so turning sync on is enough to finish.
	r := c.run(desktop, "", "logout", "--remove-data")
	if r.code == 0 || strings.Contains(r.stdout, "Signed out") ||
		!strings.Contains(r.stderr, "nothing was done") || !strings.Contains(r.stderr, "1 change made here has not reached the server") ||
		!strings.Contains(r.stderr, "sync is off") || strings.Contains(r.stderr, "conflict") {
		t.Fatalf("logout --remove-data with sync off: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if got := requestNames(t, desktop); len(got) != 3 {
		t.Fatalf("requests after a refused removal: %q, want all 3", got)
	}
	c.ok(desktop, "", "devices")
	// Signed out with the change pending (a plain logout keeps the data),
	// the change is still refused removal.
	c.ok(desktop, "", "logout")
	r = c.run(desktop, "", "logout", "--remove-data")
	if r.code == 0 || !strings.Contains(r.stdout, "Signed out already") || !strings.Contains(r.stderr, "1 change made here has not reached the server") {
		t.Fatalf("logout --remove-data once signed out, a change pending: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	// A plain logout keeps the data; --remove-data then removes it.
	other := t.TempDir()
	c.ok(other, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(other, "", "sync")
	c.ok(other, "", "logout")
	if got := requestNames(t, other); len(got) != 2 {
		t.Fatalf("requests after a plain logout: %q, want the account's 2", got)
	}
	if out := c.ok(other, "", "logout", "--remove-data"); !strings.Contains(out, "Signed out already") || !strings.Contains(out, "data was removed") {
		t.Fatalf("logout --remove-data once signed out said:\n%s", out)
	}
	if got := requestNames(t, other); len(got) != 0 {
		t.Fatalf("requests left after the removal: %q", got)
	}
}

// A profile whose session is gone from the keyring (reset, or none was
// reachable at sign-in) is reported as not signed in, and why.
func TestStatusSaysWhenTheSessionIsGone(t *testing.T) {
	c := newSyncCLI(t)
	dir := t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, dir, "ann", pw)
	if r := statusJSON(t, c, dir); !r.SignedIn || r.Why != "" {
		t.Fatalf("status signed in = %+v", r)
	}
	gokeyring.MockInit() // a keyring emptied since
	if r := statusJSON(t, c, dir); r.SignedIn || r.Sync != "not signed in" || !strings.Contains(r.Why, "no longer holds the session of ann") {
		t.Fatalf("status without the session = %+v", r)
	}
	if out := c.ok(dir, "", "status"); !strings.Contains(out, "account:   ann (ann@example.com), not signed in: this device no longer holds the session of ann; sign in again\n") {
		t.Fatalf("status said:\n%s", out)
	}
}

// A session revoked from another device is refused at the next sync (or
// status check); the profile remembers it, so status and sync say "sign in
// again" without asking the server, until a sign-in.
func TestSyncRemembersASessionRevokedFromAnotherDevice(t *testing.T) {
	c := newSyncCLI(t)
	laptop, desktop := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, laptop, "ann", pw)
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(laptop, "", "devices", "--revoke", sessionOf(t, c, desktop))
	if r := statusJSON(t, c, desktop, "--offline"); !r.SignedIn {
		t.Fatalf("status --offline before the device learnt of the revocation = %+v", r)
	}
	c.fails(desktop, "", "sign in again", "sync")
	r := statusJSON(t, c, desktop, "--offline")
	if r.SignedIn || r.Sync != "action needed: sign in again" || !strings.Contains(r.Why, "the server ended this device's session") {
		t.Fatalf("status after the refusal = %+v", r)
	}
	c.fails(desktop, "", "the server ended this device's session", "sync")
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(desktop, "", "sync")
	if r := statusJSON(t, c, desktop); !r.SignedIn || r.Why != "" || r.Sync != "on" || r.ServerError != "" {
		t.Fatalf("status after signing in again = %+v", r)
	}

	// Status asks the server: a revocation shows without a sync.
	c.ok(laptop, "", "devices", "--revoke", sessionOf(t, c, desktop))
	if r := statusJSON(t, c, desktop); r.SignedIn || !strings.Contains(r.Why, "the server ended this device's session") {
		t.Fatalf("status after a second revocation = %+v", r)
	}
	// A server that cannot be reached is named, and the rest is what the
	// device knows.
	c.srv.Stop()
	out := c.ok(laptop, "", "status")
	if !strings.Contains(out, "account:   ann (ann@example.com), signed in") || !strings.Contains(out, " (not reached: cannot connect to ") {
		t.Fatalf("status with the server down:\n%s", out)
	}
	if strings.Contains(out, "last error:") {
		t.Fatalf("status shows a sync failure before any:\n%s", out)
	}
	// A sync that fails is remembered for later runs' status, until one
	// succeeds.
	putRequest(t, laptop, "made while the server is down")
	c.fails(laptop, "", "cannot connect to ", "sync")
	if out := c.ok(laptop, "", "status", "--offline"); !strings.Contains(out, "pending:   1 change") || !strings.Contains(out, "last error: sync: cannot connect to ") {
		t.Fatalf("status after a failed sync:\n%s", out)
	}
	c.srv.Restart(t)
	c.ok(laptop, "", "sync")
	if r := statusJSON(t, c, laptop); r.LastError != "" || r.Pending != 0 {
		t.Fatalf("status after a sync that succeeded = %+v", r)
	}
}

// sessionOf returns the session id of profile dir, from its devices list.
func sessionOf(t *testing.T, c accountCLI, dir string) string {
	t.Helper()
	for _, line := range strings.Split(c.ok(dir, "", "devices"), "\n") {
		if strings.Contains(line, "(this device)") {
			return strings.Fields(line)[0]
		}
	}
	t.Fatalf("no device of %s in its list", dir)
	return ""
}

func TestSyncWatchSaysWhyItIsOffline(t *testing.T) {
	cases := []struct {
		st   app.SyncStatus
		want string
	}{
		{app.SyncStatus{State: app.SyncOffline, RetryIn: 2e9, LastError: "read changes after 3: disk I/O error: unavailable"},
			"offline (retry in 2s): read changes after 3: disk I/O error"},
		{app.SyncStatus{State: app.SyncOffline, RetryIn: 2e9}, "offline (retry in 2s)"},
		{app.SyncStatus{State: app.SyncInSync, Cursor: 12, LastError: "an old failure"}, "IN SYNC (cursor 12)"},
	}
	for _, c := range cases {
		if got := watchLine(c.st); got != c.want {
			t.Errorf("watchLine(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}

// Signing in to another account on a profile that holds the data of the
// account signed out of merges nothing unasked: --keep-local keeps it
// aside, --merge merges it.
func TestLoginDoesNotMergeAnotherAccountsDataUnasked(t *testing.T) {
	c := newSyncCLI(t)
	dir, other := t.TempDir(), t.TempDir()
	const pw = "correct horse battery"
	signedIn(t, c, dir, "ann", pw)
	putRequest(t, dir, "ann's request")
	c.ok(dir, "", "sync")
	c.ok(dir, "", "logout")
	signedIn(t, c, other, "bob", pw) // bob's account, from elsewhere

	r := c.run(dir, pw+"\n", "login", "--username", "bob", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "holds the data of another account") || !strings.Contains(r.stderr, "--keep-local") {
		t.Fatalf("login as bob over ann's data: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if st := statusJSON(t, c, dir); st.Pending != 0 || !strings.Contains(st.Sync, "merge or keep aside") {
		t.Fatalf("status after the refused join = %+v, want nothing queued and the choice asked for", st)
	}
	c.fails(dir, "", "exclude each other", "login", "--username", "bob", "--keep-local", "--merge")

	out := c.ok(dir, pw+"\n", "login", "--username", "bob", "--password-stdin", "--keep-local")
	_, kept, ok := strings.Cut(out, "courier --profile ")
	if !ok {
		t.Fatalf("login --keep-local said:\n%s", out)
	}
	if got := requestNames(t, strings.TrimSpace(kept)); len(got) != 1 || got[0] != "ann's request" {
		t.Errorf("kept aside: %q, want ann's request", got)
	}
	c.ok(dir, "", "sync")
	c.ok(other, "", "sync")
	if got := requestNames(t, other); len(got) != 0 {
		t.Errorf("bob's account got %q from ann's data", got)
	}

	// With --merge, another such profile merges into bob.
	third := t.TempDir()
	signedIn(t, c, third, "cat", pw)
	putRequest(t, third, "cat's request")
	c.ok(third, "", "sync")
	c.ok(third, "", "logout")
	if out := c.ok(third, pw+"\n", "login", "--username", "bob", "--password-stdin", "--merge"); !strings.Contains(out, "1 local item will be merged") {
		t.Fatalf("login --merge said:\n%s", out)
	}
}

// After the server is put back from a backup, `courier sync` says that
// the device started over, and pushes back only what the copy lacks.
func TestSyncSaysWhenTheServerLostChanges(t *testing.T) {
	c := newSyncCLI(t)
	laptop := t.TempDir()
	signedIn(t, c, laptop, "ann", "correct horse battery")
	putRequest(t, laptop, "kept")
	c.ok(laptop, "", "sync")
	backup := filepath.Join(t.TempDir(), "server.db")
	if _, err := c.srv.Storage().BackupFile(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	putRequest(t, laptop, "lost")
	c.ok(laptop, "", "sync")
	c.srv.PutBack(t, backup)

	out := c.ok(laptop, "", "sync")
	if !strings.Contains(out, "pushed 1 change;") || !strings.Contains(out, "restored from a backup") {
		t.Fatalf("sync after the restore said:\n%s", out)
	}
	if out := c.ok(laptop, "", "sync"); strings.Contains(out, "restored") {
		t.Errorf("the next sync said again:\n%s", out)
	}
	desktop := t.TempDir()
	c.ok(desktop, "correct horse battery\n", "login", "--username", "ann", "--password-stdin")
	c.ok(desktop, "", "sync")
	if got := requestNames(t, desktop); len(got) != 2 {
		t.Errorf("a new device got %q; want both requests", got)
	}
}

// After a password reset that erased the account's data (no recovery
// key), a device that synced before starts over once signed in again: it
// pushes what it holds, so the account is whole again, and a device that
// joins later gets it.
func TestDevicesPushTheirDataAgainAfterAnErase(t *testing.T) {
	c := newSyncCLI(t)
	laptop, desktop := t.TempDir(), t.TempDir()
	const email, pw, newPW = "ann@example.com", "correct horse battery", "new horse battery"
	signedIn(t, c, laptop, "ann", pw)
	putRequest(t, laptop, "one")
	putRequest(t, laptop, "two")
	c.ok(laptop, "", "sync")
	c.ok(desktop, pw+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(desktop, "", "sync")

	c.ok(laptop, "", "password", "forgot", "--email", email)
	code := resetCodeRE.FindString(c.srv.NextMail(t, "reset").Text)
	c.ok(laptop, newPW+"\n", "password", "reset", "--email", email, "--code", code, "--erase-data", "--password-stdin")
	c.ok(laptop, newPW+"\n", "login", "--username", "ann", "--password-stdin")
	if out := c.ok(laptop, "", "sync"); !strings.Contains(out, "pushed 2 changes;") || !strings.Contains(out, "erased") {
		t.Fatalf("the laptop's first sync after the erase said:\n%s", out)
	}
	c.ok(desktop, newPW+"\n", "login", "--username", "ann", "--password-stdin")
	if out := c.ok(desktop, "", "sync"); !strings.Contains(out, "pushed 0 changes;") {
		t.Errorf("the desktop, holding the same, said:\n%s", out)
	}
	fresh := t.TempDir()
	c.ok(fresh, newPW+"\n", "login", "--username", "ann", "--password-stdin")
	c.ok(fresh, "", "sync")
	for name, dir := range map[string]string{"desktop": desktop, "a new device": fresh} {
		if got := requestNames(t, dir); len(got) != 2 {
			t.Errorf("%s holds %q; want both requests once", name, got)
		}
	}
}

// Signed in to another account, status tells the sync of that account:
// the store's cursor, and no last sync until the profile is in sync with
// it (nor the last error of the account before).
func TestStatusAfterJoiningAnotherAccountTellsThatAccountsSync(t *testing.T) {
	for _, choice := range []string{"--merge", "--keep-local", ""} {
		t.Run("login "+choice, func(t *testing.T) {
			c := newSyncCLI(t)
			dir, other := t.TempDir(), t.TempDir()
			const pw = "correct horse battery"
			signedIn(t, c, dir, "ann", pw)
			putRequest(t, dir, "ann's first")
			putRequest(t, dir, "ann's second")
			c.ok(dir, "", "sync")
			if r := statusJSON(t, c, dir); r.Cursor != 2 || r.LastSync == nil {
				t.Fatalf("ann's status = %+v", r)
			}
			c.srv.Stop() // a failure of ann's sync, remembered
			c.fails(dir, "", "cannot connect", "sync")
			c.srv.Restart(t)
			c.ok(dir, "", "logout")
			signedIn(t, c, other, "bob", pw)
			c.ok(other, "", "sync") // bob's account is empty

			args := []string{"login", "--username", "bob", "--password-stdin"}
			if choice == "" { // refused: the profile still holds ann's data
				c.fails(dir, pw+"\n", "holds the data of another account", args...)
			} else {
				c.ok(dir, pw+"\n", append(args, choice)...)
			}
			r := statusJSON(t, c, dir)
			wantCursor := uint64(0)
			if choice == "" {
				wantCursor = 2 // the store's: ann's stream, still there
			}
			if r.Account != "bob" || r.Cursor != wantCursor || r.LastSync != nil || r.LastError != "" {
				t.Fatalf("status after the login to bob = %+v; want cursor %d, no last sync, no last error", r, wantCursor)
			}
			if out := c.ok(dir, "", "status"); !strings.Contains(out, "last full sync: never\n") {
				t.Fatalf("status said:\n%s", out)
			}
			if choice == "" {
				return
			}
			c.ok(dir, "", "sync")
			if r := statusJSON(t, c, dir); r.LastSync == nil || r.Pending != 0 {
				t.Fatalf("status after bob's sync = %+v", r)
			}
		})
	}
}

// A sync stopped part way by the quota is no full sync: status says
// "never" on the line that says so, with the error and what is pending.
func TestStatusAfterASyncStoppedByTheQuota(t *testing.T) {
	gokeyring.MockInit()
	srv := servertest.Start(t, servertest.Options{Sync: syncserver.SyncConfig{Quota: syncserver.Quota{Records: 3}}})
	c := accountCLI{t: t, srv: srv}
	dir := t.TempDir()
	signedIn(t, c, dir, "ann", "correct horse battery")
	for i := range 5 {
		putRequest(t, dir, fmt.Sprint("request ", i))
	}
	c.fails(dir, "", "quota", "sync")
	r := statusJSON(t, c, dir)
	if r.Cursor != 3 || r.Pending != 2 || r.LastSync != nil || !strings.Contains(r.LastError, "quota") {
		t.Fatalf("status after the quota stopped sync = %+v; want cursor 3, 2 pending, no last sync, the error", r)
	}
	out := c.ok(dir, "", "status")
	if !strings.Contains(out, "pending:   2 changes\n") || !strings.Contains(out, "last full sync: never\n") || !strings.Contains(out, "last error: ") {
		t.Fatalf("status said:\n%s", out)
	}
}
