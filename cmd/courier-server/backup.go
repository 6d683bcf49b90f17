package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/courierapp/courier/syncserver/boltstore"
)

// Hot backups of the bbolt file (--backup-dir): a consistent copy every
// --backup-every while the server runs, the newest --backup-keep kept.
const (
	defaultBackupEvery = 24 * time.Hour
	defaultBackupKeep  = 7
	// backupRetry is the wait after a failed backup, when shorter than
	// the interval.
	backupRetry = 5 * time.Minute
	// backupTimeLayout names the copies: server-20261127T193000Z.db sort
	// by name as by time.
	backupTimeLayout = "20060102T150405Z"
)

// backups writes the copies of db into dir.
type backups struct {
	db    *boltstore.DB
	dir   string
	every time.Duration
	keep  int
	log   *slog.Logger
	now   func() time.Time

	// For /metrics: when the last copy was written (Unix seconds, 0 for
	// none since start), its size, and the failures since start.
	lastOK   prometheus.Gauge
	lastSize prometheus.Gauge
	failures prometheus.Counter
}

// newBackups returns the backups into dir every 24h, 7 kept, with their
// metrics; db and log are set once the store is open.
func newBackups(dir string, now func() time.Time) *backups {
	return &backups{dir: dir, every: defaultBackupEvery, keep: defaultBackupKeep, now: now,
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "courier_backup_last_success_timestamp_seconds", Help: "When the last backup (--backup-dir) was written, as a Unix time; 0 before the first since start.",
		}),
		lastSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "courier_backup_last_size_bytes", Help: "Size of the last backup written.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "courier_backup_failures_total", Help: "Backups that failed since start.",
		}),
	}
}

// collectors are the metrics of the backups.
func (b *backups) collectors() []prometheus.Collector {
	return []prometheus.Collector{b.lastOK, b.lastSize, b.failures}
}

// backupConfig reads --backup-dir, --backup-every and --backup-keep; nil
// without --backup-dir.
func (m *Main) backupConfig() (*backups, error) {
	if m.BackupDir == "" {
		if m.BackupEvery != "" || m.BackupKeep != "" {
			return nil, errors.New("--backup-every and --backup-keep need --backup-dir")
		}
		return nil, nil
	}
	if m.DB != "" {
		return nil, errors.New("--backup-dir backs up the bbolt file; with --db, back up PostgreSQL instead (pg_dump, or the provider's backups)")
	}
	b := newBackups(m.BackupDir, m.now)
	if m.BackupEvery != "" {
		d, err := time.ParseDuration(m.BackupEvery)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("--backup-every %q: want a duration of at least 1s, e.g. 6h", m.BackupEvery)
		}
		b.every = d
	}
	if m.BackupKeep != "" {
		n, err := strconv.Atoi(m.BackupKeep)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--backup-keep %q: want a number of copies, at least 1", m.BackupKeep)
		}
		b.keep = n
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("--backup-dir: %w", err)
	}
	return b, nil
}

// run backs up every b.every until ctx is done, the first time at once
// unless the newest copy is younger than that.
func (b *backups) run(ctx context.Context) {
	next := b.now()
	if last, ok := b.newest(); ok && last.Add(b.every).After(next) {
		next = last.Add(b.every)
	}
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := b.every
		if err := b.once(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.failures.Inc()
			b.log.Error("backup failed; the next try comes later", "dir", b.dir, "err", err)
			wait = min(b.every, backupRetry)
		}
		t.Reset(wait)
	}
}

// once writes one copy, then removes the oldest beyond b.keep.
func (b *backups) once(ctx context.Context) error {
	start := b.now()
	path := filepath.Join(b.dir, "server-"+start.UTC().Format(backupTimeLayout)+".db")
	n, err := b.db.BackupFile(ctx, path)
	if err != nil {
		return err
	}
	b.lastOK.Set(float64(b.now().Unix()))
	b.lastSize.Set(float64(n))
	b.log.Info("backup written", "file", path, "bytes", n, "took", b.now().Sub(start).Round(time.Millisecond))
	names := b.copies()
	for _, name := range names[:max(len(names)-b.keep, 0)] {
		if err := os.Remove(filepath.Join(b.dir, name)); err != nil {
			b.log.Warn("remove an old backup", "file", name, "err", err)
		}
	}
	return nil
}

// copies lists the backups in b.dir, oldest first.
func (b *backups) copies() []string {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if _, ok := backupTime(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// newest returns the time of the newest backup.
func (b *backups) newest() (time.Time, bool) {
	names := b.copies()
	if len(names) == 0 {
		return time.Time{}, false
	}
	return backupTime(names[len(names)-1])
}

// backupTime reads the time in a backup's name.
func backupTime(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, "server-")
	if !ok {
		return time.Time{}, false
	}
	if s, ok = strings.CutSuffix(s, ".db"); !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(backupTimeLayout, s)
	return t, err == nil
}

// restoreMarker is a storage that can ready restored data (both backends).
type restoreMarker interface {
	MarkRestored(ctx context.Context) (int, error)
}

// RunMarkRestored runs --mark-restored: it opens the storage, moves every
// account's stream past a gap (devices that synced past the backup then
// start over), and closes it.
func (m *Main) RunMarkRestored(ctx context.Context) (err error) {
	log, err := m.logger()
	if err != nil {
		return err
	}
	m.applyDefaults()
	st, err := m.openStore(ctx, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}()
	mr, ok := st.(restoreMarker)
	if !ok {
		return errors.New("--mark-restored: this storage cannot be marked")
	}
	n, err := mr.MarkRestored(ctx)
	if err != nil {
		return err
	}
	log.Info("restored data marked: devices that synced past it will start over", "accounts", n)
	return nil
}
