package pgstore

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key held while migrations run.
const migrationLock = 0x636f7572696572 // "courier"

// Options tune Open; the zero value means the defaults.
type Options struct {
	// MaxConns bounds the connection pool; 0 means DefaultMaxConns. The
	// LISTEN connection of WatchHeads and the notifier's connection come
	// on top.
	MaxConns int
	// NotifyEvery is the shortest gap between two NOTIFY statements, each
	// carrying the heads of the accounts pushed to since the one before;
	// 0 means 5 ms. A negative value turns NOTIFY off.
	NotifyEvery time.Duration
	// Logger receives the store's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultMaxConns is the pool size when Options.MaxConns is 0: the larger
// of 8 and twice the number of CPUs. Every push holds a connection for
// one round trip (its commit included), as does every delivery: with
// too few connections, pushes of different accounts queue for one rather
// than share a WAL flush. With 32 accounts pushing on 2 CPUs, 8 took
// about 5% more pushes/s than pgx's own default of 4 (the median of
// BenchmarkPushThroughput/pg-notify beside .../pg-notify-pool-4).
func DefaultMaxConns() int { return max(8, 2*runtime.NumCPU()) }

// DB is the PostgreSQL backend. It is safe for concurrent use.
type DB struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	notifier *notifier
	// channel is the NOTIFY channel of this store's heads (see
	// channelFor).
	channel string
	// listening and listens describe WatchHeads' LISTEN connection.
	listening atomic.Bool
	listens   atomic.Int64
}

var (
	_ syncserver.Storage     = (*DB)(nil)
	_ syncserver.HeadWatcher = (*DB)(nil)
)

// Open connects to the database at url (postgres://...), applies the
// migrations it lacks and returns the store. A database that does not
// answer gives an error wrapping model.ErrUnavailable; a bad URL one
// wrapping model.ErrInvalid.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", model.ErrInvalid) // the URL may hold a password: not echoed
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = DefaultMaxConns()
	}
	cfg.MaxConns = int32(opt.MaxConns)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", where(cfg.ConnConfig), wrap(err))
	}
	d := &DB{pool: pool, log: opt.Logger}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := d.read(ctx, func() error { return pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema) }); err != nil {
		pool.Close()
		return nil, fmt.Errorf("read the schema: %w", err)
	}
	d.channel = channelFor(schema)
	if d.notifier, err = newNotifier(ctx, cfg, d.channel, opt.NotifyEvery, opt.Logger); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

// Channel returns the NOTIFY channel of the store's heads.
func (d *DB) Channel() string { return d.channel }

// where names the database server without credentials.
func where(c *pgx.ConnConfig) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// Close stops the notifier (after sending what it holds) and closes the
// pool.
func (d *DB) Close() error {
	d.notifier.close()
	d.pool.Close()
	return nil
}

// Ping reports whether the database answers; the error wraps
// model.ErrUnavailable when it does not.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read(ctx, func() error { return d.pool.Ping(ctx) }); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations not yet applied, in version
// order, in one transaction under an advisory lock.
func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for _, name := range names {
			v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
			if err != nil || v <= have {
				continue
			}
			sql, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
			d.log.Info("database migrated", "version", v)
		}
		return nil
	})
}

// tx runs fn in a read-committed transaction and commits it. When the
// database stops answering before the commit (so nothing was applied),
// it tries once more on a fresh connection: a restart or failover leaves
// dead connections in the pool, and the first to be used should not fail
// a request. fn may thus run twice and must set its results afresh.
func (d *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		committing := false
		tx, err := d.pool.Begin(ctx)
		if err == nil {
			if err = fn(tx); err == nil {
				committing = true
				err = tx.Commit(ctx)
			} else {
				tx.Rollback(context.WithoutCancel(ctx))
			}
		}
		err = d.check(err)
		if attempt > 0 || committing || ctx.Err() != nil || !errors.Is(err, model.ErrUnavailable) {
			return err
		}
	}
}

// read runs a read on the pool, once more when the database stopped
// answering (see tx).
func (d *DB) read(ctx context.Context, fn func() error) error {
	err := d.check(fn())
	if ctx.Err() == nil && errors.Is(err, model.ErrUnavailable) {
		err = d.check(fn())
	}
	return err
}

// check wraps err as wrap does and, when the database stopped answering,
// drops the pool's idle connections: they are likely dead too (a restart,
// a failover), and the next call should open fresh ones rather than fail
// on each in turn.
func (d *DB) check(err error) error {
	err = wrap(err)
	if errors.Is(err, model.ErrUnavailable) {
		d.pool.Reset()
	}
	return err
}

// wrap maps database errors onto the model vocabulary: a server that does
// not answer (or is shutting down) becomes model.ErrUnavailable.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, model.ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"), // operator intervention: shutdown, terminated
			pgErr.Code == "53300",                // too many connections
			pgErr.Code == "40001", pgErr.Code == "40P01":
			return fmt.Errorf("%w: %w", model.ErrUnavailable, err)
		case pgErr.Code == "53100": // disk_full: nothing was written
			return fmt.Errorf("the database's disk is full: %w: %w", model.ErrUnavailable, err)
		case pgErr.Code == "53200": // out_of_memory
			return fmt.Errorf("the database is out of memory: %w: %w", model.ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
		return fmt.Errorf("database unavailable: %w: %w", model.ErrUnavailable, err)
	}
	return err
}

// isConnErr reports errors of a connection that broke or never opened.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "unexpected EOF") ||
		strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") || strings.Contains(s, "closed pool")
}

// isUnique reports a unique_violation.
func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// isForeignKey reports a foreign_key_violation (a missing account).
func isForeignKey(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// LoadOrCreateSecret implements syncserver.Storage.
func (d *DB) LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	rand.Read(fresh)
	var out []byte
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("load secret %s: %w", name, err)
	}
	return out, nil
}

// Stats implements syncserver.Storage.
func (d *DB) Stats(ctx context.Context) (syncserver.Stats, error) {
	var s syncserver.Stats
	err := d.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM sessions)`).Scan(&s.Accounts, &s.Sessions)
	if err != nil {
		return s, fmt.Errorf("count accounts and sessions: %w", d.check(err))
	}
	return s, nil
}
