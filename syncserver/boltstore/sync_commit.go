package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/model"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 512

// committer runs sync writes in group commits: one goroutine takes every
// write waiting, applies them all in one transaction and fsyncs once. A
// lone write commits at once (unlike bbolt's DB.Batch, which waits up to
// MaxBatchDelay for company); writes that arrive during a commit share the
// next one. So latency stays one fsync when idle and throughput grows
// with concurrency.
type committer struct {
	db   *bbolt.DB
	reqs chan commitReq
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

type commitReq struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

// errSkip marks the write that failed a group transaction.
type errSkip struct {
	i   int
	err error
}

func (e *errSkip) Error() string { return e.err.Error() }

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan commitReq, maxGroup), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// close stops the loop once the writes already queued are done.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

// commit runs fn in a group transaction and returns once it is durable.
// fn may run more than once (when another write of its group fails), so
// it must set its results afresh each time. Errors: fn's, the
// transaction's, ctx's before fn was queued, or model.ErrUnavailable when
// the store is closed.
func (d *DB) commit(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := commitReq{fn: fn, done: make(chan error, 1)}
	select {
	case d.commits.reqs <- r:
	case <-d.commits.quit:
		return fmt.Errorf("sync store is closed: %w", model.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, fn may commit: wait for the answer whatever ctx says.
	return <-r.done
}

func (c *committer) loop() {
	defer c.wg.Done()
	group := make([]commitReq, 0, maxGroup)
	for {
		select {
		case r := <-c.reqs:
			group = append(group[:0], r)
		case <-c.quit:
			c.drain()
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-c.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		c.run(group)
	}
}

// drain answers writes queued before close.
func (c *committer) drain() {
	for {
		select {
		case r := <-c.reqs:
			c.run([]commitReq{r})
		default:
			return
		}
	}
}

// run commits group; a write that fails is answered with its error and
// the rest retried without it.
func (c *committer) run(group []commitReq) {
	for len(group) > 0 {
		err := c.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range group {
				if err := r.fn(tx); err != nil {
					return &errSkip{i: i, err: err}
				}
			}
			return nil
		})
		var skip *errSkip
		if errors.As(err, &skip) {
			group[skip.i].done <- skip.err
			group = append(group[:skip.i], group[skip.i+1:]...)
			continue
		}
		for _, r := range group {
			r.done <- err
		}
		return
	}
}
