package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// holdCommitter keeps the committer busy (so no checkpoint runs) until
// the returned func is called; the held write then commits.
func holdCommitter(t *testing.T, d *DB) (release func()) {
	t.Helper()
	started, done, rel := make(chan struct{}), make(chan error, 1), make(chan struct{})
	go func() { done <- d.commit(context.Background(), blocking(started, rel, putKey("held"))) }()
	<-started
	return func() {
		close(rel)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// openFile opens a store in a new directory and returns it with its
// path; it is closed at the test's end.
func openFile(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// reopen opens the store at path; it is closed at the test's end.
func reopen(t *testing.T, path string) *DB {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// crashed copies d's files as they are on disk, with its committer held
// meanwhile (see crashCopy), and returns the copy's path.
func crashed(t *testing.T, d *DB, path string) string {
	t.Helper()
	release := holdCommitter(t, d)
	defer release()
	return crashCopy(t, path)
}

// crashCopy copies the data file and the push log of d into a new
// directory, as they are on disk now: what a crash (or a power cut, as
// both are synced) would leave.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "server.db")
	for _, suffix := range []string{"", ".log"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// newAccount creates acct. The pushes that follow wait for a read (or
// Close) to be checkpointed.
func newAccount(t *testing.T, d *DB, acct string) {
	t.Helper()
	d.commits.maxDirty = time.Hour
	if err := d.commit(context.Background(), func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)) }); err != nil {
		t.Fatal(err)
	}
}

func testOp(i int) model.Op {
	return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{
		"name": json.RawMessage(fmt.Sprintf(`"sealed %d"`, i)),
		"url":  json.RawMessage(` "with space" `),
	}}
}

// pushN pushes n ops, one per push, to an account whose head is 0.
func pushN(t *testing.T, d *DB, acct string, n int) []model.Op {
	t.Helper()
	return pushSeqs(t, d, acct, 1, n)
}

// pushSeqs pushes the ops that take seqs from to to, one per push.
func pushSeqs(t *testing.T, d *DB, acct string, from, to int) []model.Op {
	t.Helper()
	var ops []model.Op
	for seq := from; seq <= to; seq++ {
		op := testOp(seq)
		res, err := d.Push(context.Background(), acct, []model.Op{op}, syncserver.Quota{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Head != uint64(seq) {
			t.Fatalf("push of seq %d: head %d", seq, res.Head)
		}
		ops = append(ops, op)
	}
	return ops
}

// wantChanges checks that d streams ops at seqs 1..len(ops), values byte
// for byte.
func wantChanges(t *testing.T, d *DB, acct string, ops []model.Op) {
	t.Helper()
	ctx := context.Background()
	if h, err := d.Head(ctx, acct); err != nil || h != uint64(len(ops)) {
		t.Fatalf("head %d, %v; want %d", h, err, len(ops))
	}
	got, err := d.Changes(ctx, acct, 0, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ops) {
		t.Fatalf("%d changes, want %d", len(got), len(ops))
	}
	for i, ch := range got {
		op := ops[i]
		if ch.Seq != uint64(i+1) || ch.OpID != op.OpID || ch.ID != op.ID || !reflect.DeepEqual(ch.Fields, op.Fields) {
			t.Fatalf("change %d: %+v, want op %+v at seq %d", i, ch, op, i+1)
		}
	}
}

// An acknowledged push is in the push log before it is in the data file:
// the file as a crash leaves it, opened again, holds it, at the same seq.
func TestPushesInTheLogSurviveACrash(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 5)
	if !d.commits.dirty.Load() {
		t.Fatal("the pushes were checkpointed at once: the test needs them in the log alone")
	}
	copied := crashed(t, d, path)

	// The copy's data file alone does not hold them.
	raw, _ := os.ReadFile(copied)
	if bytes.Contains(raw, []byte("sealed 4")) {
		t.Fatal("the last push is in the data file already: the test copies the wrong state")
	}
	c := reopen(t, copied)
	wantChanges(t, c, "a", ops)
	// The replay is done once: opened again, the file has the same.
	c.Close()
	c = reopen(t, copied)
	wantChanges(t, c, "a", ops)
	more := testOp(9)
	if res, err := c.Push(context.Background(), "a", []model.Op{more}, syncserver.Quota{}); err != nil || res.Head != 6 {
		t.Fatalf("push after the replay: %+v, %v", res, err)
	}
}

// A record cut short (the server died while writing it, before it was
// acknowledged) ends the replay; the records before it are kept.
func TestATornLogRecordIsNotReplayed(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 3)
	copied := crashed(t, d, path)

	// Cut the third record in the middle of its payload.
	log, err := os.OpenFile(copied+".log", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := (&pushLog{f: log, id: d.commits.log.id}).scan(0)
	if err != nil || len(recs) != 3 {
		t.Fatalf("records in the log: %d, %v", len(recs), err)
	}
	end := int64(0)
	for _, r := range recs[:2] {
		end += logHeader + int64(len(r))
	}
	if _, err := log.WriteAt(make([]byte, 8), end+logHeader+4); err != nil {
		t.Fatal(err)
	}
	log.Close()
	c := reopen(t, copied)
	wantChanges(t, c, "a", ops[:2])
}

// Once a checkpoint holds the records, they are not replayed again, though
// their bytes stay in the log until new ones overwrite them.
func TestCheckpointedRecordsAreNotReplayed(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 2)
	wantChanges(t, d, "a", ops) // read in the open transaction
	if !d.commits.dirty.Load() {
		t.Fatal("a read of the sync data checkpointed")
	}
	newAccount(t, d, "b") // a write that is not logged checkpoints
	if d.commits.dirty.Load() {
		t.Fatal("a write that is not logged left pushes out of the data file")
	}
	copied := crashed(t, d, path)
	log, err := os.Open(copied + ".log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if recs, _ := (&pushLog{f: log, id: d.commits.log.id}).scan(0); len(recs) != 2 {
		t.Fatalf("the log holds %d records from lsn 1, want the 2 checkpointed", len(recs))
	}
	if recs, _ := (&pushLog{f: log, id: d.commits.log.id}).scan(2); len(recs) != 0 {
		t.Fatalf("the log holds %d records after the checkpoint, want none", len(recs))
	}
	c := reopen(t, copied)
	wantChanges(t, c, "a", ops)
}

// A write that fails takes the open transaction with it: the pushes
// acknowledged before it are replayed, and nothing of the failed write
// stays. A push over the quota fails after writing.
func TestAFailedWriteKeepsThePushesLoggedBeforeIt(t *testing.T) {
	d := openTestDB(t)
	ctx := context.Background()
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 3)
	boom := errors.New("boom")
	err := d.commit(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bSecrets).Put([]byte("half"), []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	_, err = d.Push(ctx, "a", []model.Op{testOp(7), testOp(8)}, syncserver.Quota{Records: 4})
	if !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("push over the quota: %v", err)
	}
	more := testOp(9)
	if res, err := d.Push(ctx, "a", []model.Op{more}, syncserver.Quota{Records: 4}); err != nil || res.Head != 4 {
		t.Fatalf("push within the quota: %+v, %v", res, err)
	}
	wantChanges(t, d, "a", append(ops, more))
	if hasSecret(t, d, "half") {
		t.Fatal("the failed write's first half was committed")
	}
	if u, err := d.SyncUsage(ctx, "a"); err != nil || u.Records != 4 {
		t.Fatalf("usage %+v, %v; want 4 records", u, err)
	}
}

// Close checkpoints: the data file alone holds every push.
func TestCloseCheckpoints(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 3)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".log"); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, reopen(t, path), "a", ops)
}

func TestPushRecordRoundTrips(t *testing.T) {
	ops := []model.Op{testOp(1), {OpID: "o", Kind: model.KindHistory, ID: "h"}, testOp(2)}
	ops[1].Fields = model.Fields{}
	acct, got, err := decodePush(encodePush("acct", ops))
	if err != nil || acct != "acct" || !reflect.DeepEqual(got, ops) {
		t.Fatalf("decoded %q %+v, %v; want %+v", acct, got, err, ops)
	}
	enc := encodePush("acct", ops)
	for n := range len(enc) {
		if _, _, err := decodePush(enc[:n]); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("a record cut at %d of %d decodes: %v", n, len(enc), err)
		}
	}
}

func FuzzDecodePush(f *testing.F) {
	f.Add(encodePush("acct", []model.Op{testOp(1)}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		acct, ops, err := decodePush(b)
		if err != nil {
			return
		}
		again, ops2, err := decodePush(encodePush(acct, ops))
		if err != nil || again != acct || !reflect.DeepEqual(ops, ops2) {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

// When the log cannot be written, the group is committed to the data file
// instead; the records that follow still replay after a crash.
func TestAFailedLogWriteCommitsInstead(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	ops := pushN(t, d, "a", 1)

	// The log's file, read-only for one push.
	ro, err := os.Open(path + ".log")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	release := holdCommitter(t, d)
	rw := d.commits.log.f
	d.commits.log.f = ro
	release()
	refused := testOp(1)
	if res, err := d.Push(context.Background(), "a", []model.Op{refused}, syncserver.Quota{}); err != nil || res.Head != 2 {
		t.Fatalf("push while the log cannot be written: %+v, %v", res, err)
	}
	if d.commits.dirty.Load() {
		t.Fatal("a push the log refused waits for a checkpoint")
	}
	release = holdCommitter(t, d)
	d.commits.log.f = rw
	release()
	ops = append(ops, refused)
	ops = append(ops, pushSeqs(t, d, "a", 3, 4)...)

	copied := crashed(t, d, path)
	c := reopen(t, copied)
	wantChanges(t, c, "a", ops)
}

// A log put beside another data file (a backup restored into the
// directory of a server that crashed) replays nothing into it.
func TestALogBesideAnotherFileReplaysNothing(t *testing.T) {
	d, path := openFile(t)
	newAccount(t, d, "a")
	pushN(t, d, "a", 3)
	log, err := os.ReadFile(crashed(t, d, path) + ".log")
	if err != nil {
		t.Fatal(err)
	}

	o, other := openFile(t)
	newAccount(t, o, "a")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other+".log", log, 0o600); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, reopen(t, other), "a", nil)
}
