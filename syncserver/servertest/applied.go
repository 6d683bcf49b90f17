package servertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// HoldCompaction keeps the server from compacting the account's log for
// the rest of the test: a session of its own reports cursor 0 and stays
// signed in. Call it before the account's devices sync, for Applied to
// know every op they push (the server forgets the ids of compacted ops).
func (a *Account) HoldCompaction(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := DialSync(ctx, t, a.URL, a.CAFile, a.Login(t))
	defer ws.CloseNow()
	b, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "holder"})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	// The server records the cursor before it sends the first page: wait
	// for the welcome, then that.
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("holding compaction back: %v", err)
		}
		f, err := syncproto.DecodeServerFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		if ch, ok := f.(*syncproto.Changes); ok && ch.CaughtUp {
			break
		}
	}
	ws.Close(websocket.StatusNormalClosure, "")
}

// Applied returns which of ids the server applied to the account: on a
// sync connection of its own, it pushes a stand-in op under each id, and
// the server acknowledges the ops it applied before as duplicates,
// whether or not later ops superseded their values (a device catching up
// is not sent those). It also pushes an id nobody used, which the server
// must not know, or t fails. The server applies the stand-ins of the ids
// it did not know: deletions of a record that never existed, which change
// no device's visible state. The server forgets the ids of the ops its
// compaction drops: see HoldCompaction, and Server.Applied for a server
// in this process.
func (a *Account) Applied(t testing.TB, ids []model.ID) map[model.ID]bool {
	t.Helper()
	canary := model.NewID()
	ids = append(slices.Clip(ids), canary)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := DialSync(ctx, t, a.URL, a.CAFile, a.Login(t))
	defer ws.CloseNow()
	next := func() syncproto.Frame {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("asking the server which ops it applied: %v", err)
		}
		f, err := syncproto.DecodeServerFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	send := func(f syncproto.Frame) {
		b, _ := syncproto.EncodeFrame(f)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send(&syncproto.Hello{DeviceID: "oracle"})
	for {
		if ch, ok := next().(*syncproto.Changes); ok && ch.CaughtUp {
			break
		}
	}
	known := map[model.ID]bool{}
	// The stand-in deletes a record nobody made, sealed as the account's
	// devices seal: an id the server did not know leaves the visible
	// state as it was.
	standIn := model.NewID()
	deleted, err := vault.Seal(a.Key, string(model.KindRequest), string(standIn), model.FieldDeleted, []byte("true"))
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(ids); lo += 100 {
		batch := map[model.ID]bool{}
		var ops []model.Op
		for _, id := range ids[lo:min(lo+100, len(ids))] {
			batch[id] = true
			ops = append(ops, model.Op{OpID: id, Kind: model.KindRequest, ID: standIn, Fields: model.Fields{model.FieldDeleted: syncproto.SealedValue(deleted)}})
		}
		send(&syncproto.Push{Ops: ops})
		for len(batch) > 0 { // duplicates come back in an ack, the others as changes
			switch f := next().(type) {
			case *syncproto.Ack:
				for _, id := range f.OpIDs {
					known[id] = true
					delete(batch, id)
				}
			case *syncproto.Changes:
				for _, c := range f.Changes {
					delete(batch, c.OpID)
				}
			}
		}
	}
	if known[canary] {
		t.Fatal("the server says it applied an op nobody pushed")
	}
	return known
}
