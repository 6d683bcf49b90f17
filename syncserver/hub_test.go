package syncserver

import (
	"bytes"
	"testing"

	"github.com/courierapp/courier/model"
)

// hubWith returns a hub with n connections of account "a".
func hubWith(t *testing.T, n int) *hub {
	t.Helper()
	h := newHub(10)
	for range n {
		if err := h.join(&syncConn{sess: Session{AccountID: "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func pageOf(seqs ...uint64) []model.Change {
	var out []model.Change
	for _, s := range seqs {
		out = append(out, model.Change{Seq: s, Kind: model.KindRequest, ID: "r", Fields: model.Fields{"name": []byte(`"x"`)}})
	}
	return out
}

func TestHubSharedPageServesEachOtherConnectionOnce(t *testing.T) {
	h := hubWith(t, 3)
	h.sharePage("a", 4, pageOf(5, 6))
	for i := range 2 {
		if got := h.takePage("a", 4); len(got) != 2 || got[1].Seq != 6 {
			t.Fatalf("take %d = %+v, want the shared page", i, got)
		}
	}
	if got := h.takePage("a", 4); got != nil {
		t.Fatalf("third take = %+v, want nil: both other connections took it", got)
	}
}

func TestHubSharedPageRules(t *testing.T) {
	big := pageOf(5)
	big[0].Fields["url"] = bytes.Repeat([]byte("x"), maxSharedPage+1)
	tests := []struct {
		name   string
		conns  int
		page   []model.Change
		takeAt []uint64 // cursors of earlier takes
		want   bool     // whether a take at 4 then gets the page
	}{
		{"a lone connection shares nothing", 1, pageOf(5), nil, false},
		{"a page over the size bound is not shared", 2, big, nil, false},
		{"a take at another cursor before it does not count", 2, pageOf(5), []uint64{2}, true},
		{"a connection past the page counts as having taken it", 2, pageOf(5), []uint64{9}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hubWith(t, tt.conns)
			h.sharePage("a", 4, tt.page)
			for _, at := range tt.takeAt {
				if got := h.takePage("a", at); got != nil {
					t.Fatalf("take at %d = %+v, want nil", at, got)
				}
			}
			if got := h.takePage("a", 4) != nil; got != tt.want {
				t.Fatalf("take at 4 got a page = %v, want %v", got, tt.want)
			}
		})
	}
}
