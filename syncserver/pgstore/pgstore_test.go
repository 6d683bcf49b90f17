package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
	"github.com/courierapp/courier/syncserver/storetest"
)

func openTest(t testing.TB, opt pgstore.Options) *pgstore.DB {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := pgstore.Open(context.Background(), pgtest.URL(t), opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) syncserver.Storage { return openTest(t, pgstore.Options{}) })
}

func TestSyncConformance(t *testing.T) {
	storetest.RunSync(t, func(t *testing.T) storetest.SyncBackend { return openTest(t, pgstore.Options{}) })
}

func TestOIDCConformance(t *testing.T) {
	storetest.RunOIDC(t, func(t *testing.T) syncserver.Storage { return openTest(t, pgstore.Options{}) })
}

func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	url := pgtest.URL(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := pgstore.Open(context.Background(), url, pgstore.Options{Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("Open beside others: %v", err)
		}
	}
	db := openTest(t, pgstore.Options{})
	defer db.Close()
	if _, err := db.Stats(context.Background()); err != nil {
		t.Fatalf("Stats after concurrent migrations: %v", err)
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, distinct int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions != distinct || versions < 2 {
		t.Fatalf("schema_migrations holds %d rows, %d distinct; want each version once", versions, distinct)
	}
}

func TestOpenUnreachableDatabaseIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = pgstore.Open(ctx, "postgres://u:secret@"+addr+"/db?sslmode=disable", pgstore.Options{})
	if !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("Open of a closed port: err = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
