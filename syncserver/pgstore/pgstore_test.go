package pgstore_test

import (
	"context"
	"log/slog"
	"testing"

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
