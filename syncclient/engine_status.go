package syncclient

import (
	"sync"
	"time"

	"github.com/courierapp/courier/app"
)

// statusBox holds the engine's status and tells subscribers of changes.
// Each subscriber has a goroutine and a one-slot wake channel, so a slow
// one only skips to the latest status and never blocks the engine.
type statusBox struct {
	mu      sync.Mutex
	s       app.SyncStatus
	retryAt time.Time
	subs    map[int]chan struct{}
	next    int
}

func (b *statusBox) init(s app.SyncStatus) {
	b.s = s
	b.subs = map[int]chan struct{}{}
}

// get returns the status with RetryIn computed for now.
func (b *statusBox) get(now time.Time) app.SyncStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	if s.State == app.SyncOffline || s.State == app.SyncFailed {
		s.RetryIn = max(b.retryAt.Sub(now), 0)
	}
	return s
}

// update changes the status with fn and wakes the subscribers when it
// changed.
func (b *statusBox) update(fn func(*app.SyncStatus)) {
	b.mu.Lock()
	old := b.s
	fn(&b.s)
	changed := old != b.s
	if changed {
		for _, w := range b.subs {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
	b.mu.Unlock()
}

// setRetry enters a waiting state until at.
func (b *statusBox) setRetry(state app.SyncState, why, lastErr string, at time.Time) {
	b.mu.Lock()
	b.retryAt = at
	b.mu.Unlock()
	b.update(func(s *app.SyncStatus) { s.State, s.Why, s.LastError = state, why, lastErr })
}

func (b *statusBox) subscribe(fn func(app.SyncStatus), get func() app.SyncStatus) (cancel func()) {
	w, done := make(chan struct{}, 1), make(chan struct{})
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = w
	b.mu.Unlock()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-w:
				fn(get())
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
			close(done)
		})
	}
}
