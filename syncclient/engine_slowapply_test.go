package syncclient_test

import (
	"context"
	"fmt"
	"sync"
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
// disk would. It cannot join pages (syncclient.PageJoiner), so every page
// of the stream is one slow commit.
type slowApply struct {
	syncclient.Store
	delay time.Duration
	pages atomic.Int32
}

func (s *slowApply) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	time.Sleep(s.delay) // the slow disk itself, not a wait for an event
	s.pages.Add(1)
	return s.Store.ApplyServerPage(ctx, page, cursor)
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
			st := &slowApply{Store: openStore(t), delay: 250 * time.Millisecond}
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

// slowJoiner is a store whose page commits take `delay` each and which
// joins pages (it has store.DB's JoinServerPages); it records the size of
// every page it applies.
type slowJoiner struct {
	*store.DB
	delay time.Duration
	mu    sync.Mutex
	sizes []int
}

func (s *slowJoiner) ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error {
	time.Sleep(s.delay) // the slow disk itself, not a wait for an event
	s.mu.Lock()
	s.sizes = append(s.sizes, len(page.Changes()))
	s.mu.Unlock()
	return s.DB.ApplyServerPage(ctx, page, cursor)
}

// TestEngineAppliesThePagesWaitingInOneCommit pulls 9,000 changes in
// pages of 500 into a store whose commits are slow: while the first page
// commits, the others arrive, and each later commit takes the pages
// waiting, up to syncclient.MaxJoinChanges changes. The store ends with
// every record, in order, and the cursor at the head.
func TestEngineAppliesThePagesWaitingInOneCommit(t *testing.T) {
	ctx := context.Background()
	key := vault.NewAccountKey()
	f := newFakeSync(t)
	f.pageSize = 500
	const n = 9000
	// Every 10th change renames a record of the page before, so that
	// the pages joined also change the same records.
	renames := func(i int) bool { return i%10 == 9 && i > f.pageSize }
	for i := range n {
		id := model.ID(fmt.Sprintf("r-%05d", i))
		if renames(i) {
			id = model.ID(fmt.Sprintf("r-%05d", i-f.pageSize-1))
		}
		f.add(sealed(t, key, reqOp(id, fmt.Sprintf("remote %d", i))))
	}
	st := &slowJoiner{DB: openStore(t), delay: 200 * time.Millisecond}
	e, _ := newEngine(t, f, st, key)
	sum, err := e.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, _, _, head := f.snapshot()
	cur, err := st.Cursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pulled != n || cur != uint64(head) {
		t.Fatalf("pulled %d, cursor %d; want %d, %d", sum.Pulled, cur, n, head)
	}
	total, joined := 0, 0
	for _, size := range st.sizes {
		total += size
		if size > syncclient.MaxJoinChanges {
			t.Errorf("a commit of %d changes; want at most %d", size, syncclient.MaxJoinChanges)
		}
		if size > f.pageSize {
			joined++
		}
	}
	// Typically [500 4000 4000 500]; half as many commits as pages
	// leaves room for a loaded machine's slower reader.
	if pages := n / f.pageSize; total != n || joined == 0 || len(st.sizes) > pages/2 {
		t.Errorf("commits of %v changes; want %d in all, in at most %d commits, some joining pages", st.sizes, n, pages/2)
	}
	for i := range n {
		if renames(i) {
			continue
		}
		last := i
		if j := i + f.pageSize + 1; j < n && renames(j) {
			last = j
		}
		id := model.ID(fmt.Sprintf("r-%05d", i))
		r, err := st.Get(ctx, model.KindRequest, id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if want := fmt.Sprintf("%q", fmt.Sprintf("remote %d", last)); string(r.Fields["name"]) != want {
			t.Fatalf("%s is named %s; want %s, from its last change", id, r.Fields["name"], want)
		}
	}
}
