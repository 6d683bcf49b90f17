package syncclient_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/vault"
)

// slowApply is a store whose page commits take `delay` each, as a slow
// disk would.
type slowApply struct {
	*store.DB
	delay time.Duration
	pages atomic.Int32
}

func (s *slowApply) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	time.Sleep(s.delay) // the slow disk itself, not a wait for an event
	s.pages.Add(1)
	return s.DB.ApplyServerPage(ctx, page, cursor)
}

// TestEngineKeepsAnsweringPingsWhileAPageIsApplied pulls pages whose
// applies each last many ping intervals: the connection must stay up
// (one connection, no dead link), because the engine keeps reading, and
// so answering pongs, while the store works. With a queue bound below
// one frame, the frames waiting beyond it travel through the spill file,
// in order.
func TestEngineKeepsAnsweringPingsWhileAPageIsApplied(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
	}{
		{name: "queued in memory", bound: 0},
		{name: "spilled to disk beyond a tiny bound", bound: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			key := vault.NewAccountKey()
			f := newFakeSync(t)
			f.pageSize = 20
			const n = 100
			for i := range n {
				f.add(sealed(t, key, reqOp(model.ID(fmt.Sprintf("r-%03d", i)), fmt.Sprintf("remote %d", i))))
			}
			st := &slowApply{DB: openStore(t), delay: 250 * time.Millisecond}
			e, _ := newEngine(t, f, st, key, func(c *syncclient.EngineConfig) { c.PingInterval = 20 * time.Millisecond })
			if tc.bound > 0 {
				syncclient.SetQueueBound(e, tc.bound)
			}
			sum, err := e.Once(ctx)
			if err != nil {
				t.Fatalf("Once with applies of %v and pings every 20ms: %v", st.delay, err)
			}
			_, _, _, _, conns, head := f.snapshot()
			if conns != 1 {
				t.Errorf("connections = %d, want 1 (the link was given up during an apply)", conns)
			}
			cur, err := st.Cursor(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Pulled != n || cur != uint64(head) || st.pages.Load() < n/20 {
				t.Errorf("pulled %d, cursor %d over %d pages; want %d, %d over at least %d", sum.Pulled, cur, st.pages.Load(), n, head, n/20)
			}
		})
	}
}
