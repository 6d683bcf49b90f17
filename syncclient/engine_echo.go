package syncclient

import (
	"context"
	"fmt"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// Held echoes. A page that only echoes this device's own pushes changes
// nothing this device shows: its ops are in the outbox already, and the
// visible records include them. Applying it moves them to the confirmed
// layer and the cursor past them: a commit, with its fsyncs, for every
// edit pushed, made while the account's other devices apply the same
// change on their own disks. So a connection that runs on (not a one-shot
// sync) holds such pages in memory and applies them later, together:
//   - with the next page that is not only echoes, in one commit and in
//     seq order;
//   - once no echo has come for 25 ms, and at most 250 ms after the
//     first held one;
//   - once 64 ops are held (an early push may follow at most 128 pending
//     ops: see package store), or 1 MiB of their values;
//   - when the connection ends.
//
// Nothing is lost if they never are (the process dies, the commit
// fails): the cursor is still before them, and the next connection pulls
// them again, as for any page not yet applied. While held, their ops
// count as acknowledged (not pending, not pushed again, and an early push
// may follow them: see pushEarly), and the device is not IN SYNC until
// they are applied, so that IN SYNC still means the store holds what the
// server holds.
var defaultEchoHold = echoHold{quiet: 25 * time.Millisecond, max: 250 * time.Millisecond, ops: 64, bytes: 1 << 20}

// echoHold bounds the echoes held: they are applied once no echo has come
// for quiet, at most max after the first, and before they exceed ops or
// bytes (their values' size).
type echoHold struct {
	quiet, max time.Duration
	ops, bytes int
}

// heldEchoes are the echo pages a connection holds, prepared, in seq
// order.
type heldEchoes struct {
	pages []app.ServerPage
	ids   map[model.ID]bool // their op ids
	bytes int               // their values' size
	first time.Time         // when the first was held
	timer *time.Timer
	due   <-chan time.Time // fires when they are to be applied; nil: none held
}

// holdable says whether a page of opened changes can be held: a
// connection that runs on, every change the echo of an op pushed on it,
// and room left.
func (c *conn) holdable(opened []model.Change) bool {
	if c.once || len(c.echoes.ids)+len(opened) > c.e.echoHold.ops {
		return false
	}
	size := c.echoes.bytes
	for _, ch := range opened {
		if ch.OpID == "" || !c.inflight[ch.OpID] {
			return false
		}
		size += fieldsSize(ch.Fields)
	}
	return size <= c.e.echoHold.bytes
}

// hold keeps the echo page for later (see heldEchoes): its ops are
// acknowledged now.
func (c *conn) hold(page app.ServerPage) {
	h := &c.echoes
	now := time.Now()
	if len(h.pages) == 0 {
		h.first = now
	}
	h.pages = append(h.pages, page)
	for _, ch := range page.Changes() {
		delete(c.inflight, ch.OpID)
		h.ids[ch.OpID] = true
		h.bytes += fieldsSize(ch.Fields)
		c.sum.Pushed++
	}
	wait := min(c.e.echoHold.quiet, h.first.Add(c.e.echoHold.max).Sub(now))
	if h.timer == nil {
		h.timer = time.NewTimer(wait)
	} else {
		h.timer.Reset(wait)
	}
	h.due = h.timer.C
}

// apply applies page after the held echoes, in one transaction; with
// none of its own (nil), the held echoes alone.
func (c *conn) apply(ctx context.Context, page app.ServerPage) error {
	if len(c.echoes.pages) > 0 {
		pages := c.echoes.take()
		if page != nil {
			pages = append(pages, page)
		}
		var err error
		if page, err = c.join(pages); err != nil {
			return err
		}
	}
	changes := page.Changes()
	last := changes[len(changes)-1].Seq
	if err := c.e.cfg.Store.ApplyServerPage(ctx, page, last); err != nil {
		return fmt.Errorf("apply changes up to seq %d: %w", last, err)
	}
	return nil
}

// join makes one page of consecutive prepared pages: joined as they are
// by a PageJoiner store, else prepared again together.
func (c *conn) join(pages []app.ServerPage) (app.ServerPage, error) {
	if len(pages) == 1 {
		return pages[0], nil
	}
	if j, ok := c.e.cfg.Store.(PageJoiner); ok {
		page, err := j.JoinServerPages(pages)
		if err != nil {
			return nil, fmt.Errorf("join %d pages of changes: %w", len(pages), err)
		}
		return page, nil
	}
	var changes []model.Change
	for _, p := range pages {
		changes = append(changes, p.Changes()...)
	}
	page, err := c.e.cfg.Store.PrepareServerChanges(changes)
	if err != nil {
		return nil, fmt.Errorf("apply changes up to seq %d: %w", changes[len(changes)-1].Seq, err)
	}
	return page, nil
}

// flushEchoes applies the held echoes, if any.
func (c *conn) flushEchoes(ctx context.Context) error {
	if len(c.echoes.pages) == 0 {
		return nil
	}
	return c.apply(ctx, nil)
}

// take empties h and returns what it held.
func (h *heldEchoes) take() []app.ServerPage {
	held := h.pages
	h.pages, h.bytes, h.due = nil, 0, nil
	clear(h.ids)
	if h.timer != nil {
		h.timer.Stop()
	}
	return held
}

// stop stops the timer; the held echoes stay for flushEchoes.
func (h *heldEchoes) stop() {
	h.due = nil
	if h.timer != nil {
		h.timer.Stop()
	}
}

// fieldsSize is the size of a change's values.
func fieldsSize(f model.Fields) int {
	n := 0
	for k, v := range f {
		n += len(k) + len(v)
	}
	return n
}
