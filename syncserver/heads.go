package syncserver

import (
	"context"
	"sync"
	"time"
)

// HeadWatcher is a Storage shared by several server replicas that can
// tell each replica when an account's head moved through another one
// (pgstore: PostgreSQL LISTEN/NOTIFY). A Server whose Storage implements
// it runs WatchHeads for its lifetime and pokes its own sync connections
// with what it reports.
type HeadWatcher interface {
	// WatchHeads reports head changes to sink until ctx ends, then
	// returns nil. Reports are hints, the stored seq is the truth: after
	// any gap in what it could observe (a lost connection) it reports the
	// current head of every account in sink.Accounts(), so no change is
	// missed. It returns an error only when it cannot go on.
	WatchHeads(ctx context.Context, sink HeadSink) error
}

// HeadSink receives head changes from a HeadWatcher.
type HeadSink interface {
	// HeadChanged says that the account's head is at least head.
	HeadChanged(accountID string, head uint64)
	// Accounts lists the accounts with sync connections open here.
	Accounts() []string
}

// Pinger is a Storage that can tell whether its database answers;
// /healthz answers 503 while it does not.
type Pinger interface {
	Ping(ctx context.Context) error
}

// hubHeads feeds a HeadWatcher's reports to the hub.
type hubHeads struct{ h *hub }

func (s hubHeads) HeadChanged(accountID string, head uint64) { s.h.poke(accountID, head, time.Now()) }

func (s hubHeads) Accounts() []string {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	out := make([]string, 0, len(s.h.accounts))
	for id := range s.h.accounts {
		out = append(out, id)
	}
	return out
}

// watchHeads runs the storage's HeadWatcher, if it has one, until the
// returned stop is called.
func (s *Server) watchHeads(st Storage) (stop func()) {
	w, ok := st.(HeadWatcher)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.WatchHeads(ctx, hubHeads{s.hub}); err != nil {
			s.log.Error("watching other replicas' heads stopped", "err", err)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// healthy reports whether the storage answers, within two seconds.
func (s *Server) healthy(ctx context.Context) error {
	p, ok := s.cfg.Storage.(Pinger)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return p.Ping(ctx)
}
