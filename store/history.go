package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// The history index (bucketHistory) holds one entry per visible history
// record, keyed by the entry's ID. IDs are ULIDs, so key order is time
// order and "newest first" is a reverse cursor. The value is
//
//	uvarint(len(search)) search summaryJSON
//
// where search is the lowercased "method\nurl\nname" that History matches
// against, and summaryJSON is the model.HistorySummary. History reads only
// this bucket, never the (large) entries.

// defaultHistoryLimit is the page size of a HistoryQuery without Limit.
const defaultHistoryLimit = 100

// historySummary computes the summary of a history record from its fields.
// Fields that do not decode are left out of the summary rather than
// failing: the record itself is kept as it is.
func historySummary(id model.ID, f model.Fields) model.HistorySummary {
	s := model.HistorySummary{ID: id}
	_ = json.Unmarshal(f["sent_at"], &s.SentAt)
	var req struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Name   string `json:"name"`
	}
	if json.Unmarshal(f["request"], &req) == nil {
		s.Method, s.URL, s.Name = req.Method, req.URL, req.Name
	}
	var resp struct {
		Status  int `json:"status"`
		Timings struct {
			Total time.Duration `json:"total"`
		} `json:"timings"`
	}
	if json.Unmarshal(f["response"], &resp) == nil {
		s.Status, s.Duration = resp.Status, resp.Timings.Total
	}
	_ = json.Unmarshal(f["error"], &s.Error)
	return s
}

func searchText(s model.HistorySummary) string {
	return strings.ToLower(s.Method + "\n" + s.URL + "\n" + s.Name)
}

func encodeIndexValue(s model.HistorySummary) []byte {
	js, _ := json.Marshal(s) // a struct of plain fields always encodes
	b := appendString(nil, searchText(s))
	return append(b, js...)
}

// splitIndexValue returns the search text and the summary JSON of an index
// value, both sharing memory with v.
func splitIndexValue(v []byte) (search, summary []byte, err error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) {
		return nil, nil, fmt.Errorf("history index value: %w", errDamaged)
	}
	return v[k : k+int(n)], v[k+int(n):], nil
}

// indexHistory writes the index entry of visible history record id.
func (w *writeTx) indexHistory(id model.ID, f model.Fields) error {
	if w.hist.Get([]byte(id)) == nil {
		w.histDelta++
	}
	return w.hist.Put([]byte(id), encodeIndexValue(historySummary(id, f)))
}

// unindexHistory removes the index entry of history record id, if any.
func (w *writeTx) unindexHistory(id model.ID) error {
	if w.hist.Get([]byte(id)) == nil {
		return nil
	}
	w.histDelta--
	return w.hist.Delete([]byte(id))
}

// rebuildHistoryIndex fills the (empty) index from the visible records and
// sets the count.
func (w *writeTx) rebuildHistoryIndex() error {
	prefix := kindPrefix(model.KindHistory)
	var n uint64
	c := w.vis.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		f, err := decodeFields(v)
		if err != nil {
			return fmt.Errorf("record %s: %w", k, err)
		}
		id := model.ID(k[len(prefix):])
		if err := w.hist.Put([]byte(id), encodeIndexValue(historySummary(id, f))); err != nil {
			return err
		}
		n++
	}
	w.histDelta = 0
	return w.meta.Put(metaHistoryCount, u64(n))
}

// History returns summaries of the visible history entries, newest first,
// matching q (see app.HistoryQuery). It reads only the history index.
func (db *DB) History(ctx context.Context, q app.HistoryQuery) ([]model.HistorySummary, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultHistoryLimit
	}
	needle := []byte(strings.ToLower(q.Search))
	var out []model.HistorySummary
	err := db.view(ctx, "read history", func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		var k, v []byte
		if q.Before == "" {
			k, v = c.Last()
		} else if k, _ = c.Seek([]byte(q.Before)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for i := 0; k != nil && len(out) < limit; k, v = c.Prev() {
			if i++; i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			search, sum, err := splitIndexValue(v)
			if err != nil {
				return fmt.Errorf("entry %s: %w", k, err)
			}
			if len(needle) > 0 && !bytes.Contains(search, needle) {
				continue
			}
			var s model.HistorySummary
			if err := json.Unmarshal(sum, &s); err != nil {
				return fmt.Errorf("entry %s: %w: %w", k, errDamaged, err)
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// HistoryCount returns how many history entries are visible.
func (db *DB) HistoryCount(ctx context.Context) (int, error) {
	var n int64
	err := db.view(ctx, "count history", func(tx *bbolt.Tx) error {
		var err error
		n, err = historyCount(tx.Bucket(bucketMeta))
		return err
	})
	return int(n), err
}

// PruneHistory deletes the oldest visible history entries beyond the
// newest limit, as ordinary delete ops through Apply (so, with sync, every
// device follows). It returns how many it deleted. A negative limit fails
// with model.ErrInvalid.
func (db *DB) PruneHistory(ctx context.Context, limit int) (int, error) {
	if limit < 0 {
		return 0, fmt.Errorf("prune history to %d entries: %w", limit, model.ErrInvalid)
	}
	var ops []model.Op
	err := db.view(ctx, "read history", func(tx *bbolt.Tx) error {
		n, err := historyCount(tx.Bucket(bucketMeta))
		if err != nil || n <= int64(limit) {
			return err
		}
		c := tx.Bucket(bucketHistory).Cursor()
		for k, _ := c.First(); k != nil && int64(len(ops)) < n-int64(limit); k, _ = c.Next() {
			ops = append(ops, model.DeleteOp(model.KindHistory, model.ID(k)))
		}
		return nil
	})
	if err != nil || len(ops) == 0 {
		return 0, err
	}
	if err := db.Apply(ctx, ops...); err != nil {
		return 0, fmt.Errorf("prune history to %d entries: %w", limit, err)
	}
	return len(ops), nil
}
