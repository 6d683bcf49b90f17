package app

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/courierapp/courier/model"
)

type object interface {
	model.Collection | model.Folder | model.Request | model.Environment | model.Variable | model.HeaderPreset | model.HistoryEntry
}

// getObj reads and decodes one record.
func getObj[T object](ctx context.Context, s Store, kind model.Kind, id model.ID) (T, error) {
	var zero T
	rec, err := s.Get(ctx, kind, id)
	if err != nil {
		return zero, fmt.Errorf("get %s %s: %w", kind, id, err)
	}
	return model.Decode[T](rec)
}

// listObj reads and decodes every record of kind. A record that does not
// decode (written by a newer version, say) is skipped and logged rather than
// hiding all the others; Unreadable tells it.
func listObj[T object](ctx context.Context, a *App, kind model.Kind) ([]T, error) {
	recs, err := a.store.List(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		v, err := model.Decode[T](r)
		if err != nil {
			a.skipUnreadable(kind, r.ID, err)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// maxUnreadableKept bounds the records Unreadable names.
const maxUnreadableKept = 10

// unreadable is what the App left out because it did not decode.
type unreadable struct {
	mu    sync.Mutex
	seen  map[RecordKey]bool
	first []RecordKey // the first maxUnreadableKept, in the order met
}

// skipUnreadable logs a record left out because it does not decode, and
// keeps it for Unreadable.
func (a *App) skipUnreadable(kind model.Kind, id model.ID, err error) {
	a.log.Warn("skip undecodable record", "kind", kind, "id", id, "err", err)
	k := RecordKey{Kind: kind, ID: id}
	u := &a.unreadable
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen[k] {
		return
	}
	if u.seen == nil {
		u.seen = map[RecordKey]bool{}
	}
	u.seen[k] = true
	if len(u.first) < maxUnreadableKept {
		u.first = append(u.first, k)
	}
}

// Unreadable reports the records the App left out of what it read so
// far because they did not decode (written by a newer Courier, say): how
// many, and the first few of them. Lists, exports and sends go on
// without them; the person should hear of it.
func (a *App) Unreadable() (n int, first []RecordKey) {
	u := &a.unreadable
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen), slices.Clone(u.first)
}

// byOrder compares two items by order key, then name, then ID, so lists
// are stable even when two devices chose the same key.
func byOrder(ao, an string, aid model.ID, bo, bn string, bid model.ID) int {
	return cmp.Or(cmp.Compare(ao, bo), strings.Compare(an, bn), cmp.Compare(aid, bid))
}

// updateOp returns the op writing only the fields of v that differ from
// old, or ok=false when nothing changed. Writing only what changed keeps
// per-field last-writer-wins meaningful: saving a request does not undo
// another device's edit of a field this one did not touch.
func updateOp(old model.Record, v any) (op model.Op, ok bool, err error) {
	full, err := model.UpsertOp(old.Kind, old.ID, v)
	if err != nil {
		return model.Op{}, false, err
	}
	changed := model.Fields{}
	for f, val := range full.Fields {
		prev, had := old.Fields[f]
		if !had {
			prev = json.RawMessage("null")
		}
		if !jsonEqual(prev, val) {
			changed[f] = val
		}
	}
	if len(changed) == 0 {
		return model.Op{}, false, nil
	}
	full.Fields = changed
	return full, true, nil
}

func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	if bytes.Equal(ca.Bytes(), cb.Bytes()) {
		return true
	}
	// Key order may differ (a map field); compare decoded values.
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// setFieldOp returns an op writing one field of (kind, id).
func setFieldOp(kind model.Kind, id model.ID, field string, v any) (model.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return model.Op{}, fmt.Errorf("encode %s of %s %s: %w", field, kind, id, err)
	}
	return model.Op{OpID: model.NewID(), Kind: kind, ID: id, Fields: model.Fields{field: b}}, nil
}

// cleanName trims name and rejects an empty one with model.ErrInvalid.
func cleanName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%s name is empty: %w", what, model.ErrInvalid)
	}
	if len(name) > 1000 {
		return "", fmt.Errorf("%s name longer than 1000 bytes: %w", what, model.ErrTooLarge)
	}
	return name, nil
}

// keyAfter returns an order key after every key in keys (a new last item).
func keyAfter(keys []string) string {
	last := ""
	for _, k := range keys {
		if k > last {
			last = k
		}
	}
	k, err := model.KeyBetween(last, "")
	if err != nil {
		// The largest key is malformed (imported); "z" sorts after any
		// key made of base-62 digits but one starting with "z".
		k, _ = model.KeyBetween("", "")
		k = strings.Repeat("z", 1+len(last)) + k
	}
	return k
}

func sortFunc[T any](s []T, f func(a, b T) int) { slices.SortStableFunc(s, f) }
