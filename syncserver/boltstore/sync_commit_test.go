package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// putKey is a write storing key in the secrets bucket.
func putKey(key string) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error { return tx.Bucket(bSecrets).Put([]byte(key), []byte("v")) }
}

func hasSecret(t *testing.T, d *DB, key string) bool {
	t.Helper()
	found := false
	err := d.db.View(func(tx *bbolt.Tx) error { found = tx.Bucket(bSecrets).Get([]byte(key)) != nil; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// blocking is a write that closes started when it runs, then waits for
// release to close before doing fn.
func blocking(started, release chan struct{}, fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		close(started)
		<-release
		return fn(tx)
	}
}

// waitQueued polls until n writes wait in the committer's queue.
func waitQueued(t *testing.T, d *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(d.commits.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(d.commits.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCommitGroupsTheWritesThatWaitDuringACommit(t *testing.T) {
	d := openTestDB(t)
	ctx := context.Background()
	g0, w0 := d.CommitStats()
	started, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { first <- d.commit(ctx, blocking(started, release, putKey("first"))) }()
	<-started
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- d.commit(ctx, putKey(fmt.Sprint("k", i))) }()
	}
	waitQueued(t, d, n)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if !hasSecret(t, d, fmt.Sprint("k", i)) {
			t.Fatalf("write k%d not stored", i)
		}
	}
	g, w := d.CommitStats()
	if g-g0 != 2 || w-w0 != n+1 {
		t.Fatalf("%d writes in %d groups, want %d in 2 (the one that ran, then all that waited)", w-w0, g-g0, n+1)
	}
}

func TestCommitFailsOnlyTheFailingWriteOfAGroup(t *testing.T) {
	d := openTestDB(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	go d.commit(ctx, blocking(started, release, putKey("first")))
	<-started
	boom := errors.New("boom")
	results := make(chan error, 3)
	go func() { results <- d.commit(ctx, putKey("a")) }()
	waitQueued(t, d, 1)
	go func() { results <- d.commit(ctx, func(*bbolt.Tx) error { return boom }) }()
	waitQueued(t, d, 2)
	go func() { results <- d.commit(ctx, putKey("c")) }()
	waitQueued(t, d, 3)
	close(release)
	var got []error
	for range 3 {
		got = append(got, <-results)
	}
	failed := 0
	for _, err := range got {
		if errors.Is(err, boom) {
			failed++
		} else if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
	}
	if failed != 1 || !hasSecret(t, d, "a") || !hasSecret(t, d, "c") {
		t.Fatalf("results %v, a stored %v, c stored %v: want one boom and both others stored", got, hasSecret(t, d, "a"), hasSecret(t, d, "c"))
	}
}

func TestCommitPanicReachesTheCallerAndTheCommitterGoesOn(t *testing.T) {
	d := openTestDB(t)
	ctx := context.Background()
	func() {
		defer func() {
			if v := recover(); v != "bad write" {
				t.Fatalf("recovered %v, want the write's panic", v)
			}
		}()
		_ = d.commit(ctx, func(*bbolt.Tx) error { panic("bad write") })
	}()
	if err := d.commit(ctx, putKey("after")); err != nil || !hasSecret(t, d, "after") {
		t.Fatalf("write after a panic: err %v, stored %v", err, hasSecret(t, d, "after"))
	}
}

func TestCommitOfALoneWriteDoesNotWaitForCompany(t *testing.T) {
	d := openTestDB(t)
	ctx := context.Background()
	// A lone write after a big group commits at once once the gather
	// time (at most maxGather) has passed; bbolt's DB.Batch would add
	// its MaxBatchDelay to every lone write.
	for i := range 5 {
		start := time.Now()
		if err := d.commit(ctx, putKey(fmt.Sprint("lone", i))); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("lone write took %v", took)
		}
	}
	g, w := d.CommitStats()
	if g < 5 || w != g {
		t.Fatalf("%d writes in %d groups, want one group per lone write", w, g)
	}
}

// A write or a read that races Close is answered (the store is closed),
// not left waiting for a loop that has stopped.
func TestWritesAfterCloseAreAnswered(t *testing.T) {
	d := openTestDB(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 64 {
		done := make(chan error, 1)
		go func() { done <- d.commit(ctx, putKey(fmt.Sprint("late", i))) }()
		select {
		case err := <-done:
			if !errors.Is(err, model.ErrUnavailable) {
				t.Fatalf("write after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a write after Close is still waiting")
		}
	}
}

// A read of an account without pushes waiting for a checkpoint runs
// beside the committer, even while it is busy; a read of one with such
// pushes waits for the committer, whose open transaction holds them.
func TestReadsWaitForTheCommitterOnlyForTheAccountsItHolds(t *testing.T) {
	d := openTestDB(t)
	HoldCheckpoints(d)
	ctx := context.Background()
	for _, acct := range []string{"a", "b"} {
		if err := d.commit(ctx, func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte(acct), []byte(`{}`)) }); err != nil {
			t.Fatal(err)
		}
	}
	op := func(id string) []model.Op {
		return []model.Op{{OpID: model.ID("op-" + id), Kind: model.KindRequest, ID: model.ID(id), Fields: model.Fields{"name": json.RawMessage(`"x"`)}}}
	}
	if _, err := d.Push(ctx, "b", op("b1"), syncserver.Quota{}); err != nil {
		t.Fatal(err)
	}
	if err := d.commit(ctx, putKey("checkpoint")); err != nil { // commits b's push to the file
		t.Fatal(err)
	}
	if _, err := d.Push(ctx, "a", op("a1"), syncserver.Quota{}); err != nil {
		t.Fatal(err)
	}
	if !Logged(d) {
		t.Fatal("a's push was checkpointed; the test needs it in the log")
	}
	started, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { held <- d.commit(ctx, blocking(started, release, putKey("held"))) }()
	<-started
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before the store closes, should the test fail

	read := func(acct string) <-chan []model.Change {
		out := make(chan []model.Change, 1)
		go func() {
			chs, err := d.Changes(ctx, acct, 0, 10, 1<<20)
			if err != nil {
				t.Errorf("changes of %s: %v", acct, err)
			}
			out <- chs
		}()
		return out
	}
	ofA, ofB := read("a"), read("b")
	select {
	case chs := <-ofB:
		if len(chs) != 1 || chs[0].ID != "b1" {
			t.Errorf("b's changes = %+v", chs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read of b waited for the busy committer")
	}
	select {
	case <-ofA:
		t.Fatal("the read of a ran outside the transaction that holds its push")
	case <-time.After(50 * time.Millisecond):
	}
	unblock()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if chs := <-ofA; len(chs) != 1 || chs[0].ID != "a1" {
		t.Errorf("a's changes = %+v, want its acknowledged push", chs)
	}
}
