package boltstore_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) syncserver.Storage {
		db, err := boltstore.Open(filepath.Join(t.TempDir(), "server.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestOpenHeldFileIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.db")
	db, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// bbolt's flock is per open file description, so a second Open in this
	// process contends like a second process would.
	_, err = boltstore.Open(path)
	if !errors.Is(err, model.ErrUnavailable) || !errors.Is(err, boltstore.ErrInUse) {
		t.Fatalf("second Open: err = %v, want ErrUnavailable and ErrInUse", err)
	}
}

func TestSyncConformance(t *testing.T) {
	storetest.RunSync(t, func(t *testing.T) storetest.SyncBackend {
		db, err := boltstore.Open(filepath.Join(t.TempDir(), "server.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
