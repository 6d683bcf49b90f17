package syncclient_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
)

// The environment of the pulling child process of
// TestClientKilledMidApplyKeepsItsStoreConsistent.
const (
	envPullDir   = "COURIER_FAULT_PULL_DIR"
	envPullURL   = "COURIER_FAULT_PULL_URL"
	envPullCA    = "COURIER_FAULT_PULL_CA"
	envPullToken = "COURIER_FAULT_PULL_TOKEN"
	envPullKey   = "COURIER_FAULT_PULL_KEY"
)

// pageReporter prints "applied CURSOR" on stdout after each page the
// store committed, so the parent knows the child is mid-stream.
type pageReporter struct{ *store.DB }

func (p pageReporter) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	if err := p.DB.ApplyServerPage(ctx, page, cursor); err != nil {
		return err
	}
	fmt.Printf("applied %d\n", cursor)
	return nil
}

// TestPullHelperProcess is not a test: it is the child process of
// TestClientKilledMidApplyKeepsItsStoreConsistent (it returns at once
// unless COURIER_FAULT_PULL_DIR is set). It opens the store in that
// directory (with fsync, as the app does) and runs a real engine until it
// is killed.
func TestPullHelperProcess(t *testing.T) {
	dir := os.Getenv(envPullDir)
	if dir == "" {
		return
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open store:", err)
		os.Exit(3)
	}
	kb, err := hex.DecodeString(os.Getenv(envPullKey))
	if err != nil {
		os.Exit(3)
	}
	key, err := vault.AccountKeyFromBytes(kb)
	if err != nil {
		os.Exit(3)
	}
	e, err := syncclient.NewEngine(syncclient.EngineConfig{
		ServerURL: os.Getenv(envPullURL), CAFile: os.Getenv(envPullCA), Proxy: "direct",
		Token: os.Getenv(envPullToken), Key: key, DeviceID: "child", Store: pageReporter{db},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		os.Exit(3)
	}
	err = e.Run(ctx)
	fmt.Fprintln(os.Stderr, "engine stopped:", err)
	os.Exit(4)
}

// backlogOp is op i of the backlog: a request with three fields, so a
// split op would show as a record with some fields only.
func backlogOp(i int) model.Op {
	return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("bk-%05d", i)), Fields: model.Fields{
		"name":   json.RawMessage(fmt.Sprintf(`"request %d"`, i)),
		"url":    json.RawMessage(fmt.Sprintf(`"https://api.example.com/things/%d?expand=owner"`, i)),
		"method": json.RawMessage(`"POST"`),
	}}
}

// TestClientKilledMidApplyKeepsItsStoreConsistent fills an account with a
// backlog of thousands of ops, runs a device as a child process (this test
// binary again) pulling it with a real engine and store file, SIGKILLs it
// after it applied its first page, and reopens its store: every op at or
// below the stored cursor is there whole, none above it is, and after
// finishing the sync the device equals the pusher. With COURIER_SOAK=1 the
// backlog is 20,000 ops and the child is restarted and killed again, a
// random moment after each page, until it has everything.
func TestClientKilledMidApplyKeepsItsStoreConsistent(t *testing.T) {
	ctx := context.Background()
	srv := servertest.Start(t, servertest.Options{})
	acct := srv.NewAccount(t, "pull")
	var mu sync.Mutex
	seqs := map[model.ID]uint64{}
	var dups []string
	src := newDeviceWith(t, acct, "src", func(db *store.DB) syncclient.Store {
		return ackRecorder{DB: db, mu: &mu, acked: seqs, dups: &dups}
	})
	n, rounds := 3000, 1
	if os.Getenv("COURIER_SOAK") == "1" { // more pages, a kill at a random moment after each
		n, rounds = 20000, 30
	}
	ops := make([]model.Op, n)
	for i := range ops {
		ops[i] = backlogOp(i)
	}
	if err := src.db.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	if sum, err := src.sync.Once(ctx); err != nil || sum.Pushed != n {
		t.Fatalf("pushing the backlog: %+v, %v", sum, err)
	}

	dir := t.TempDir()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.JoinAccount(ctx, db, "acct", false); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = nil
	mu.Lock()
	var maxSeq uint64
	for _, op := range ops {
		maxSeq = max(maxSeq, seqs[op.OpID])
	}
	mu.Unlock()
	var cursor uint64
	for round := 0; round < rounds && cursor < maxSeq; round++ {
		if db != nil {
			db.Close()
		}
		applied := runPullChildUntilFirstPage(t, srv, acct, dir, round > 0)
		if db, err = store.Open(ctx, dir, store.Options{}); err != nil {
			t.Fatal(err)
		}
		if cursor, err = db.Cursor(ctx); err != nil {
			t.Fatal(err)
		}
		if cursor < applied {
			t.Errorf("cursor %d after the kill, below the %d the child reported committed", cursor, applied)
		}
		mu.Lock()
		for _, op := range ops {
			checkBacklogRecord(t, db, op, seqs[op.OpID], cursor)
		}
		mu.Unlock()
		if round == 0 && (cursor == 0 || cursor >= maxSeq) {
			t.Errorf("cursor %d after the first kill: want it inside the backlog (0, %d)", cursor, maxSeq)
		}
		t.Logf("round %d: killed at cursor %d of %d", round, cursor, maxSeq)
		if t.Failed() {
			db.Close()
			return
		}
	}
	defer db.Close()

	e, err := syncclient.NewEngine(syncclient.EngineConfig{
		ServerURL: srv.URL, CAFile: srv.CAFile, Proxy: "direct", Token: acct.Login(t), Key: acct.Key,
		DeviceID: "child", Store: db, Clock: quickClock{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Once(ctx); err != nil {
		t.Fatalf("finishing the sync after the restart: %v", err)
	}
	if got, want := servertest.State(t, db), src.state(); !maps.Equal(got, want) {
		t.Errorf("the restarted device differs from the pusher:\n%s", servertest.StateDiff(got, want))
	}
	if c, _ := db.Cursor(ctx); c != maxSeq {
		t.Errorf("cursor %d after finishing, want %d", c, maxSeq)
	}
}

// runPullChildUntilFirstPage starts the pulling child, SIGKILLs it once it
// reports a committed page (with randomDelay, a random moment later, up
// to the time that first page took), and returns the cursor it reported.
func runPullChildUntilFirstPage(t *testing.T, srv *servertest.Server, acct *servertest.Account, dir string, randomDelay bool) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPullHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envPullDir+"="+dir, envPullURL+"="+srv.URL, envPullCA+"="+srv.CAFile,
		envPullToken+"="+acct.Login(t), envPullKey+"="+hex.EncodeToString(acct.Key.Bytes()))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "applied ") {
				select {
				case lines <- sc.Text():
				default:
				}
			}
		}
		close(lines)
	}()
	var applied uint64
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("the child ended before applying a page: %s", stderr.String())
		}
		applied, _ = strconv.ParseUint(strings.TrimPrefix(l, "applied "), 10, 64)
	case <-time.After(20 * time.Second):
		t.Fatalf("the child applied no page within 20 s: %s", stderr.String())
	}
	if randomDelay { // a kill at another moment of the next pages
		time.Sleep(time.Duration(rand.Int64N(int64(time.Since(started)))))
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Success() {
		t.Errorf("child wait = %v, want killed", err)
	}
	return applied
}

// checkBacklogRecord checks op's record in db: whole if seq <= cursor,
// absent otherwise.
func checkBacklogRecord(t *testing.T, db *store.DB, op model.Op, seq, cursor uint64) {
	t.Helper()
	if seq == 0 {
		t.Fatalf("op %s of %s was never acknowledged to the pusher", op.OpID, op.ID)
	}
	r, err := db.Get(context.Background(), op.Kind, op.ID)
	switch {
	case seq > cursor && err == nil:
		t.Errorf("%s (seq %d) is in the store above its cursor %d", op.ID, seq, cursor)
	case seq > cursor && !errors.Is(err, model.ErrNotFound):
		t.Errorf("get %s: %v", op.ID, err)
	case seq <= cursor && err != nil:
		t.Errorf("%s (seq %d) is missing at cursor %d: %v", op.ID, seq, cursor, err)
	case seq <= cursor:
		for k, v := range op.Fields {
			if string(r.Fields[k]) != string(v) {
				t.Errorf("%s (seq %d) field %s = %s, want %s (op split?)", op.ID, seq, k, r.Fields[k], v)
			}
		}
	}
}
