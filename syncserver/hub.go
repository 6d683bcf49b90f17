package syncserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// hub knows, per account with open connections, the latest head. It
// holds no payloads: a poke only replaces the head and kicks the
// account's connections, and each connection's sender pulls what it has
// not sent from storage. So a slow client lags behind without growing the
// server's memory.
//
// The hub also keeps the connections themselves, to close them when
// their session is revoked or the server shuts down.
type hub struct {
	maxConns int
	mu       sync.Mutex
	accounts map[string]*accountHub
	closing  bool
	conns    sync.WaitGroup
}

// accountHub is one account's state.
type accountHub struct {
	head    uint64
	pokedAt time.Time
	conns   map[*syncConn]struct{}
	// page is the last live page a connection read (see sharePage), for
	// the account's other connections at the same cursor.
	page *sharedPage
	// compactedAt is when a push last compacted the account's log.
	compactedAt time.Time
}

// maxSharedPage bounds the field bytes of a shared page, and so what an
// account whose connections went idle may hold.
const maxSharedPage = 16 << 10

// sharedPage is a page of changes read after a cursor that up to left
// more connections may take instead of reading it again.
type sharedPage struct {
	after   uint64
	changes []model.Change
	left    int
}

func newHub(maxConnsPerAccount int) *hub {
	return &hub{maxConns: maxConnsPerAccount, accounts: map[string]*accountHub{}}
}

// join registers c under its account. It fails with model.ErrUnavailable
// when the server is shutting down and syncproto.ErrRateLimited when the
// account has too many connections.
func (h *hub) join(c *syncConn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return fmt.Errorf("the server is shutting down: %w", model.ErrUnavailable)
	}
	a := h.accounts[c.sess.AccountID]
	if a == nil {
		a = &accountHub{conns: map[*syncConn]struct{}{}}
		h.accounts[c.sess.AccountID] = a
	}
	if len(a.conns) >= h.maxConns {
		return fmt.Errorf("the account has %d sync connections open, the most allowed: %w", len(a.conns), syncproto.ErrRateLimited)
	}
	a.conns[c] = struct{}{}
	h.conns.Add(1)
	return nil
}

// leave unregisters c; the account's state goes with its last connection.
func (h *hub) leave(c *syncConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[c.sess.AccountID]
	if a == nil {
		return
	}
	if _, ok := a.conns[c]; !ok {
		return
	}
	delete(a.conns, c)
	if len(a.conns) == 0 {
		delete(h.accounts, c.sess.AccountID)
	}
	h.conns.Done()
}

// poke records that the account's head is at least head (committed at
// at) and kicks its connections when that moves it. Pokes of accounts
// without connections are dropped: a connection reads the head when it
// opens.
func (h *hub) poke(accountID string, head uint64, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[accountID]
	if a == nil || head <= a.head {
		return
	}
	a.head, a.pokedAt = head, at
	for c := range a.conns {
		c.kick() // takes only c's sender lock, never the hub's
	}
}

// sharePage offers the page of changes after `after` that a connection
// just read, and that reached the head, to the account's other
// connections: a push wakes every connection of the account at the same
// cursor, and one storage read serves them all. The page is held until
// each other connection has taken it or moved past it, or another page
// replaces it, so an account holds at most one small page.
func (h *hub) sharePage(accountID string, after uint64, changes []model.Change) {
	h.offerPage(accountID, after, changes, 1)
}

// offerPage holds changes, the page after `after`, for the account's
// connections but `readers` of them (the one that read it, or none when
// a push made it).
func (h *hub) offerPage(accountID string, after uint64, changes []model.Change, readers int) {
	if fieldBytes(changes) > maxSharedPage {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[accountID]
	if a == nil || len(a.conns) <= readers {
		return
	}
	a.page = &sharedPage{after: after, changes: changes, left: len(a.conns) - readers}
}

func fieldBytes(changes []model.Change) int {
	n := 0
	for _, c := range changes {
		for _, v := range c.Fields {
			n += len(v)
		}
	}
	return n
}

// takePage returns the shared page of changes after `after`, or nil.
// The page may be older than the head (the caller reads on from its end)
// and may carry field values overwritten since (the later change that
// overwrote them follows it in the stream).
func (h *hub) takePage(accountID string, after uint64) []model.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[accountID]
	if a == nil || a.page == nil {
		return nil
	}
	p := a.page
	if p.after != after {
		// A connection's cursor only moves on: one past the page never
		// takes it, so it counts as taken.
		if after > p.after {
			if p.left--; p.left <= 0 {
				a.page = nil
			}
		}
		return nil
	}
	if p.left--; p.left <= 0 {
		a.page = nil
	}
	return p.changes
}

// head returns the account's head and when it moved there; ok is false
// once the account has no connection.
func (h *hub) head(accountID string) (head uint64, at time.Time, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[accountID]
	if a == nil {
		return 0, time.Time{}, false
	}
	return a.head, a.pokedAt, true
}

// revoke closes with 4401 the account's connections whose session
// matches (all of them when match is nil).
func (h *hub) revoke(accountID string, match func(sessionID string) bool) {
	h.mu.Lock()
	var doomed []*syncConn
	if a := h.accounts[accountID]; a != nil {
		for c := range a.conns {
			if match == nil || match(c.sess.ID) {
				doomed = append(doomed, c)
			}
		}
	}
	h.mu.Unlock()
	for _, c := range doomed {
		c.terminate(syncproto.CloseUnauthorized, "the session was revoked; sign in again")
	}
}

// compactDue reports whether the account's log may be compacted at now,
// at most once every every; it then counts as compacted at now.
func (h *hub) compactDue(accountID string, now time.Time, every time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[accountID]
	if a == nil || now.Sub(a.compactedAt) < every {
		return false
	}
	a.compactedAt = now
	return true
}

// refresh closes with 1001 the account's connections whose reported
// cursor is at least lag behind head, so they reconnect and report one
// that lets the log be compacted.
func (h *hub) refresh(accountID string, head, lag uint64) {
	h.mu.Lock()
	var stale []*syncConn
	if a := h.accounts[accountID]; a != nil {
		for c := range a.conns {
			if r := c.reported.Load(); head >= r+lag {
				stale = append(stale, c)
			}
		}
	}
	h.mu.Unlock()
	for _, c := range stale {
		c.terminate(syncproto.CloseGoingAway, "reconnect to report how far this device has synced")
	}
}

// goingAway refuses new connections and closes every open one with 1001.
func (h *hub) goingAway() {
	h.mu.Lock()
	h.closing = true
	var all []*syncConn
	for _, a := range h.accounts {
		for c := range a.conns {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.terminate(syncproto.CloseGoingAway, "the server is shutting down; reconnect")
	}
}

// wait returns once every connection has left, or when ctx ends.
func (h *hub) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { h.conns.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// Both may be ready when the shared shutdown deadline has passed
		// while the last connection left: only an open one is an error.
		select {
		case <-done:
			return nil
		default:
		}
		return fmt.Errorf("sync connections still open: %w", ctx.Err())
	}
}
