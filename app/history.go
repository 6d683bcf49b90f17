package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
)

// History returns summaries of history entries, newest first, matching q.
func (a *App) History(ctx context.Context, q HistoryQuery) ([]model.HistorySummary, error) {
	hs, err := a.store.History(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return hs, nil
}

// HistoryEntry returns the whole entry id; errors wrap model.ErrNotFound.
func (a *App) HistoryEntry(ctx context.Context, id model.ID) (model.HistoryEntry, error) {
	return getObj[model.HistoryEntry](ctx, a.store, model.KindHistory, id)
}

// DayGroup is the history of one calendar day.
type DayGroup struct {
	// Label is "Today", "Yesterday", or the date ("Mon 2 Jan 2006").
	Label string
	// Day is midnight of that day in the location grouped in.
	Day     time.Time
	Entries []model.HistorySummary
}

// GroupByDay groups summaries (newest first) by their calendar day in loc
// (nil means time.Local), with today as given by the App's clock.
func (a *App) GroupByDay(hs []model.HistorySummary, loc *time.Location) []DayGroup {
	return GroupByDayAt(hs, a.now(), loc)
}

// GroupByDayAt is GroupByDay with "today" being the day of now.
func GroupByDayAt(hs []model.HistorySummary, now time.Time, loc *time.Location) []DayGroup {
	if loc == nil {
		loc = time.Local
	}
	today := midnight(now.In(loc))
	var out []DayGroup
	for _, h := range hs {
		day := midnight(h.SentAt.In(loc))
		if n := len(out); n == 0 || !out[n-1].Day.Equal(day) {
			out = append(out, DayGroup{Label: dayLabel(day, today), Day: day})
		}
		g := &out[len(out)-1]
		g.Entries = append(g.Entries, h)
	}
	return out
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func dayLabel(day, today time.Time) string {
	switch {
	case day.Equal(today):
		return "Today"
	case day.Equal(midnight(today.AddDate(0, 0, -1).Add(12 * time.Hour))):
		return "Yesterday"
	}
	return day.Format("Mon 2 Jan 2006")
}

// DeleteHistory deletes entry id and its body file, if it kept one under
// ResponsesDir. Errors wrap model.ErrNotFound.
func (a *App) DeleteHistory(ctx context.Context, id model.ID) error {
	e, err := a.HistoryEntry(ctx, id)
	if err != nil {
		return fmt.Errorf("delete history %s: %w", id, err)
	}
	if err := a.store.Apply(ctx, model.DeleteOp(model.KindHistory, id)); err != nil {
		return fmt.Errorf("delete history %s: %w", id, err)
	}
	if e.Response != nil {
		a.removeBodyFile(e.Response.BodyFile)
	}
	return nil
}

// removeBodyFile removes a response file, but only one inside ResponsesDir:
// a synced entry could name any path.
func (a *App) removeBodyFile(path string) {
	if path == "" {
		return
	}
	rel, err := filepath.Rel(a.ResponsesDir(), path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		a.log.Warn("remove response file", "path", path, "err", err)
	}
}

// clearBatch bounds the ops of one Apply when clearing or pruning history.
const clearBatch = 1000

// ClearHistory deletes every history entry, in batches of delete ops, and
// the response files written before it started.
func (a *App) ClearHistory(ctx context.Context) error {
	started := time.Now()
	for {
		hs, err := a.store.History(ctx, HistoryQuery{Limit: clearBatch})
		if err != nil {
			return fmt.Errorf("clear history: %w", err)
		}
		if len(hs) == 0 {
			break
		}
		ops := make([]model.Op, len(hs))
		for i, h := range hs {
			ops[i] = model.DeleteOp(model.KindHistory, h.ID)
		}
		if err := a.store.Apply(ctx, ops...); err != nil {
			return fmt.Errorf("clear history: %w", err)
		}
	}
	a.removeOrphanBodyFiles(ctx, started)
	a.compact(ctx)
	return nil
}

// compact asks the store to give back the room of deleted records, if it
// can and it is worth it. A failure only leaves the file as large as it
// was.
func (a *App) compact(ctx context.Context) {
	c, ok := a.store.(Compactor)
	if !ok {
		return
	}
	if _, err := c.Compact(ctx); err != nil {
		a.log.Warn("could not compact the profile database", "err", err)
	}
}

// pruneHistory deletes the oldest entries so at most limit remain, through
// the store's HistoryPruner when it has one.
func (a *App) pruneHistory(ctx context.Context, limit int) error {
	n, err := a.store.HistoryCount(ctx)
	if err != nil || n <= limit {
		return err
	}
	if p, ok := a.store.(HistoryPruner); ok {
		if _, err := p.PruneHistory(ctx, limit); err != nil {
			return err
		}
		a.removeOrphanBodyFiles(ctx, time.Now().Add(-orphanGrace))
		a.compact(ctx)
		return nil
	}
	// Page to the oldest entries and delete them.
	var before model.ID
	skip := limit
	var ops []model.Op
	for {
		hs, err := a.store.History(ctx, HistoryQuery{Before: before, Limit: clearBatch})
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			break
		}
		for _, h := range hs {
			if skip > 0 {
				skip--
				continue
			}
			ops = append(ops, model.DeleteOp(model.KindHistory, h.ID))
		}
		before = hs[len(hs)-1].ID
	}
	if len(ops) == 0 {
		return nil
	}
	if err := a.store.Apply(ctx, ops...); err != nil {
		return err
	}
	a.removeOrphanBodyFiles(ctx, time.Now().Add(-orphanGrace))
	return nil
}

// orphanGrace spares response files written this recently: a send running
// at the same time may not have saved its entry yet.
const orphanGrace = time.Minute

// removeOrphanBodyFiles removes the response files (<id>.body) last
// written before before whose history entry no longer exists. There are
// few: only bodies over the memory limit are written.
func (a *App) removeOrphanBodyFiles(ctx context.Context, before time.Time) {
	ents, err := os.ReadDir(a.ResponsesDir())
	if err != nil {
		return
	}
	for _, de := range ents {
		id, ok := strings.CutSuffix(de.Name(), bodyFileExt)
		info, err := de.Info()
		if !ok || err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(before) {
			continue
		}
		if _, err := a.store.Get(ctx, model.KindHistory, model.ID(id)); isNotFound(err) {
			a.removeBodyFile(filepath.Join(a.ResponsesDir(), de.Name()))
		}
	}
}
