package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/courierapp/courier/syncserver"
)

// Channel is the NOTIFY channel of head changes; a payload is
// "<account id>:<head>".
const Channel = "courier_head"

// listenAppName is the application_name of the LISTEN connection (it
// tells it apart in pg_stat_activity).
const listenAppName = "courier-listen"

// notifier sends the heads queued by pushes, coalesced: one statement
// carries the latest head of every account due, and an account notified
// less than `every` ago waits until then (others do not wait for it), so
// each account is notified at most once per `every`.
type notifier struct {
	pool  *pgxpool.Pool
	every time.Duration
	log   *slog.Logger

	// sent is when each account was last notified (the loop's only).
	sent map[string]time.Time

	mu      sync.Mutex
	pending map[string]uint64
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// newNotifier starts a notifier; every < 0 gives nil (NOTIFY off).
func newNotifier(pool *pgxpool.Pool, every time.Duration, log *slog.Logger) *notifier {
	if every < 0 {
		return nil
	}
	if every == 0 {
		every = 5 * time.Millisecond
	}
	n := &notifier{pool: pool, every: every, log: log, pending: map[string]uint64{}, sent: map[string]time.Time{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go n.loop()
	return n
}

// queue records that the account's head reached head.
func (n *notifier) queue(accountID string, head uint64) {
	if n == nil {
		return
	}
	n.mu.Lock()
	if head > n.pending[accountID] {
		n.pending[accountID] = head
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// close sends what is pending and stops the loop.
func (n *notifier) close() {
	if n == nil {
		return
	}
	n.once.Do(func() { close(n.quit) })
	<-n.done
}

func (n *notifier) loop() {
	defer close(n.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var retryAt time.Time // while failing, when to try again
	for {
		select {
		case <-n.kick:
		case <-timer.C:
		case <-n.quit:
			n.flush(time.Time{})
			return
		}
		now := time.Now()
		if now.Before(retryAt) {
			continue // the timer is set for retryAt
		}
		next, err := n.flush(now)
		if err != nil {
			if retryAt.IsZero() {
				n.log.Warn("notifying other replicas failed; retrying", "err", err)
			}
			retryAt, next = now.Add(time.Second), now.Add(time.Second)
		} else {
			retryAt = time.Time{}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// flush sends, in one statement, the pending heads of the accounts not
// notified within every (all of them when now is zero) and returns when
// the next account held back is due (zero for none). On failure the heads
// go back to pending, unless a newer one came meanwhile.
func (n *notifier) flush(now time.Time) (next time.Time, err error) {
	for acct, at := range n.sent {
		if now.Sub(at) >= n.every {
			delete(n.sent, acct)
		}
	}
	batch := map[string]uint64{}
	n.mu.Lock()
	for acct, head := range n.pending {
		if due := n.sent[acct].Add(n.every); !now.IsZero() && now.Before(due) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		batch[acct] = head
		delete(n.pending, acct)
	}
	n.mu.Unlock()
	if len(batch) == 0 {
		return next, nil
	}
	payloads := make([]string, 0, len(batch))
	for acct, head := range batch {
		payloads = append(payloads, acct+":"+strconv.FormatUint(head, 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.pool.SendBatch(ctx, notifyBatch(payloads)).Close(); err != nil {
		n.mu.Lock()
		for acct, head := range batch {
			if head > n.pending[acct] {
				n.pending[acct] = head
			}
		}
		n.mu.Unlock()
		return next, fmt.Errorf("notify %d heads: %w", len(batch), wrap(err))
	}
	for acct := range batch {
		n.sent[acct] = now
	}
	return next, nil
}

// notifyBatch sends the payloads in one transaction and one round trip.
// The transaction commits without waiting for its WAL flush: it carries
// only the heads of pushes already committed durably, and a listener is
// told at commit, so the wait would only delay the other replicas.
func notifyBatch(payloads []string) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, Channel, payloads)
	b.Queue(`COMMIT`)
	return b
}

// parsePayload splits "<account>:<head>".
func parsePayload(p string) (string, uint64, bool) {
	i := strings.LastIndexByte(p, ':')
	if i <= 0 {
		return "", 0, false
	}
	head, err := strconv.ParseUint(p[i+1:], 10, 64)
	return p[:i], head, err == nil
}

// Listening reports whether WatchHeads holds an established LISTEN
// connection (one whose heads were re-read).
func (d *DB) Listening() bool { return d.listening.Load() }

// LostListens counts the times WatchHeads lost its LISTEN connection or
// failed to make one.
func (d *DB) LostListens() int64 { return d.listens.Load() }

// WatchHeads implements syncserver.HeadWatcher: it LISTENs on one
// dedicated connection, re-reads the heads of sink's accounts each time
// that connection is (re)established, and reconnects with capped,
// jittered backoff when it is lost.
func (d *DB) WatchHeads(ctx context.Context, sink syncserver.HeadSink) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := d.listen(ctx, sink)
		if ctx.Err() != nil {
			return nil
		}
		d.listens.Add(1)
		d.log.Warn("lost the LISTEN connection; reconnecting", "err", err)
		if time.Since(start) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listen serves one LISTEN connection until it fails or ctx ends.
func (d *DB) listen(ctx context.Context, sink syncserver.HeadSink) error {
	cfg := d.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return wrap(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return wrap(err)
	}
	// Listening now: re-read what may have moved while nobody listened.
	if err := resync(ctx, conn, sink); err != nil {
		return err
	}
	d.listening.Store(true)
	defer d.listening.Store(false)
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return wrap(err)
		}
		if acct, head, ok := parsePayload(note.Payload); ok {
			sink.HeadChanged(acct, head)
		}
	}
}

// resync reports the stored head of every account of sink.
func resync(ctx context.Context, conn *pgx.Conn, sink syncserver.HeadSink) error {
	accts := sink.Accounts()
	if len(accts) == 0 {
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT id, head FROM accounts WHERE id = ANY($1)`, accts)
	if err != nil {
		return wrap(err)
	}
	var id string
	var head int64
	_, err = pgx.ForEachRow(rows, []any{&id, &head}, func() error { sink.HeadChanged(id, uint64(head)); return nil })
	if err != nil && !errors.Is(err, context.Canceled) {
		return wrap(err)
	}
	return err
}
