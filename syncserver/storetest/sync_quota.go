package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

func testUsageCountsRecordsAndBytes(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != (syncserver.Usage{}) {
		t.Fatalf("fresh usage = %+v, %v", u, err)
	}
	res := mustPush(t, s, a.ID,
		op("o1", "r1", map[string]string{"name": `"aaaa"`, "url": `"bb"`}), // 6 + 4 bytes, new record
		op("o2", "r2", map[string]string{"name": `"c"`}),                   // 3 bytes, new record
		op("o3", "r1", map[string]string{"name": `"dd"`}))                  // replaces 6 bytes by 4
	want := syncserver.Usage{Records: 2, Bytes: 4 + 4 + 3, Log: 3}
	if res.Usage != want {
		t.Fatalf("push usage = %+v, want %+v", res.Usage, want)
	}
	if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != want {
		t.Fatalf("SyncUsage = %+v, %v, want %+v", u, err, want)
	}
	if _, err := s.SyncUsage(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("usage of unknown account: %v", err)
	}
}

// testUsageCountsLiveRecords checks that a deleted record (one with a
// _deleted field) leaves the records count, whatever else is written to
// it; so a deletion frees room under the records quota. Single-op and multi-op pushes take different
// paths in some backends: both are covered.
func testUsageCountsLiveRecords(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	name := func(v string) map[string]string { return map[string]string{"name": v} }
	del := map[string]string{model.FieldDeleted: "true"}
	steps := []struct {
		what    string
		ops     []model.Op
		records int64
	}{
		{"three records", []model.Op{op("o1", "r1", name(`"a"`)), op("o2", "r2", name(`"b"`)), op("o3", "r3", name(`"c"`))}, 3},
		{"one deleted", []model.Op{op("o4", "r2", del)}, 2},
		{"the deleted one edited", []model.Op{op("o5", "r2", name(`"bb"`))}, 2},
		{"the deleted one deleted again", []model.Op{op("o6", "r2", del)}, 2},
		{"a record nobody made deleted", []model.Op{op("o7", "r9", del)}, 2},
		{"made and deleted in one op", []model.Op{op("o8", "r8", map[string]string{"name": `"x"`, model.FieldDeleted: "true"})}, 2},
		{"made and deleted in one push", []model.Op{op("o9", "r4", name(`"d"`)), op("o10", "r4", del)}, 2},
		{"one deleted, one made, in one push", []model.Op{op("o11", "r1", del), op("o12", "r5", name(`"e"`))}, 2},
		{"a deleted one edited in a push of two", []model.Op{op("o13", "r1", name(`"aa"`)), op("o14", "r2", name(`"bbb"`))}, 2},
		{"a repeated deletion is a duplicate", []model.Op{op("o11", "r1", del)}, 2},
	}
	for _, st := range steps {
		res := mustPush(t, s, a.ID, st.ops...)
		if res.Usage.Records != st.records {
			t.Fatalf("%s: %d records, want %d", st.what, res.Usage.Records, st.records)
		}
		if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != res.Usage {
			t.Fatalf("%s: SyncUsage = %+v, %v, want %+v", st.what, u, err, res.Usage)
		}
	}
	// Two live records (r3, r5) under a quota of two: a third is refused
	// until one is deleted.
	q := syncserver.Quota{Records: 2}
	if _, err := s.Push(ctx, a.ID, []model.Op{op("o20", "r6", name(`"f"`))}, q); !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("a third live record past a quota of 2: err = %v, want ErrQuotaExceeded", err)
	}
	if _, err := s.Push(ctx, a.ID, []model.Op{op("o21", "r3", del)}, q); err != nil {
		t.Fatalf("a deletion at the quota: %v", err)
	}
	res, err := s.Push(ctx, a.ID, []model.Op{op("o22", "r6", name(`"f"`))}, q)
	if err != nil || res.Usage.Records != 2 {
		t.Fatalf("a new record once one was deleted: %+v, %v", res, err)
	}
}

func testQuotaRefusesGrowthOnly(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	q := syncserver.Quota{Records: 2, Bytes: 20}
	if _, err := s.Push(ctx, a.ID, []model.Op{op("o1", "r1", map[string]string{"name": `"0123456789"`}), op("o2", "r2", map[string]string{"name": `"x"`})}, q); err != nil {
		t.Fatal(err)
	}
	_, err := s.Push(ctx, a.ID, []model.Op{op("o3", "r3", map[string]string{"name": `"x"`})}, q)
	if !errors.Is(err, syncserver.ErrQuotaExceeded) || !errors.Is(err, model.ErrTooLarge) {
		t.Fatalf("a third record past a quota of 2: err = %v, want ErrQuotaExceeded", err)
	}
	_, err = s.Push(ctx, a.ID, []model.Op{op("o4", "r2", map[string]string{"url": `"0123456789"`})}, q)
	if !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("bytes past a quota of 20: err = %v, want ErrQuotaExceeded", err)
	}
	if h, _ := s.Head(ctx, a.ID); h != 2 {
		t.Fatalf("refused pushes moved the head to %d, want 2", h)
	}
	// Over a lowered quota, writes that do not grow the usage still pass.
	low := syncserver.Quota{Records: 1, Bytes: 5}
	res, err := s.Push(ctx, a.ID, []model.Op{op("o5", "r1", map[string]string{"name": `"short"`})}, low)
	if err != nil || res.Head != 3 {
		t.Fatalf("a shrinking write over quota: %+v, %v", res, err)
	}
}

func testConcurrentPushesGetDistinctSeqs(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	accts := []syncserver.Account{mustCreate(t, s, 1), mustCreate(t, s, 2)}
	const writers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := accts[w%2]
			for i := range each {
				ops := []model.Op{op(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("r%d", w), map[string]string{"name": fmt.Sprintf(`"%d"`, i)})}
				q := syncserver.Quota{}
				if w == 0 && i%2 == 1 {
					q.Records = 1 // refused; must not disturb the writes it shares a commit with
					ops = append(ops, op(fmt.Sprintf("w%d-%d-x", w, i), fmt.Sprintf("new%d", i), map[string]string{"name": `"x"`}))
				}
				if _, err := s.Push(ctx, a.ID, ops, q); err != nil && q.Records == 0 {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, a := range accts {
		want := uint64(writers / 2 * each)
		if i == 0 {
			want -= each / 2
		}
		ch := mustChanges(t, s, a.ID, 0, 10000, 1<<30)
		if h, _ := s.Head(ctx, a.ID); h != want || len(ch) != int(want) {
			t.Fatalf("account %d: head %d, %d changes, want %d", i, h, len(ch), want)
		}
		for j, c := range ch {
			if c.Seq != uint64(j+1) {
				t.Fatalf("account %d: change %d has seq %d", i, j, c.Seq)
			}
		}
	}
}

// testDeletedRecordsAreFinal checks that a deleted record keeps only its
// _deleted value: the op that deletes it drops its other values (so its
// earlier changes carry no field), and ops on it afterwards, in the same
// push or later, store nothing (their changes only acknowledge them). One
// op pushes and pushes of several take different paths in some backends:
// both are covered.
func testDeletedRecordsAreFinal(t *testing.T, s SyncBackend) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	big := `"` + strings.Repeat("x", 100) + `"`
	del := model.FieldDeleted
	// Rewritten tells the server whether the changes read back as pushed.
	rewritten := func(want bool, ops ...model.Op) syncserver.PushResult {
		t.Helper()
		res := mustPush(t, s, a.ID, ops...)
		if res.Rewritten != want {
			t.Fatalf("push of %s: Rewritten = %v, want %v", ops[0].OpID, res.Rewritten, want)
		}
		return res
	}
	rewritten(false, op("o1", "r1", map[string]string{"name": `"a"`, "body": big}), op("o2", "r2", map[string]string{"name": `"b"`}))
	rewritten(true, op("o3", "r1", map[string]string{del: "true", "name": "null"}))
	rewritten(true, op("o4", "r2", map[string]string{"name": `"c"`}), op("o5", "r2", map[string]string{del: "true"}),
		op("o6", "r2", map[string]string{"name": `"d"`, "body": big}))
	rewritten(true, op("o7", "r1", map[string]string{"name": `"e"`}))
	res := rewritten(true, op("o8", "r1", map[string]string{del: "true"}), op("o9", "r3", map[string]string{"name": `"f"`}))
	want := syncserver.Usage{Records: 1, Bytes: 4 + 4 + 3, Log: 9}
	if res.Usage != want {
		t.Fatalf("usage = %+v, want %+v (two _deleted values and r3's name; nine ops)", res.Usage, want)
	}
	if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != want {
		t.Fatalf("SyncUsage = %+v, %v, want %+v", u, err, want)
	}
	wantFields := []string{"", "", del, "", del, "", "", "", "name"}
	ch := mustChanges(t, s, a.ID, 0, 100, 1<<20)
	if len(ch) != len(wantFields) {
		t.Fatalf("%d changes, want %d", len(ch), len(wantFields))
	}
	for i, c := range ch {
		var names []string
		for f := range c.Fields {
			names = append(names, f)
		}
		if got := strings.Join(names, ","); c.Seq != uint64(i+1) || c.OpID != model.ID(fmt.Sprintf("o%d", i+1)) || got != wantFields[i] {
			t.Errorf("change %d: seq %d op %s fields %q; want seq %d op o%d fields %q", i, c.Seq, c.OpID, got, i+1, i+1, wantFields[i])
		}
	}
	if v := string(ch[2].Fields[del]); v != "true" {
		t.Errorf("r1's _deleted = %q, want true", v)
	}
	// A push that deletes r3 but makes two records is past a quota of
	// one live record: refused whole, r3 stays.
	_, err := s.Push(ctx, a.ID, []model.Op{op("o10", "r3", map[string]string{del: "true"}),
		op("o11", "r4", map[string]string{"name": `"g"`}), op("o12", "r5", map[string]string{"name": `"h"`})}, syncserver.Quota{Records: 1})
	if !errors.Is(err, syncserver.ErrQuotaExceeded) {
		t.Fatalf("a deletion and two new records past a quota of 1: err = %v, want ErrQuotaExceeded", err)
	}
	if h, _ := s.Head(ctx, a.ID); h != 9 {
		t.Fatalf("the refused push moved the head to %d, want 9", h)
	}
	if u, err := s.SyncUsage(ctx, a.ID); err != nil || u != want {
		t.Fatalf("SyncUsage after a refused push = %+v, %v, want %+v", u, err, want)
	}
	if ch := mustChanges(t, s, a.ID, 8, 100, 1<<20); len(ch) != 1 || string(ch[0].Fields["name"]) != `"f"` {
		t.Fatalf("r3 after a refused push: %v, want its name", ch)
	}
}
