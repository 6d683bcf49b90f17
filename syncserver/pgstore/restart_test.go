package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

// TestPostgresRestartedUnderLoadRefusesRetryablyThenConverges restarts
// the PostgreSQL server process of a private cluster (not a proxy cut)
// while writers push through replica 1, as the app does: the same op
// again until it is acknowledged. Every refusal must wrap
// model.ErrUnavailable, every op must be applied exactly once, and a
// device on replica 2 must get every op once the database is back
// (replica 2 listens again and re-reads the heads).
func TestPostgresRestartedUnderLoadRefusesRetryablyThenConverges(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "FastShutdown", true: "Crash"}[crash]
		t.Run(name, func(t *testing.T) { restartUnderLoad(t, crash) })
	}
}

func restartUnderLoad(t *testing.T, crash bool) {
	pg := pgtest.StartCluster(t)
	r1, r2 := startReplica(t, pg.URL(), pgstore.Options{MaxConns: 6}), startReplica(t, pg.URL(), pgstore.Options{MaxConns: 6})
	token := newAccount(t, r1.db, 1)
	watcher := connect(t, r2, token)

	const writers, each = 6, 40
	var applied, refused atomic.Int64
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pushUntilAcked(r1.db, w, each, &applied, &refused)
		}()
	}
	waitFor(t, 30*time.Second, "some pushes before the restart", func() bool { return applied.Load() >= writers*each/4 })
	lost := r2.db.LostListens()
	stopped := time.Now()
	if crash {
		pg.Crash()
	} else {
		pg.Stop()
	}
	waitFor(t, 10*time.Second, "pushes refused while PostgreSQL is down", func() bool { return refused.Load() >= 2*writers })
	waitFor(t, 10*time.Second, "healthz says 503 while PostgreSQL is down", func() bool { return health(r2) == http.StatusServiceUnavailable })
	pg.Start()
	down := time.Since(stopped)
	back := time.Now()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	drained := time.Since(back)
	waitFor(t, 15*time.Second, "replica 2 listens again", r2.db.Listening)
	if r2.db.LostListens() == lost {
		t.Errorf("replica 2 did not notice that its LISTEN connection died with the server")
	}
	head := checkExactlyOnce(t, r1.db, "acct-1", writers*each)
	// A device whose changes were being read when the server went away
	// was told 1001 (reconnect); the app reconnects, and so does this.
	if err := watcher.lastErr(); err != nil {
		if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
			t.Fatalf("the device on replica 2 was closed with %d (%v), want 1001 or nothing", st, err)
		}
		watcher = connect(t, r2, token)
	}
	watcher.waitSeq(head, "the device on replica 2 gets every op once PostgreSQL is back")
	if got := health(r1); got != http.StatusOK {
		t.Errorf("healthz of replica 1 after the restart = %d", got)
	}
	t.Logf("PostgreSQL down for %v; %d pushes refused; the writers finished %v after it was back", down.Round(time.Millisecond), refused.Load(), drained.Round(time.Millisecond))
}

// pushUntilAcked pushes each ops of writer w, one by one, each again
// until it is applied, as the app does; a refusal that is not
// model.ErrUnavailable is returned.
func pushUntilAcked(db *pgstore.DB, w, each int, applied, refused *atomic.Int64) error {
	for i := range each {
		op := model.Op{OpID: model.ID(fmt.Sprintf("w%d-op%d", w, i)), Kind: model.KindRequest, ID: model.ID(fmt.Sprintf("req-%d", w)),
			Fields: model.Fields{"name": syncproto.SealedValue(randomBytes(64))}}
		for deadline := time.Now().Add(40 * time.Second); ; {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := db.Push(ctx, "acct-1", []model.Op{op}, syncserver.Quota{})
			cancel()
			if err == nil {
				applied.Add(1)
				break
			}
			if !errors.Is(err, model.ErrUnavailable) {
				return fmt.Errorf("push of %s while PostgreSQL restarts: %w, want model.ErrUnavailable", op.OpID, err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("push of %s still refused after 40 s: %w", op.OpID, err)
			}
			refused.Add(1)
			time.Sleep(20 * time.Millisecond) // the client's retry backoff
		}
	}
	return nil
}

// checkExactlyOnce checks that the account's stream holds want distinct
// op ids, each at one seq, and that the head is the last of them; it
// returns the head.
func checkExactlyOnce(t *testing.T, db *pgstore.DB, account string, want int) uint64 {
	t.Helper()
	ctx := context.Background()
	head, err := db.Head(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := db.Changes(ctx, account, 0, 100000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	seqOf := map[model.ID]uint64{}
	for _, c := range ch {
		if s, ok := seqOf[c.OpID]; ok {
			t.Fatalf("op %s applied twice: at seq %d and %d", c.OpID, s, c.Seq)
		}
		seqOf[c.OpID] = c.Seq
	}
	if head != uint64(want) || len(seqOf) != want {
		t.Fatalf("head %d with %d distinct ops, want %d of each", head, len(seqOf), want)
	}
	return head
}
