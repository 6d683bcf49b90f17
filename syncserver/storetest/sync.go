package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

// SyncBackend is a backend that also keeps sync data.
type SyncBackend interface {
	syncserver.Storage
	syncserver.SyncStorage
}

// RunSync runs the conformance tests of syncserver.SyncStorage.
func RunSync(t *testing.T, newStore func(t *testing.T) SyncBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s SyncBackend)
	}{
		{"PushAssignsConsecutiveSeqs", testPushSeqs},
		{"PushSkipsAppliedOpIDs", testPushDedupe},
		{"PushedOpsReadBackInOrderUpToTheHead", testPushedOpsReadBack},
		{"ChangesCarryOnlySurvivingFields", testChangesLWW},
		{"ChangesPageOnSeqBoundaries", testChangesPaging},
		{"EraseKeepsTheHeadCounting", testEraseKeepsHead},
		{"UnknownAccountIsNotFound", testSyncUnknownAccount},
		{"UsageCountsRecordsAndBytes", testUsageCountsRecordsAndBytes},
		{"UsageCountsLiveRecordsOnly", testUsageCountsLiveRecords},
		{"DeletedRecordsAreFinal", testDeletedRecordsAreFinal},
		{"QuotaRefusesGrowthOnly", testQuotaRefusesGrowthOnly},
		{"ConcurrentPushesGetDistinctSeqs", testConcurrentPushesGetDistinctSeqs},
		{"CompactDropsDeadEntries", testCompactDropsDeadEntries},
		{"CompactWaitsForEverySession", testCompactWaitsForEverySession},
		{"CompactRefusesBadInput", testCompactRefusesBadInput},
		{"LogQuota", testLogQuota},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tt.fn(t, s)
		})
	}
}

func op(opID, id string, fields map[string]string) model.Op {
	f := model.Fields{}
	for k, v := range fields {
		f[k] = json.RawMessage(v)
	}
	return model.Op{OpID: model.ID(opID), Kind: model.KindRequest, ID: model.ID(id), Fields: f}
}

func mustPush(t *testing.T, s SyncBackend, acct string, ops ...model.Op) syncserver.PushResult {
	t.Helper()
	res, err := s.Push(context.Background(), acct, ops, syncserver.Quota{})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	return res
}

func mustChanges(t *testing.T, s SyncBackend, acct string, after uint64, limit, maxBytes int) []model.Change {
	t.Helper()
	ch, err := s.Changes(context.Background(), acct, after, limit, maxBytes)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return ch
}

func testPushSeqs(t *testing.T, s SyncBackend) {
	a := mustCreate(t, s, 1)
	if h, err := s.Head(context.Background(), a.ID); err != nil || h != 0 {
		t.Fatalf("fresh head = %d, %v", h, err)
	}
	res := mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`}), op("o2", "r2", map[string]string{"name": `"b"`}))
	if res.Head != 2 || len(res.Dup) != 0 {
		t.Fatalf("push = %+v", res)
	}
	ch := mustChanges(t, s, a.ID, 0, 100, 1<<20)
	if len(ch) != 2 || ch[0].Seq != 1 || ch[0].OpID != "o1" || ch[1].Seq != 2 || string(ch[1].Fields["name"]) != `"b"` {
		t.Fatalf("changes = %+v", ch)
	}
	other := mustCreate(t, s, 2)
	if res := mustPush(t, s, other.ID, op("o1", "r1", nil)); res.Head != 1 {
		t.Fatalf("another account's head = %d, want 1 (seqs are per account)", res.Head)
	}
}

func testPushDedupe(t *testing.T, s SyncBackend) {
	a := mustCreate(t, s, 1)
	mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`}))
	res := mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"again"`}), op("o2", "r1", map[string]string{"url": `"u"`}))
	if res.Head != 2 || !slices.Equal(res.Dup, []model.ID{"o1"}) {
		t.Fatalf("push = %+v", res)
	}
	ch := mustChanges(t, s, a.ID, 0, 100, 1<<20)
	if string(ch[0].Fields["name"]) != `"a"` {
		t.Fatalf("a duplicate op changed a value: %+v", ch)
	}
}

// testPushedOpsReadBack checks what the server relies on to hand a push's
// changes to the account's connections without reading them back: the
// ops not applied before take the seqs up to Head in push order, and read
// back as they were pushed.
func testPushedOpsReadBack(t *testing.T, s SyncBackend) {
	a := mustCreate(t, s, 1)
	mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`}))
	ops := []model.Op{
		op("o2", "r2", map[string]string{"name": `"b"`, "url": `"u2"`}),
		op("o1", "r1", map[string]string{"name": `"again"`}),
		op("o3", "r3", map[string]string{"name": `"c"`}),
	}
	res := mustPush(t, s, a.ID, ops...)
	if res.Head != 3 || !slices.Equal(res.Dup, []model.ID{"o1"}) {
		t.Fatalf("push = %+v", res)
	}
	got := mustChanges(t, s, a.ID, res.Head-2, 100, 1<<20)
	want := []model.Change{
		{Seq: 2, Kind: ops[0].Kind, ID: ops[0].ID, Fields: ops[0].Fields, OpID: ops[0].OpID},
		{Seq: 3, Kind: ops[2].Kind, ID: ops[2].ID, Fields: ops[2].Fields, OpID: ops[2].OpID},
	}
	if len(got) != len(want) {
		t.Fatalf("changes after %d = %+v, want %+v", res.Head-2, got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Kind != w.Kind || g.ID != w.ID || g.OpID != w.OpID || !sameFields(g.Fields, w.Fields) {
			t.Fatalf("change %d = %+v, want %+v", i, g, w)
		}
	}
}

func sameFields(a, b model.Fields) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(v) != string(w) {
			return false
		}
	}
	return true
}

func testChangesLWW(t *testing.T, s SyncBackend) {
	a := mustCreate(t, s, 1)
	mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`, "url": `"u1"`}))
	mustPush(t, s, a.ID, op("o2", "r1", map[string]string{"name": `"b"`}))
	mustPush(t, s, a.ID, op("o3", "r1", map[string]string{"url": `"u3"`}))
	ch := mustChanges(t, s, a.ID, 0, 100, 1<<20)
	if len(ch) != 3 {
		t.Fatalf("want one change per seq, got %+v", ch)
	}
	if len(ch[0].Fields) != 0 || ch[0].OpID != "o1" {
		t.Fatalf("seq 1 should be a bare ack (both fields overwritten): %+v", ch[0])
	}
	if string(ch[1].Fields["name"]) != `"b"` || string(ch[2].Fields["url"]) != `"u3"` {
		t.Fatalf("latest values wrong: %+v", ch)
	}
	if later := mustChanges(t, s, a.ID, 2, 100, 1<<20); len(later) != 1 || later[0].Seq != 3 {
		t.Fatalf("changes after 2 = %+v", later)
	}
}

func testChangesPaging(t *testing.T, s SyncBackend) {
	a := mustCreate(t, s, 1)
	for i := range 5 {
		mustPush(t, s, a.ID, op(string(rune('a'+i)), string(rune('a'+i)), map[string]string{"body": `"0123456789"`}))
	}
	if ch := mustChanges(t, s, a.ID, 0, 2, 1<<20); len(ch) != 2 || ch[1].Seq != 2 {
		t.Fatalf("limit 2 = %+v", ch)
	}
	if ch := mustChanges(t, s, a.ID, 0, 100, 25); len(ch) != 3 {
		t.Fatalf("maxBytes 25 over 12-byte values gave %d changes, want 3 (stop once past the budget)", len(ch))
	}
	if ch := mustChanges(t, s, a.ID, 0, 100, 1); len(ch) != 1 {
		t.Fatalf("a tiny budget must still return one change, got %d", len(ch))
	}
	if ch := mustChanges(t, s, a.ID, 5, 100, 1<<20); len(ch) != 0 || ch == nil {
		t.Fatalf("caught up = %#v, want empty", ch)
	}
}

func testEraseKeepsHead(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`}), op("o2", "r2", map[string]string{"name": `"b"`}))
	h := putCode(t, s, a, syncserver.PurposeResetPassword, "reset", time.Hour)
	if err := s.ResetSecrets(ctx, a.ID, h, t0, account(3).Secrets, true); err != nil {
		t.Fatal(err)
	}
	if ch := mustChanges(t, s, a.ID, 0, 100, 1<<20); len(ch) != 0 {
		t.Fatalf("erase left %+v", ch)
	}
	if head, _ := s.Head(ctx, a.ID); head != 2 {
		t.Fatalf("head after erase = %d, want 2", head)
	}
	if res := mustPush(t, s, a.ID, op("o1", "r1", nil)); res.Head != 3 || len(res.Dup) != 0 {
		t.Fatalf("push after erase = %+v (op ids are forgotten, seqs continue)", res)
	}
	// Devices that synced before the erase start over and push what they
	// hold again; those that synced since go on.
	cc, ok := s.(syncserver.CursorChecker)
	if !ok {
		return
	}
	for cursor, want := range map[uint64]bool{0: false, 1: true, 2: true, 3: false} {
		if foreign, err := cc.ForeignCursor(ctx, a.ID, cursor); err != nil || foreign != want {
			t.Errorf("after the erase, ForeignCursor(%d) = %v, %v; want %v", cursor, foreign, err, want)
		}
	}
	// A second erase covers the seqs since.
	h = putCode(t, s, a, syncserver.PurposeResetPassword, "reset again", time.Hour)
	if err := s.ResetSecrets(ctx, a.ID, h, t0, account(3).Secrets, true); err != nil {
		t.Fatal(err)
	}
	if foreign, err := cc.ForeignCursor(ctx, a.ID, 3); err != nil || !foreign {
		t.Errorf("after a second erase, ForeignCursor(3) = %v, %v; want true", foreign, err)
	}
}

func testSyncUnknownAccount(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	_, err := s.Push(ctx, "nope", []model.Op{op("o1", "r1", nil)}, syncserver.Quota{})
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Push: %v", err)
	}
	if _, err := s.Head(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Head: %v", err)
	}
	a := mustCreate(t, s, 1)
	mustPush(t, s, a.ID, op("o1", "r1", nil))
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Changes(ctx, a.ID, 0, 10, 100); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Changes after delete: %v", err)
	}
}
