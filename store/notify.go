package store

import (
	"slices"
	"sync"

	"github.com/courierapp/courier/app"
)

// Change delivery. Each subscriber has its own unbounded, in-order queue
// and goroutine: publishing never blocks a writer, a slow subscriber only
// delays itself, and every commit reaches it as one app.Changes value, in
// commit order. Nothing is coalesced, so a subscriber that never returns
// grows its queue by one small value per commit.

type subscribers struct {
	mu     sync.Mutex
	next   int
	subs   map[int]*subscriber
	closed bool
}

type subscriber struct {
	fn      func(app.Changes)
	mu      sync.Mutex
	queue   []app.Changes
	wake    chan struct{} // capacity 1: "the queue may be non-empty"
	done    chan struct{} // closed by cancel
	stopped bool
}

func newSubscribers() *subscribers {
	return &subscribers{subs: map[int]*subscriber{}}
}

// Subscribe calls fn with the records written by every commit from now on,
// on a goroutine of the store's, never while a transaction is open. Calls
// are serialised and in commit order. Remote is true for changes from
// ApplyServerChanges and AckOps. cancel (safe to call more than once, also
// from fn) stops delivery; Close stops every subscription.
func (db *DB) Subscribe(fn func(app.Changes)) (cancel func()) {
	return db.subs.add(fn)
}

func (s *subscribers) add(fn func(app.Changes)) func() {
	sub := &subscriber{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() {}
	}
	id := s.next
	s.next++
	s.subs[id] = sub
	go sub.run()
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
		sub.stop()
	}
}

// publish queues c for every subscriber. It does not wait for them.
func (s *subscribers) publish(c app.Changes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		sub.push(app.Changes{Keys: slices.Clone(c.Keys), Remote: c.Remote})
	}
}

func (s *subscribers) close() {
	s.mu.Lock()
	subs := s.subs
	s.subs, s.closed = map[int]*subscriber{}, true
	s.mu.Unlock()
	for _, sub := range subs {
		sub.stop()
	}
}

func (sub *subscriber) push(c app.Changes) {
	sub.mu.Lock()
	if !sub.stopped {
		sub.queue = append(sub.queue, c)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) stop() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.stopped {
		sub.stopped = true
		sub.queue = nil
		close(sub.done)
	}
}

// run delivers the queue, one value at a time, until stopped.
func (sub *subscriber) run() {
	for {
		select {
		case <-sub.done:
			return
		case <-sub.wake:
		}
		for {
			sub.mu.Lock()
			if sub.stopped || len(sub.queue) == 0 {
				sub.mu.Unlock()
				break
			}
			c := sub.queue[0]
			sub.queue[0] = app.Changes{}
			sub.queue = sub.queue[1:]
			sub.mu.Unlock()
			sub.fn(c)
		}
	}
}
