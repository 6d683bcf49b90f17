package pgstore_test

import (
	"context"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
)

// A database put back from a backup is marked once: every account's
// stream goes on past a gap, and a cursor in the gap is foreign.
func TestMarkRestoredMovesTheStreamsPastAGap(t *testing.T) {
	db := openTest(t, pgstore.Options{})
	defer db.Close()
	ctx := context.Background()
	newAccount(t, db, 910)
	const acct = "acct-910"
	op := func(id string) []model.Op {
		return []model.Op{{OpID: model.ID("op-" + id), Kind: model.KindRequest, ID: model.ID(id), Fields: fields("name", `"x"`)}}
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := db.Push(ctx, acct, op(id), syncserver.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.MarkRestored(ctx)
	if err != nil || n < 1 {
		t.Fatalf("MarkRestored = %d, %v", n, err)
	}
	const gap = 1 << 40
	if res, err := db.Push(ctx, acct, op("r3"), syncserver.Quota{}); err != nil || res.Head != 3+gap {
		t.Fatalf("push after the mark = %+v, %v; want seq %d", res, err, uint64(3+gap))
	}
	for cursor, want := range map[uint64]bool{2: false, 3: true, 2 + gap: true, 3 + gap: false} {
		if got, err := db.ForeignCursor(ctx, acct, cursor); err != nil || got != want {
			t.Errorf("ForeignCursor(%d) = %v, %v; want %v", cursor, got, err, want)
		}
	}
	chs, err := db.Changes(ctx, acct, 2, 10, 1<<20)
	if err != nil || len(chs) != 1 || chs[0].ID != "r3" {
		t.Fatalf("changes after 2 = %+v, %v; want r3 past the gap", chs, err)
	}
}
