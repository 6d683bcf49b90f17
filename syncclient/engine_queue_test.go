package syncclient

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// TestFrameQueueKeepsOrderAcrossMemoryAndSpillAndEndsWithTheReadError
// puts frames past the memory bound, takes some, puts more, and ends:
// every frame comes out once, in order, then the read error; the spill
// file is gone after close.
func TestFrameQueueKeepsOrderAcrossMemoryAndSpillAndEndsWithTheReadError(t *testing.T) {
	for _, bound := range []int{1, 200, 1 << 20} {
		t.Run(fmt.Sprintf("bound %d", bound), func(t *testing.T) {
			q := newFrameQueue(bound)
			put := func(seq uint64) {
				t.Helper()
				f := &syncproto.Changes{Changes: []model.Change{{Seq: seq, Kind: model.KindRequest, ID: "r", Fields: model.Fields{}}}}
				raw, err := syncproto.EncodeFrame(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := q.put(inbound{frame: f}, len(raw), raw); err != nil {
					t.Fatal(err)
				}
			}
			want := uint64(1)
			takeAll := func() {
				t.Helper()
				for {
					in, ok := q.take()
					if !ok || in.err != nil {
						if in.err != nil {
							t.Fatalf("frame %d: %v", want, in.err)
						}
						return
					}
					got := in.frame.(*syncproto.Changes).Changes[0].Seq
					if got != want {
						t.Fatalf("took seq %d, want %d", got, want)
					}
					want++
				}
			}
			for s := uint64(1); s <= 10; s++ {
				put(s)
			}
			for range 3 {
				<-q.ready
				in, _ := q.take()
				if got := in.frame.(*syncproto.Changes).Changes[0].Seq; got != want {
					t.Fatalf("took seq %d, want %d", got, want)
				}
				want++
			}
			for s := uint64(11); s <= 20; s++ {
				put(s)
			}
			takeAll()
			put(21)
			end := errors.New("read failed")
			q.finish(end)
			in, ok := q.take()
			if got := in.frame.(*syncproto.Changes).Changes[0].Seq; !ok || got != 21 {
				t.Fatalf("took seq %d, %v; want 21 before the read error", got, ok)
			}
			want++
			if in, ok := q.take(); !ok || !errors.Is(in.err, end) || want != 22 {
				t.Fatalf("after %d frames took %+v, %v; want the read error after 21", want-1, in, ok)
			}
			spill := q.spill
			q.close()
			if spill != nil {
				if _, err := os.Stat(spill.Name()); !os.IsNotExist(err) {
					t.Errorf("spill file %s left after close: %v", spill.Name(), err)
				}
			} else if bound == 1 {
				t.Error("a bound of 1 byte spilled nothing")
			}
		})
	}
}
