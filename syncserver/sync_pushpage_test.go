package syncserver_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// countedReads counts the pages read from storage.
type countedReads struct {
	syncserver.Storage
	reads atomic.Int64
}

func (c *countedReads) Changes(ctx context.Context, accountID string, after uint64, limit, maxBytes int) ([]model.Change, error) {
	c.reads.Add(1)
	return c.Storage.Changes(ctx, accountID, after, limit, maxBytes)
}

func TestSyncPushedChangesReachConnectionsWithoutAStorageRead(t *testing.T) {
	counted := &countedReads{}
	e := newSyncEnv(t, func(c *syncserver.Config) {
		counted.Storage = c.Storage
		c.Storage = counted
	})
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	b, _ := e.connect(e.session(mustAccountOf(t, e, token)), 0)
	a.changesUntil(0)
	b.changesUntil(0)
	before := counted.reads.Load()
	ops := []model.Op{newOp("01P1", 100, "name"), newOp("01P2", 100, "name", "url")}
	a.send(&syncproto.Push{Ops: ops})
	for name, c := range map[string]*client{"pusher": a, "other": b} {
		got := c.changesUntil(2)
		if len(got) != 2 || got[0].OpID != ops[0].OpID || got[1].Seq != 2 || string(got[1].Fields["url"]) != string(ops[1].Fields["url"]) {
			t.Fatalf("%s received %+v", name, got)
		}
	}
	if n := counted.reads.Load() - before; n != 0 {
		t.Fatalf("%d pages were read back from storage after the push, want 0", n)
	}
	// A connection behind the push still reads from storage.
	c, _ := e.connect(token, 0)
	if got := c.changesUntil(2); len(got) != 2 {
		t.Fatalf("a later connection received %+v", got)
	}
	if counted.reads.Load() == before {
		t.Fatal("the later connection did not read from storage")
	}
}
