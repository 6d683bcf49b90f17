package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/pgstore"
)

// openStore opens PostgreSQL when --db is given (several replicas may
// share it), else the bbolt file in the data directory.
func (m *Main) openStore(ctx context.Context, log *slog.Logger) (syncserver.Storage, error) {
	if m.DB == "" {
		if m.DBMaxConns != "" {
			return nil, errors.New("--db-max-conns needs --db")
		}
		db, err := boltstore.Open(filepath.Join(m.DataDir, "server.db"))
		if errors.Is(err, boltstore.ErrInUse) {
			return nil, &quietError{err: err,
				msg: fmt.Sprintf("another courier-server is using the data folder %s: stop it first, or give this one another --data", m.DataDir)}
		}
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	if !strings.HasPrefix(m.DB, "postgres://") && !strings.HasPrefix(m.DB, "postgresql://") {
		return nil, errors.New("--db wants a postgres:// URL")
	}
	maxConns := 0
	if m.DBMaxConns != "" {
		n, err := strconv.Atoi(m.DBMaxConns)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--db-max-conns %q: want a positive number", m.DBMaxConns)
		}
		maxConns = n
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := pgstore.Open(ctx, m.DB, pgstore.Options{MaxConns: maxConns, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open --db: %w", err)
	}
	return db, nil
}
