package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// The history index is two buckets keyed by the entry's ID, with one key
// per visible history record. IDs are ULIDs, so key order is time order and
// "newest first" is a reverse cursor. bucketHistory holds the
// model.HistorySummary JSON; bucketHistorySearch holds the lowercased
// "method\nurl\nname" that a search matches, alone, so that a search that
// finds little scans about 100 bytes per entry. History never reads the
// (large) entries themselves.

// defaultHistoryLimit is the page size of a HistoryQuery without Limit.
const defaultHistoryLimit = 100

func searchText(s model.HistorySummary) string {
	return strings.ToLower(s.Method + "\n" + s.URL + "\n" + s.Name)
}

// historyIndex is the index entry of one visible history record: its
// summary JSON and its search text.
type historyIndex struct {
	summary, search []byte
}

// newHistoryIndex computes the index entry of history record id. It
// fails only when the summary does not encode (a time past year 9999).
func newHistoryIndex(id model.ID, f model.Fields) (historyIndex, error) {
	s := historySummary(id, f)
	js, err := appendSummaryJSON(make([]byte, 0, 256), s)
	if err != nil {
		return historyIndex{}, fmt.Errorf("history entry %s: %w", id, err)
	}
	return historyIndex{summary: js, search: []byte(searchText(s))}, nil
}

// indexHistory writes the index entry of visible history record id,
// computing it when e is nil.
func (w *writeTx) indexHistory(id model.ID, f model.Fields, e *historyIndex) error {
	if e == nil {
		computed, err := newHistoryIndex(id, f)
		if err != nil {
			return err
		}
		e = &computed
	}
	if w.get(w.hist, []byte(id)) == nil {
		w.histDelta++
	}
	return w.putHistoryIndex(id, *e)
}

func (w *writeTx) putHistoryIndex(id model.ID, e historyIndex) error {
	if err := w.hist.Put([]byte(id), e.summary); err != nil {
		return err
	}
	return w.histSearch.Put([]byte(id), e.search)
}

// unindexHistory removes the index entry of history record id, if any.
func (w *writeTx) unindexHistory(id model.ID) error {
	if w.hist.Get([]byte(id)) == nil {
		return nil
	}
	w.histDelta--
	if err := w.hist.Delete([]byte(id)); err != nil {
		return err
	}
	return w.histSearch.Delete([]byte(id))
}

// rebuildHistoryIndex fills the (empty) index from the visible records and
// sets the count.
func (w *writeTx) rebuildHistoryIndex() error {
	prefix := kindPrefix(model.KindHistory)
	var n uint64
	c := w.vis.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		f, err := visibleFields(w.sec, w.conf, k, v)
		if err != nil {
			return err
		}
		id := model.ID(k[len(prefix):])
		e, err := newHistoryIndex(id, f)
		if err != nil {
			return err
		}
		if err := w.putHistoryIndex(id, e); err != nil {
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
		sums := tx.Bucket(bucketHistory)
		scan := sums
		if len(needle) > 0 {
			scan = tx.Bucket(bucketHistorySearch)
		}
		c := scan.Cursor()
		k, v := newestBefore(c, q.Before)
		for i := 0; k != nil && len(out) < limit; k, v = c.Prev() {
			if i++; i%8192 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(needle) > 0 {
				if !bytes.Contains(v, needle) {
					continue
				}
				v = sums.Get(k)
			}
			var s model.HistorySummary
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("history index entry %s: %w: %w", k, errDamaged, err)
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// newestBefore positions c on the newest key older than before (the
// newest of all when before is empty).
func newestBefore(c *bbolt.Cursor, before model.ID) ([]byte, []byte) {
	if before == "" {
		return c.Last()
	}
	if k, _ := c.Seek([]byte(before)); k == nil {
		return c.Last()
	}
	return c.Prev()
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
