package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

func mustCompact(t *testing.T, s SyncBackend, acct, sess string, cursor uint64, since time.Time) syncserver.CompactResult {
	t.Helper()
	res, err := s.Compact(context.Background(), acct, sess, cursor, since)
	if err != nil {
		t.Fatalf("Compact(%s, %d): %v", sess, cursor, err)
	}
	return res
}

// seqsOf returns the seqs of changes, and their op ids.
func seqsOf(ch []model.Change) ([]uint64, []model.ID) {
	var seqs []uint64
	var ids []model.ID
	for _, c := range ch {
		seqs, ids = append(seqs, c.Seq), append(ids, c.OpID)
	}
	return seqs, ids
}

// testCompactDropsDeadEntries pushes ops of every kind that leaves its
// entry without a value (overwritten, dropped by a deletion, an op on a
// deleted record, an op without fields), then compacts: those entries go
// with their op ids, the others stay whole, and the usage follows.
func testCompactDropsDeadEntries(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1 := mustSession(t, s, a, 1)
	// s1's first record is the head (0): it pushed nothing before.
	if c := mustCompact(t, s, a.ID, s1.ID, 0, t0); c != (syncserver.CompactResult{}) {
		t.Fatalf("compact of an account without data = %+v", c)
	}
	name := func(v string) map[string]string { return map[string]string{"name": v} }
	mustPush(t, s, a.ID,
		op("o1", "r1", name(`"a"`)),                                   // 1: overwritten by 2
		op("o2", "r1", name(`"b"`)),                                   // 2: live
		op("o3", "r2", name(`"c"`)),                                   // 3: dropped by 4's deletion
		op("o4", "r2", map[string]string{model.FieldDeleted: "true"}), // 4: live (the _deleted value)
		op("o5", "r3", nil),                                           // 5: wrote nothing
		op("o6", "r2", name(`"x"`)),                                   // 6: on a deleted record
	)
	res := mustPush(t, s, a.ID, op("o7", "r1", map[string]string{"url": `"u"`})) // 7: live
	if res.Usage.Log != 7 {
		t.Fatalf("usage after 7 ops = %+v, want 7 log entries", res.Usage)
	}

	// s1 has applied nothing yet: nothing can go.
	if c := mustCompact(t, s, a.ID, s1.ID, 0, t0); c.LowWater != 0 || c.Dropped != 0 || c.Usage.Log != 7 {
		t.Fatalf("compact with s1 at 0 = %+v, want nothing dropped", c)
	}
	c := mustCompact(t, s, a.ID, s1.ID, 7, t0)
	if c.LowWater != 7 || c.Dropped != 4 || c.Usage != (syncserver.Usage{Records: 1, Bytes: int64(len(`"b"`) + len(`"u"`) + len("true")), Log: 3}) {
		t.Fatalf("compact up to 7 = %+v, want 4 dropped and 3 entries left", c)
	}
	if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != c.Usage {
		t.Fatalf("SyncUsage = %+v, %v, want %+v", u, err, c.Usage)
	}
	seqs, ids := seqsOf(mustChanges(t, s, a.ID, 0, 100, 1<<20))
	if !slices.Equal(seqs, []uint64{2, 4, 7}) || !slices.Equal(ids, []model.ID{"o2", "o4", "o7"}) {
		t.Fatalf("changes after compaction: seqs %v, op ids %v; want 2 4 7 of o2 o4 o7", seqs, ids)
	}
	// Paging still ends on the entries that are left.
	if seqs, _ := seqsOf(mustChanges(t, s, a.ID, 2, 1, 1<<20)); !slices.Equal(seqs, []uint64{4}) {
		t.Fatalf("one change after 2 = %v, want 4", seqs)
	}
	// An op of a live entry is still a duplicate; a dropped one's id is
	// free again, so the op counts as new.
	res = mustPush(t, s, a.ID, op("o2", "r1", name(`"again"`)), op("o1", "r1", name(`"again"`)))
	if !slices.Equal(res.Dup, []model.ID{"o2"}) || res.Head != 8 {
		t.Fatalf("pushing o2 and o1 again = %+v, want o2 a duplicate and o1 at seq 8", res)
	}
	// Compacting again finds the entry o1 just overwrote (2).
	if c := mustCompact(t, s, a.ID, s1.ID, 8, t0); c.Dropped != 1 || c.Usage.Log != 3 {
		t.Fatalf("second compaction = %+v, want entry 2 dropped", c)
	}
	if seqs, _ := seqsOf(mustChanges(t, s, a.ID, 0, 100, 1<<20)); !slices.Equal(seqs, []uint64{4, 7, 8}) {
		t.Fatalf("changes after the second compaction = %v, want 4 7 8", seqs)
	}
	if h, err := s.Head(ctx, a.ID); err != nil || h != 8 {
		t.Fatalf("head after compaction = %d, %v; want 8", h, err)
	}
}

// testCompactWaitsForEverySession checks the low water: the lowest cursor
// of the sessions seen since activeSince, whatever order they report in;
// a session not seen since, or gone, holds nothing back.
func testCompactWaitsForEverySession(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1, s2, s3 := mustSession(t, s, a, 1), mustSession(t, s, a, 2), mustSession(t, s, a, 3)
	mustCompact(t, s, a.ID, s1.ID, 0, t0)
	mustCompact(t, s, a.ID, s2.ID, 0, t0)
	for _, id := range []string{"o1", "o2", "o3", "o4"} {
		mustPush(t, s, a.ID, op(id, "r1", map[string]string{"name": `"` + id + `"`}))
	}
	// Entries 1 to 3 are dead; s1 has applied nothing, s2 up to 1.
	if c := mustCompact(t, s, a.ID, s2.ID, 1, t0); c.LowWater != 0 || c.Dropped != 0 {
		t.Fatalf("compact with s1 at 0 = %+v, want nothing dropped", c)
	}
	if c := mustCompact(t, s, a.ID, s1.ID, 4, t0); c.LowWater != 1 || c.Dropped != 1 {
		t.Fatalf("compact with s1 at 4, s2 at 1 = %+v, want low water 1 and entry 1 dropped", c)
	}
	if seqs, _ := seqsOf(mustChanges(t, s, a.ID, 0, 100, 1<<20)); !slices.Equal(seqs, []uint64{2, 3, 4}) {
		t.Fatalf("changes with s2 at 1 = %v, want 2 3 4", seqs)
	}
	// s3 reports 3 for the first time: its record is the head (4). s1
	// and s2 were last seen (t0+1m, t0+2m) before activeSince.
	since := t0.Add(150 * time.Second)
	if c := mustCompact(t, s, a.ID, s3.ID, 3, since); c.LowWater != 4 || c.Dropped != 2 {
		t.Fatalf("compact without s1, s2 = %+v, want low water 4 and entries 2, 3 dropped", c)
	}
	// A cursor may go back (a device that starts over): it holds back
	// what comes after it.
	mustPush(t, s, a.ID, op("o5", "r1", map[string]string{"name": `"o5"`}))
	mustCompact(t, s, a.ID, s3.ID, 0, since)
	if c := mustCompact(t, s, a.ID, s1.ID, 5, since); c.LowWater != 0 || c.Dropped != 0 {
		t.Fatalf("compact with s3 back at 0 = %+v, want nothing dropped", c)
	}
	// Once s3's session is gone, no session counts: the low water is the
	// head.
	if err := s.DeleteSession(ctx, a.ID, s3.ID); err != nil {
		t.Fatal(err)
	}
	if c := mustCompact(t, s, a.ID, "", 0, since); c.LowWater != 5 || c.Dropped != 1 || c.Usage.Log != 1 {
		t.Fatalf("compact once s3 is gone = %+v, want entry 4 dropped, 1 left", c)
	}
	// A new session holds back only what comes after its first record.
	s4 := mustSession(t, s, a, 4)
	mustPush(t, s, a.ID, op("o6", "r1", map[string]string{"name": `"o6"`}))
	if c := mustCompact(t, s, a.ID, s4.ID, 0, since); c.LowWater != 6 || c.Dropped != 1 || c.Usage.Log != 1 {
		t.Fatalf("a new session's first compaction = %+v, want low water 6 and entry 5 dropped", c)
	}
}

// testCompactRefusesBadInput checks the errors: a cursor past the head, an
// unknown account.
func testCompactRefusesBadInput(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1 := mustSession(t, s, a, 1)
	mustPush(t, s, a.ID, op("o1", "r1", map[string]string{"name": `"a"`}))
	if _, err := s.Compact(ctx, a.ID, s1.ID, 2, t0); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("a cursor past the head: %v, want ErrInvalid", err)
	}
	if _, err := s.Compact(ctx, "nope", "", 0, t0); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("an unknown account: %v, want ErrNotFound", err)
	}
	// An account that never synced compacts to nothing.
	b := mustCreate(t, s, 2)
	if c, err := s.Compact(ctx, b.ID, "", 0, t0); err != nil || c != (syncserver.CompactResult{}) {
		t.Fatalf("an account without sync data: %+v, %v", c, err)
	}
}

// testLogQuota checks the log bound: past it, a push is refused unless it
// deletes as many live records as it adds entries, and compaction makes
// room again.
func testLogQuota(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1 := mustSession(t, s, a, 1)
	q := syncserver.Quota{Log: 3}
	name := func(v string) map[string]string { return map[string]string{"name": v} }
	for _, o := range []model.Op{op("o1", "r1", name(`"a"`)), op("o2", "r2", name(`"b"`)), op("o3", "r1", name(`"c"`))} {
		if _, err := s.Push(ctx, a.ID, []model.Op{o}, q); err != nil {
			t.Fatalf("push %s under the log bound: %v", o.OpID, err)
		}
	}
	_, err := s.Push(ctx, a.ID, []model.Op{op("o4", "r1", name(`"d"`))}, q)
	var qe *syncserver.QuotaError
	if !errors.As(err, &qe) || !qe.Log || qe.Would != 4 || qe.Limit != 3 || !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("a fourth entry past a log bound of 3: %v, want a log QuotaError", err)
	}
	// Two entries for one deleted record: refused; one for one: passes.
	_, err = s.Push(ctx, a.ID, []model.Op{op("o5", "r2", map[string]string{model.FieldDeleted: "true"}), op("o6", "r1", name(`"e"`))}, q)
	if !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("a deletion and an edit past the log bound: %v, want ErrQuotaExceeded", err)
	}
	res, err := s.Push(ctx, a.ID, []model.Op{op("o5", "r2", map[string]string{model.FieldDeleted: "true"})}, q)
	if err != nil || res.Usage.Log != 4 || res.Usage.Records != 1 {
		t.Fatalf("a deletion past the log bound: %+v, %v; want it to pass", res, err)
	}
	// Compaction drops entries 1 (overwritten) and 2 (deleted).
	if c := mustCompact(t, s, a.ID, s1.ID, 4, t0); c.Usage.Log != 2 {
		t.Fatalf("compaction = %+v, want 2 entries left", c)
	}
	if res, err := s.Push(ctx, a.ID, []model.Op{op("o4", "r1", name(`"d"`))}, q); err != nil || res.Usage.Log != 3 {
		t.Fatalf("o4 once compaction made room: %+v, %v", res, err)
	}
}
