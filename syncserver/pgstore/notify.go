package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Channel is the NOTIFY channel of head changes of a store in the public
// schema; a payload is "<account id>:<head>". NOTIFY reaches every
// session of the database, whatever its schema, so a store in another
// schema (two servers sharing one database) has a channel of its own:
// see channelFor.
const Channel = "courier_head"

// channelFor returns the channel of a store in schema: Channel for
// public, else Channel_<schema>, or Channel_<hash of schema> when that
// would not be a plain identifier of at most 63 bytes.
func channelFor(schema string) string {
	if schema == "" || schema == "public" {
		return Channel
	}
	name := Channel + "_" + schema
	plain := len(name) <= 63
	for _, r := range schema {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			plain = false
		}
	}
	if plain {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return Channel + "_" + hex.EncodeToString(sum[:8])
}

// listenAppName and notifyAppName are the application_name of the
// LISTEN connection and of the notifier's (they tell them apart in
// pg_stat_activity).
const (
	listenAppName = "courier-listen"
	notifyAppName = "courier-notify"
)

// notifier sends the heads queued by pushes, coalesced: one statement
// carries the latest head of every account pushed to since the last one,
// and statements are at least `every` apart (the first after a quiet
// spell goes at once), so each account is notified at most once per
// `every`, and a busy server sends at most one statement per `every`,
// however many accounts it serves: each wakes every replica's listener.
type notifier struct {
	pool    *pgxpool.Pool
	channel string
	every   time.Duration
	log     *slog.Logger

	// last is when the last flush sent (the loop's only).
	last time.Time

	mu      sync.Mutex
	pending map[string]uint64
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// newNotifier starts a notifier sending on its own pool of one
// connection made from cfg; every < 0 gives nil (NOTIFY off).
//
// That connection commits without waiting for its WAL flush
// (synchronous_commit off): a notification carries only the head of
// pushes already committed durably, and listeners are told at commit,
// so the wait would only delay the other replicas. As the setting is the
// connection's, a notification is one statement in an implicit
// transaction (one round trip, about a third of PostgreSQL's CPU of a
// BEGIN, SET LOCAL, SELECT, COMMIT batch on a shared connection), and
// pushes never wait for a pool connection behind it.
func newNotifier(ctx context.Context, cfg *pgxpool.Config, channel string, every time.Duration, log *slog.Logger) (*notifier, error) {
	if every < 0 {
		return nil, nil
	}
	cfg = cfg.Copy()
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	cfg.ConnConfig.RuntimeParams["application_name"] = notifyAppName
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect the notifier to %s: %w", where(cfg.ConnConfig), wrap(err))
	}
	if every == 0 {
		every = 5 * time.Millisecond
	}
	n := &notifier{pool: pool, channel: channel, every: every, log: log, pending: map[string]uint64{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go n.loop()
	return n, nil
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

// close sends what is pending, stops the loop and closes its pool.
func (n *notifier) close() {
	if n == nil {
		return
	}
	n.once.Do(func() { close(n.quit) })
	<-n.done
	n.pool.Close()
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

// flush sends, in one statement, the pending heads of every account,
// unless the last flush was less than every ago (when now is zero, it
// sends at once); then it returns when the next one is due. On failure
// the heads go back to pending, unless a newer one came meanwhile.
func (n *notifier) flush(now time.Time) (next time.Time, err error) {
	if due := n.last.Add(n.every); !now.IsZero() && now.Before(due) {
		return due, nil
	}
	n.mu.Lock()
	batch := n.pending
	n.pending = map[string]uint64{}
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
	if _, err := n.pool.Exec(ctx, notifySQL, n.channel, payloads); err != nil {
		n.mu.Lock()
		for acct, head := range batch {
			if head > n.pending[acct] {
				n.pending[acct] = head
			}
		}
		n.mu.Unlock()
		return next, fmt.Errorf("notify %d heads: %w", len(batch), wrap(err))
	}
	n.last = now
	return next, nil
}

// notifySQL sends the payloads $2 on channel $1 in one transaction.
const notifySQL = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`

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
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{d.channel}.Sanitize()); err != nil {
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
