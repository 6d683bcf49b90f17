package syncclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// Store is what the sync engine needs of the local store; package store
// implements it. See store's package comment for the layers these methods
// keep.
type Store interface {
	// Cursor returns the last server seq applied.
	Cursor(ctx context.Context) (uint64, error)
	// PrepareServerChanges checks one page of the stream (opened values:
	// kinds, ids, field names, and that every value is JSON, which the
	// engine does not check) and does the part of applying it that needs
	// no transaction. The engine calls it from its reader, while the page
	// before commits.
	PrepareServerChanges(changes []model.Change) (app.ServerPage, error)
	// ApplyServerPage applies a prepared page and moves the cursor, in
	// one transaction; it drops the pending ops the page echoes.
	ApplyServerPage(ctx context.Context, page app.ServerPage, cursor uint64) error
	// PendingOps returns up to limit pending ops, oldest first.
	PendingOps(ctx context.Context, limit int) ([]model.Op, error)
	// PendingDeletions returns the pending ops that delete a record the
	// server holds, oldest first: pushed ahead of the others, they make
	// room in the account's quota.
	PendingDeletions(ctx context.Context) ([]model.Op, error)
	// PendingCount returns how many ops are pending.
	PendingCount(ctx context.Context) (int, error)
	// AckOps drops the pending ops opIDs.
	AckOps(ctx context.Context, opIDs []model.ID) error
	// Subscribe calls fn after every commit until cancel.
	Subscribe(fn func(app.Changes)) (cancel func())
}

// EarlyStore is implemented by stores that hand the ops of a local write
// to the engine just before the write commits, with the ids of the ops
// pending before them (package store does: see its WatchOutbox). When
// every one of those is already on its way to the server, the engine
// sends the new ops while the commit's fsyncs run, and an edit reaches
// the other devices one local commit sooner.
type EarlyStore interface {
	WatchOutbox(fn func(ops []model.Op, before []model.ID, committing func() bool)) (cancel func())
}

// PageJoiner is implemented by stores that can apply several prepared
// pages in one transaction (package store does: see its
// JoinServerPages). A connection whose reader is ahead of the store then
// applies the pages waiting together, up to maxJoinChanges changes, and a
// device catching up pays one commit for them instead of one each.
type PageJoiner interface {
	JoinServerPages(pages []app.ServerPage) (app.ServerPage, error)
}

// earlyOps is one write's ops handed over before its commit.
type earlyOps struct {
	ops        []model.Op
	before     []model.ID // pending before them
	committing func() bool
}

// Clock is time as the engine sees it; tests pass a fake one to check the
// backoff without waiting.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Backoff bounds of reconnection (full jitter: each wait is uniform in
// [0, min(BackoffMax, BackoffMin*2^attempt))).
const (
	BackoffMin = 500 * time.Millisecond
	BackoffMax = 30 * time.Second
)

// maxInflight bounds the pushed ops awaiting their acknowledgement on one
// connection, so a large outbox streams without flooding the server.
const maxInflight = 4 * syncproto.MaxPushOps

// EngineConfig configures an Engine.
type EngineConfig struct {
	// ServerURL is the account's https:// server.
	ServerURL string
	// CAFile is an extra CA file to trust, as for the account Client.
	CAFile string
	// Proxy is "" (the environment's HTTPS_PROXY and NO_PROXY), "direct",
	// or a proxy URL (no scheme means http); the connection goes through
	// it with HTTP CONNECT.
	Proxy string
	// Token is the session token sent as `Authorization: Bearer`.
	Token string
	// Key seals and opens field values.
	Key vault.AccountKey
	// DeviceID names the device in hello; empty means "courier".
	DeviceID string
	// Store is the local store. Required.
	Store Store
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Clock and Rand drive the backoff; nil means the real ones. Rand
	// returns a number in [0, 1).
	Clock Clock
	Rand  func() float64
	// PingInterval is how often the engine pings; zero means
	// syncproto.PingInterval.
	PingInterval time.Duration
	// DialTimeout bounds the handshake; zero means DefaultTimeout.
	DialTimeout time.Duration
}

// Engine keeps one profile in sync with its account (DESIGN.md sections 3
// and 4): it pulls the server's stream into the confirmed layer, pushes
// the outbox once caught up, and reconnects with backoff. It implements
// app.SyncEngine. Run and Once must not run at the same time.
type Engine struct {
	cfg    EngineConfig
	wsURL  string
	wsHost string // host:port of wsURL, for messages
	hc     *http.Client
	sealer *vault.Sealer
	log    *slog.Logger
	clock  Clock
	back   backoff
	wake   chan struct{} // SyncNow
	local  chan struct{} // a local commit happened
	early  chan earlyOps // a local write is committing (EarlyStore)
	status statusBox
	// pushLimit bounds the ops of one push while the account is at its
	// quota; 0 means syncproto.MaxPushOps with pushes pipelined. See
	// conn.pushUnderQuota.
	pushLimit int
	// unacked is how many ops the last connection had pushed without
	// their acknowledgement when it ended.
	unacked int
	// live says a connection is welcomed: its loop keeps the status's
	// pending count and cursor (conn.settle).
	live atomic.Bool
	// queueBound is the bytes of read frames kept in memory while the
	// store applies a page; frames beyond it wait in a spill file.
	queueBound int
	// echoHold bounds how long echoes of this device's pushes wait to
	// be applied (see heldEchoes).
	echoHold echoHold
}

var _ app.SyncEngine = (*Engine)(nil)

// NewEngine returns an engine for cfg. Errors wrap model.ErrInvalid: a
// server URL that is not https://, an unreadable CA file, a bad proxy, a
// missing Store or Token.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Store == nil || cfg.Token == "" {
		return nil, fmt.Errorf("new sync engine: Store and Token are required: %w", model.ErrInvalid)
	}
	base, err := ParseServerURL(cfg.ServerURL)
	if err != nil {
		return nil, err
	}
	hc, err := wsHTTPClient(cfg.CAFile, cfg.Proxy)
	if err != nil {
		return nil, err
	}
	ws := *base
	ws.Scheme = "wss"
	ws.Path += syncproto.PathSync
	if cfg.DeviceID == "" {
		cfg.DeviceID = "courier"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = syncproto.PingInterval
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultTimeout
	}
	e := &Engine{
		cfg: cfg, wsURL: ws.String(), wsHost: ws.Host, hc: hc, sealer: vault.NewSealer(cfg.Key), log: cfg.Logger,
		clock: cfg.Clock, back: backoff{min: BackoffMin, max: BackoffMax, rand: cfg.Rand},
		wake: make(chan struct{}, 1), local: make(chan struct{}, 1), early: make(chan earlyOps, 4), queueBound: maxQueuedBytes,
		echoHold: defaultEchoHold,
	}
	e.status.init(app.SyncStatus{State: app.SyncConnecting})
	return e, nil
}

// wsHTTPClient is the HTTP/1.1 client the WebSocket handshake goes
// through: system roots plus caFile, and the proxy.
func wsHTTPClient(caFile, proxy string) (*http.Client, error) {
	roots, err := httprun.RootPool(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A WebSocket upgrade needs HTTP/1.1, and its connection is never
	// reused: without keep-alives, a dial that completes after its
	// handshake was given up is closed instead of idling on the server.
	tr.ForceAttemptHTTP2 = false
	tr.DisableKeepAlives = true
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	switch p := strings.TrimSpace(proxy); p {
	case "":
		tr.Proxy = http.ProxyFromEnvironment
	case "direct":
		tr.Proxy = nil
	default:
		if !strings.Contains(p, "://") {
			p = "http://" + p
		}
		u, err := url.Parse(p)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("proxy %q is not a URL like http://host:port: %w", proxy, model.ErrInvalid)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	return &http.Client{Transport: tr}, nil
}

// Status returns the current status.
func (e *Engine) Status() app.SyncStatus { return e.status.get(e.clock.Now()) }

// Subscribe calls fn with the status after each change, on a goroutine of
// the engine's, until cancel (safe to call more than once). A slow fn
// misses intermediate states, never the latest.
func (e *Engine) Subscribe(fn func(app.SyncStatus)) (cancel func()) {
	return e.status.subscribe(fn, func() app.SyncStatus { return e.Status() })
}

// SyncNow ends a backoff wait, so the next attempt starts at once.
func (e *Engine) SyncNow() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run keeps the profile in sync until ctx ends, reconnecting with
// full-jitter backoff (reset once a connection gets somewhere: it
// applies a page, has an op acknowledged or is in sync). It returns
// ctx's error, or, when the server says the person must act (close codes
// 4401, 4403, 4409), an error wrapping model.ErrUnauthorized or
// model.ErrInvalid; the status then reads "action needed: ...".
func (e *Engine) Run(ctx context.Context) error {
	stop := e.watchStore(ctx)
	defer stop()
	for {
		e.status.update(func(s *app.SyncStatus) { s.State, s.Why, s.RetryIn = app.SyncConnecting, "", 0 })
		err := e.session(ctx, false, &app.SyncSummary{})
		if ctx.Err() != nil {
			e.status.update(func(s *app.SyncStatus) { s.State, s.Why = app.SyncOff, "" })
			return ctx.Err()
		}
		v := e.judge(err)
		attrs := []any{"err", err, "state", v.state, "retry_in", v.delay}
		var ce *closedError
		if errors.As(err, &ce) {
			attrs = append(attrs, "close_code", int(ce.code))
		}
		e.log.Info("sync connection ended", attrs...)
		if v.state == app.SyncActionNeeded {
			e.status.update(func(s *app.SyncStatus) { s.State, s.Why, s.LastError = v.state, v.why, err.Error() })
			return v.err
		}
		e.status.setRetry(v.state, v.why, err.Error(), e.clock.Now().Add(v.delay))
		select {
		case <-ctx.Done():
			e.status.update(func(s *app.SyncStatus) { s.State, s.Why = app.SyncOff, "" })
			return ctx.Err()
		case <-e.clock.After(v.delay):
		case <-e.wake:
		}
	}
}

// Once connects, pulls until caught up, pushes every pending op, waits
// until all are acknowledged and disconnects. It does not retry: an error
// says why it stopped (see Run for the action-needed errors; failures to
// reach the server wrap model.ErrUnavailable, a value that does not open
// model.ErrInvalid).
func (e *Engine) Once(ctx context.Context) (app.SyncSummary, error) {
	stop := e.watchStore(ctx)
	defer stop()
	var sum app.SyncSummary
	e.status.update(func(s *app.SyncStatus) { s.State, s.Why = app.SyncConnecting, "" })
	err := e.session(ctx, true, &sum)
	// Past the account's quota, smaller pushes may yet fit (see
	// conn.pushUnderQuota): try them before giving up.
	for err != nil && ctx.Err() == nil && quotaRefused(err) && e.limitPushes() {
		err = e.session(ctx, true, &sum)
	}
	sum.Cursor = e.Status().Cursor
	if err != nil {
		v := e.judge(err)
		e.status.update(func(s *app.SyncStatus) { s.State, s.Why, s.LastError = v.state, v.why, err.Error() })
		return sum, v.err
	}
	return sum, nil
}

// watchStore keeps the pending count fresh and wakes the pusher on local
// commits, and on local writes about to commit (EarlyStore), until the
// returned stop.
func (e *Engine) watchStore(ctx context.Context) (stop func()) {
	e.refresh(ctx)
	stopEarly := func() {}
	if es, ok := e.cfg.Store.(EarlyStore); ok {
		stopEarly = es.WatchOutbox(func(ops []model.Op, before []model.ID, committing func() bool) {
			select {
			case e.early <- earlyOps{ops: ops, before: before, committing: committing}:
			default: // pushed after the commit instead
			}
		})
	}
	stopCommits := e.cfg.Store.Subscribe(func(c app.Changes) {
		if c.Remote {
			return
		}
		select {
		case e.local <- struct{}{}:
		default:
		}
		// A welcomed connection settles the status itself after
		// pushing, from the store as its own frames left it; a count
		// read here could land after that and stay stale.
		if !e.live.Load() {
			e.refresh(ctx)
		}
	})
	return func() { stopEarly(); stopCommits() }
}

// refresh reads the pending count and cursor into the status.
func (e *Engine) refresh(ctx context.Context) {
	n, err := e.cfg.Store.PendingCount(ctx)
	if err != nil {
		e.log.Warn("read the pending count", "err", err)
		return
	}
	cur, err := e.cfg.Store.Cursor(ctx)
	if err != nil {
		e.log.Warn("read the cursor", "err", err)
		return
	}
	e.status.update(func(s *app.SyncStatus) {
		s.Pending, s.Cursor = n, cur
		if s.State == app.SyncInSync && n > 0 {
			s.State = app.SyncSyncing
		}
	})
}

// Rebaser is implemented by stores that can start over from a server
// whose stream no longer holds theirs (package store does; see its
// Rebase): the confirmed layer becomes pending ops queued before the
// others and the cursor goes back to 0; while the stream is pulled again,
// each such op loses the fields the server holds alike or wrote after the
// restore, so only what the restore lost is pushed again.
type Rebaser interface {
	Rebase(ctx context.Context, cursor uint64) (int, error)
}

// rebase handles a welcome whose head is below the cursor: the server was
// restored from a backup and streams from seq 1. The confirmed layer is
// rebuilt from that stream and what the server lost is pushed again, so
// nothing on this device is dropped and no edit made on another device
// since the restore is undone. Errors wrap model.ErrInvalid when the store
// cannot do it.
func (e *Engine) rebase(ctx context.Context, head, cursor uint64) error {
	r, ok := e.cfg.Store.(Rebaser)
	if !ok {
		return fmt.Errorf("the server's account stream ends at %d, before this device's cursor %d (was the server restored from a backup?): %w", head, cursor, model.ErrInvalid)
	}
	n, err := r.Rebase(ctx, cursor)
	if err != nil {
		return fmt.Errorf("start over from the server's stream: %w", err)
	}
	e.log.Info("server stream behind the cursor; pulling it again and pushing what it lost", "head", head, "cursor", cursor, "records", n)
	return nil
}
