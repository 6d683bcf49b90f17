package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/storetest"
)

func TestOIDCStorageConformance(t *testing.T) {
	storetest.RunOIDC(t, func(t *testing.T) syncserver.Storage {
		db, err := boltstore.Open(filepath.Join(t.TempDir(), "server.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
