package syncserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// encodeAll runs changesFrames and decodes and checks every frame.
func encodeAll(t *testing.T, changes []model.Change, caughtUp bool) ([]model.Change, []bool) {
	t.Helper()
	var got []model.Change
	var ends []bool
	err := changesFrames(changes, caughtUp, func(frame []byte, last model.Change, cu bool) error {
		if len(frame) > syncproto.MaxFrameSize {
			t.Fatalf("frame of %d bytes", len(frame))
		}
		f, err := syncproto.DecodeServerFrame(frame)
		if err != nil {
			t.Fatalf("encoded frame does not decode: %v\n%.300s", err, frame)
		}
		ch := f.(*syncproto.Changes)
		if ch.CaughtUp != cu || (len(ch.Changes) > 0 && ch.Changes[len(ch.Changes)-1].Seq != last.Seq) {
			t.Fatalf("frame ends at %+v caught up %v, callback says %d %v", ch.Changes, ch.CaughtUp, last.Seq, cu)
		}
		got = append(got, ch.Changes...)
		ends = append(ends, cu)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, ends
}

func TestChangesFramesSplitUnderTheFrameLimit(t *testing.T) {
	big := syncproto.SealedValue(bytes.Repeat([]byte{7}, 200<<10))
	var changes []model.Change
	for i := range 12 {
		changes = append(changes, model.Change{Seq: uint64(i + 1), Kind: model.KindRequest, ID: model.ID(fmt.Sprint("r", i)),
			Fields: model.Fields{"body": big, "url": big, "headers": big}, OpID: "op"})
	}
	got, ends := encodeAll(t, changes, true)
	if !reflect.DeepEqual(got, changes) {
		t.Fatal("changes differ after encoding")
	}
	if len(ends) != 12 || ends[10] || !ends[11] {
		t.Fatalf("frames end caught up %v, want 12 frames (one 600 KiB change each), the last caught up", ends)
	}
	if _, ends := encodeAll(t, nil, true); len(ends) != 1 || !ends[0] {
		t.Fatalf("no changes: %v, want one empty caught-up frame", ends)
	}
}

func FuzzChangesFrames(f *testing.F) {
	f.Add("r1", "o1", uint64(1), []byte{1, 2, 3})
	f.Add(`a"b\\c`, "ünï", uint64(1<<63), []byte{})
	f.Fuzz(func(t *testing.T, id, opID string, seq uint64, value []byte) {
		// Only what push validation lets into storage reaches the encoder;
		// ids come out of JSON decoding, so they are valid UTF-8.
		var c model.Change
		raw, _ := json.Marshal(map[string]any{"seq": seq, "kind": "folder", "id": id, "op_id": opID,
			"fields": map[string]json.RawMessage{"name": syncproto.SealedValue(append([]byte{1}, value...))}})
		if json.Unmarshal(raw, &c) != nil || syncproto.ValidateChange(c) != nil {
			return
		}
		got, _ := encodeAll(t, []model.Change{c}, false)
		if !reflect.DeepEqual(got, []model.Change{c}) {
			t.Fatalf("round trip: %+v != %+v", got, c)
		}
	})
}
