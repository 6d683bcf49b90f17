package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// collector gathers notifications for assertions.
type collector struct {
	mu  sync.Mutex
	got []app.Changes
}

func (c *collector) add(ch app.Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ch)
}

func (c *collector) snapshot() []app.Changes {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]app.Changes(nil), c.got...)
}

// waitFor polls until c holds n notifications or the deadline passes.
func (c *collector) waitFor(t *testing.T, n int) []app.Changes {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.snapshot()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d notifications, want %d: %+v", len(got), n, got)
		}
		time.Sleep(time.Millisecond)
	}
}

func nameOp(id model.ID, name string) model.Op {
	b, _ := json.Marshal(name)
	return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": b}}
}

func TestSubscribersSeeEveryCommitInOrder(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	must(t, db.SetSyncEnabled(ctx, true))
	var c collector
	defer db.Subscribe(c.add)()
	a, b := model.NewID(), model.NewID()
	must(t, db.Apply(ctx, nameOp(a, "one"), nameOp(b, "two")))
	must(t, db.SetSetting(ctx, "theme", "dark")) // settings are not records: no notification
	must(t, db.ApplyServerChanges(ctx, []model.Change{{Seq: 1, Kind: model.KindFolder, ID: "f", Fields: model.Fields{"name": json.RawMessage(`"F"`)}}}, 1))
	must(t, db.Apply(ctx, nameOp(a, "three")))

	got := c.waitFor(t, 3)
	want := []app.Changes{
		{Keys: []app.RecordKey{{Kind: model.KindRequest, ID: a}, {Kind: model.KindRequest, ID: b}}},
		{Keys: []app.RecordKey{{Kind: model.KindFolder, ID: "f"}}, Remote: true},
		{Keys: []app.RecordKey{{Kind: model.KindRequest, ID: a}}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].Remote != want[i].Remote || len(got[i].Keys) != len(want[i].Keys) {
			t.Fatalf("notification %d = %+v; want %+v", i, got[i], want[i])
		}
		for j := range want[i].Keys {
			if got[i].Keys[j] != want[i].Keys[j] {
				t.Errorf("notification %d key %d = %v; want %v", i, j, got[i].Keys[j], want[i].Keys[j])
			}
		}
	}
}

func TestASlowSubscriberDoesNotBlockWriters(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	release := make(chan struct{})
	var c collector
	defer db.Subscribe(func(ch app.Changes) { <-release; c.add(ch) })()

	id := model.NewID()
	done := make(chan error, 1)
	go func() {
		for i := range 200 {
			if err := db.Apply(ctx, nameOp(id, string(rune('a'+i%26)))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("writers blocked behind a subscriber that does not return")
	}
	close(release)
	if got := c.waitFor(t, 200); len(got) != 200 {
		t.Errorf("the slow subscriber got %d notifications; want all 200", len(got))
	}
}

func TestSubscriberMayReadTheStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	var c collector
	defer db.Subscribe(func(ch app.Changes) {
		for _, k := range ch.Keys {
			if _, err := db.Get(ctx, k.Kind, k.ID); err != nil {
				t.Errorf("Get inside a notification: %v", err)
			}
		}
		c.add(ch)
	})()
	must(t, db.Apply(ctx, nameOp(model.NewID(), "x")))
	c.waitFor(t, 1)
}

func TestCancelAndCloseStopDelivery(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	var first, second collector
	cancel := db.Subscribe(first.add)
	defer db.Subscribe(second.add)()
	must(t, db.Apply(ctx, nameOp(model.NewID(), "before")))
	first.waitFor(t, 1)
	cancel()
	cancel() // twice is fine
	must(t, db.Apply(ctx, nameOp(model.NewID(), "after")))
	second.waitFor(t, 2)
	if n := len(first.snapshot()); n != 1 {
		t.Errorf("a cancelled subscriber got %d notifications; want 1", n)
	}

	must(t, db.Close())
	late := db.Subscribe(second.add)
	late()
	if n := len(second.snapshot()); n != 2 {
		t.Errorf("after Close, %d notifications; want 2", n)
	}
}
