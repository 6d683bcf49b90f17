package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// Lister lists a profile's visible records of one kind (store.DB does).
type Lister interface {
	List(ctx context.Context, kind model.Kind) ([]model.Record, error)
}

// State is the visible state of a profile: "kind/id" to the record's
// fields as compact JSON with sorted keys, so two profiles that synced
// to the same point compare equal (maps.Equal). A List error fails t.
func State(t testing.TB, db Lister) map[string]string {
	t.Helper()
	out := map[string]string{}
	kinds := []model.Kind{model.KindCollection, model.KindFolder, model.KindRequest, model.KindEnvironment, model.KindVariable, model.KindHeaderPreset, model.KindHistory}
	for _, k := range kinds {
		recs, err := db.List(context.Background(), k)
		if err != nil {
			t.Fatalf("list %s: %v", k, err)
		}
		for _, r := range recs {
			b, err := json.Marshal(r.Fields) // map keys sorted
			if err != nil {
				t.Fatalf("encode %s/%s: %v", k, r.ID, err)
			}
			out[string(k)+"/"+string(r.ID)] = string(b)
		}
	}
	return out
}

// StateDiff describes how got differs from want, a sorted line a record,
// at most 20 lines; "" when they are equal.
func StateDiff(got, want map[string]string) string {
	var lines []string
	for k, v := range want {
		if got[k] != v {
			lines = append(lines, fmt.Sprintf("  %s: got %s, want %s", k, got[k], v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("  %s: got %s, want nothing", k, v))
		}
	}
	sort.Strings(lines)
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("  ... and %d more", len(lines)-20))
	}
	return strings.Join(lines, "\n")
}
