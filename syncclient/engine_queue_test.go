package syncclient

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// TestFrameQueueKeepsOrderAcrossMemoryAndSpillAndEndsWithTheReadError
// puts frames past the memory bound, takes some, puts more, and ends:
// every frame comes out once, in order, then the read error; the spill
// file is gone after close.
//
// With prepare set, spilled frames come back to memory on their own
// goroutine and prepared; the order is the same.
func TestFrameQueueKeepsOrderAcrossMemoryAndSpillAndEndsWithTheReadError(t *testing.T) {
	for _, promote := range []bool{false, true} {
		for _, bound := range []int{1, 200, 1 << 20} {
			t.Run(fmt.Sprintf("bound %d promote %v", bound, promote), func(t *testing.T) {
				testFrameQueueOrder(t, bound, promote)
			})
		}
	}
}

func testFrameQueueOrder(t *testing.T, bound int, promote bool) {
	q := newFrameQueue(bound)
	var prepared atomic.Int64
	if promote {
		q.prepare = func(in inbound) inbound {
			prepared.Add(1)
			return in
		}
	}
	// take waits up to 10 s for the next frame.
	take := func() inbound {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if in, ok := q.take(); ok {
				return in
			}
			select {
			case <-q.ready:
			case <-deadline:
				t.Fatal("no frame within 10 s")
			}
		}
	}
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
	takeUntil := func(last uint64) {
		t.Helper()
		for want <= last {
			in := take()
			if in.err != nil {
				t.Fatalf("frame %d: %v", want, in.err)
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
	takeUntil(3)
	for s := uint64(11); s <= 20; s++ {
		put(s)
	}
	takeUntil(20)
	put(21)
	end := errors.New("read failed")
	q.finish(end)
	takeUntil(21)
	if in := take(); !errors.Is(in.err, end) {
		t.Fatalf("after 21 frames took %+v; want the read error", in)
	}
	if spilled := q.spill != nil; promote && spilled && prepared.Load() == 0 {
		t.Error("frames were spilled but none came back prepared")
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
}
