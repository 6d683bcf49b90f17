package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

// addLocalRequest stores one request the way an edit does.
func addLocalRequest(t *testing.T, db *store.DB) {
	t.Helper()
	op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{"name": json.RawMessage(`"local"`)}}
	if err := db.Apply(context.Background(), op); err != nil {
		t.Fatal(err)
	}
}

// HoldsLocalWork says when a sign-in must ask about the profile's records;
// HoldsOtherAccountData, when those are another account's data.
func TestHoldsLocalWorkAndOtherAccountData(t *testing.T) {
	ctx := context.Background()
	none := func(*testing.T, *store.DB) {}
	cases := []struct {
		name             string
		joinAs           string // "" for a profile never joined
		setup            func(t *testing.T, db *store.DB)
		local, otherData bool
	}{
		{"an empty profile", "", none, false, false},
		{"work never synced", "", addLocalRequest, true, false},
		{"a profile attached to this account", "acct-1", none, false, false},
		{"this account's data", "acct-1", pushLocalRequest, false, false},
		{"another account's pending work", "acct-2", addLocalRequest, true, true},
		{"another account's data", "acct-2", pushLocalRequest, true, true},
		{"another account's empty profile", "acct-2", none, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openStore(t)
			if c.joinAs != "" {
				if _, err := app.JoinAccount(ctx, db, c.joinAs, false); err != nil {
					t.Fatal(err)
				}
			}
			c.setup(t, db)
			if got, err := app.HoldsLocalWork(ctx, db, "acct-1"); err != nil || got != c.local {
				t.Errorf("HoldsLocalWork = %v, %v; want %v", got, err, c.local)
			}
			if got, err := app.HoldsOtherAccountData(ctx, db, "acct-1"); err != nil || got != c.otherData {
				t.Errorf("HoldsOtherAccountData = %v, %v; want %v", got, err, c.otherData)
			}
		})
	}
}

// pushLocalRequest stores one request the way an edit does and has the
// server echo it, as a sync that pushed it would.
func pushLocalRequest(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: model.NewID(), Fields: model.Fields{"name": json.RawMessage(`"pushed"`)}}
	if err := db.Apply(ctx, op); err != nil {
		t.Fatal(err)
	}
	cur, err := db.Cursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	echo := model.Change{Seq: cur + 1, Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID}
	if err := db.ApplyServerChanges(ctx, []model.Change{echo}, cur+1); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveAccountDataEmptiesAndDetachesTheProfile(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
		t.Fatal(err)
	}
	pushLocalRequest(t, db)
	if err := app.RemoveAccountData(ctx, db); err != nil {
		t.Fatal(err)
	}
	recs, err := db.List(ctx, model.KindRequest)
	if err != nil || len(recs) != 0 {
		t.Fatalf("requests left: %d, %v", len(recs), err)
	}
	if on, err := db.SyncEnabled(ctx); err != nil || on {
		t.Fatalf("still attached: %v, %v", on, err)
	}
	if n, err := db.PendingCount(ctx); err != nil || n != 0 {
		t.Fatalf("pending ops left: %d, %v", n, err)
	}
	// Another account may then join without a question.
	if got, err := app.HoldsLocalWork(ctx, db, "acct-2"); err != nil || got {
		t.Fatalf("HoldsLocalWork after removal = %v, %v", got, err)
	}
}

// Removing the account's data never removes what exists only on this
// device: changes the server has not acknowledged, or the records of a
// profile that never synced.
func TestRemoveAccountDataKeepsWhatOnlyThisDeviceHolds(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		joined bool
		want   string
	}{
		{"a change not pushed yet", true, "1 change made here has not reached the server"},
		{"a profile never attached", false, "never synced to the account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openStore(t)
			if c.joined {
				if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
					t.Fatal(err)
				}
				pushLocalRequest(t, db)
			}
			addLocalRequest(t, db)
			before, _ := db.List(ctx, model.KindRequest)
			err := app.RemoveAccountData(ctx, db)
			if !errors.Is(err, app.ErrUnpushed) || !errors.Is(err, model.ErrConflict) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("RemoveAccountData = %v, want ErrUnpushed saying %q", err, c.want)
			}
			if after, _ := db.List(ctx, model.KindRequest); len(after) != len(before) {
				t.Fatalf("%d requests left of %d", len(after), len(before))
			}
			if on, _ := db.SyncEnabled(ctx); on != c.joined {
				t.Fatalf("attached = %v after a refused removal, want %v", on, c.joined)
			}
		})
	}
	t.Run("an empty profile never attached", func(t *testing.T) {
		if err := app.RemoveAccountData(ctx, openStore(t)); err != nil {
			t.Fatal(err)
		}
	})
}
