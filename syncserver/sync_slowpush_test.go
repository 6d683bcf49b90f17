package syncserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// heldPushes is a storage whose pushes wait until release is closed, as
// on a disk or database that takes long to commit.
type heldPushes struct {
	syncserver.Storage
	started chan struct{}
	release chan struct{}
}

func (h *heldPushes) Push(ctx context.Context, accountID string, ops []model.Op, q syncserver.Quota) (syncserver.PushResult, error) {
	select {
	case h.started <- struct{}{}:
	default:
	}
	<-h.release
	return h.Storage.Push(ctx, accountID, ops, q)
}

func TestSyncAnswersPingsWhileAPushCommits(t *testing.T) {
	held := &heldPushes{started: make(chan struct{}, 1), release: make(chan struct{})}
	e := newSyncEnv(t, func(c *syncserver.Config) {
		held.Storage = c.Storage
		c.Storage = held
	})
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)

	op := newOp("01SLOW", 100, "name")
	a.send(&syncproto.Push{Ops: []model.Op{op}})
	select {
	case <-held.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the push never reached storage")
	}
	// The push is still committing; pings (and more pushes) get through.
	a.send(&syncproto.Push{Ops: []model.Op{newOp("01NEXT", 100, "name")}})
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := a.ws.Ping(ctx)
		cancel()
		if err != nil {
			close(held.release)
			t.Fatalf("ping %d while a push commits: %v", i, err)
		}
	}
	close(held.release)
	got := a.changesUntil(2)
	if len(got) != 2 || got[0].OpID != op.OpID {
		t.Fatalf("after the commit the pusher received %+v, want both ops in order", got)
	}
}
