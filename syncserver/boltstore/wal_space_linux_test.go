package boltstore_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
	"github.com/courierapp/courier/syncserver/servertest"
)

// With little room left on its file system, the store commits each push
// to the data file before acknowledging it instead of logging it: a full
// disk must not hold acknowledged pushes that the file has no room for.
func TestALowDiskCommitsPushesInsteadOfLoggingThem(t *testing.T) {
	for _, c := range []struct {
		size   string
		logged bool
	}{{"32m", false}, {"256m", true}} {
		t.Run(c.size, func(t *testing.T) {
			fs := servertest.MountTmpfs(t, c.size)
			db, err := boltstore.Open(filepath.Join(fs.Dir, "server.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			boltstore.HoldCheckpoints(db)
			ctx := context.Background()
			acct := syncserver.Account{ID: "low", Username: "low", Email: "low@example.com", CreatedAt: time.Now()}
			if err := db.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
			op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{"name": json.RawMessage(`"x"`)}}
			if _, err := db.Push(ctx, acct.ID, []model.Op{op}, syncserver.Quota{}); err != nil {
				t.Fatal(err)
			}
			if got := boltstore.Logged(db); got != c.logged {
				t.Fatalf("on a %s file system the push waits in the log: %v, want %v", c.size, got, c.logged)
			}
		})
	}
}
