package store

import (
	"maps"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/courierapp/courier/model"
)

// ServerPage is a page of the server's stream prepared by
// PrepareServerChanges: checked, with each change's prepared form.
type ServerPage struct {
	sec     *sealer // the key the values were sealed with
	changes []model.Change
	pre     []preparedChange
}

// Changes returns the page's changes.
func (p *ServerPage) Changes() []model.Change { return p.changes }

// preparedChange is what a change alone stores when it creates its record:
// its fields in stored form (nil for a deleted history entry, never
// stored) and, for a history entry, its index entry or why it does not
// encode; sealed says a secret value was sealed in conf.
type preparedChange struct {
	conf   []byte
	idx    *historyIndex
	idxErr error
	sealed bool
}

// prepareChange computes the prepared form of change c (valid) with key s.
func prepareChange(s *sealer, c model.Change) preparedChange {
	if c.Kind == model.KindHistory && (model.Record{Fields: c.Fields}).Deleted() {
		return preparedChange{}
	}
	var sealed atomic.Int64
	pc := preparedChange{conf: s.encodeRecord(c.Kind, c.ID, c.Fields, &sealed)}
	pc.sealed = sealed.Load() > 0
	if c.Kind == model.KindHistory && len(c.Fields) > 0 {
		e, err := newHistoryIndex(c.ID, c.Fields)
		pc.idx, pc.idxErr = &e, err
	}
	return pc
}

// serverPage gathers one page's records: each record's confirmed fields
// are read once, every change of the page is merged into them in order,
// and they are written and materialised once, from memory.
type serverPage struct {
	src   *ServerPage
	recs  map[string]*pageRecord
	order []*pageRecord
}

// pageRecord is one record a page touches. conf is its confirmed fields
// after the page's changes when changed is set; a record only touched
// through an echoed op (changed unset) is read from confirmed as it is.
// A record new to confirmed borrows the fields of its first change, the
// page's change from (borrowed set), until a second change makes it copy
// them; until then it is stored as that change was prepared.
type pageRecord struct {
	kind     model.Kind
	id       model.ID
	key      []byte
	conf     model.Fields
	changed  bool
	borrowed bool
	from     int
}

func newServerPage(src *ServerPage) *serverPage {
	n := len(src.changes)
	return &serverPage{src: src, recs: make(map[string]*pageRecord, n), order: make([]*pageRecord, 0, n)}
}

// mark returns the page's entry for (kind, id), adding it if new.
func (p *serverPage) mark(kind model.Kind, id model.ID) *pageRecord {
	rk := recKey(kind, id)
	if r, ok := p.recs[string(rk)]; ok {
		return r
	}
	r := &pageRecord{kind: kind, id: id, key: rk}
	p.recs[string(rk)] = r
	p.order = append(p.order, r)
	return r
}

// merge applies the page's change i to its record's confirmed fields,
// with the rule of writeTx.mergeConfirmed.
func (p *serverPage) merge(w *writeTx, i int) error {
	c := p.src.changes[i]
	r := p.mark(c.Kind, c.ID)
	if !r.changed {
		cur, err := w.fieldsAt(w.conf, r.key)
		if err != nil {
			return err
		}
		r.conf, r.changed = cur, true
	}
	switch {
	case r.conf == nil && !(c.Kind == model.KindHistory && (model.Record{Fields: c.Fields}).Deleted()):
		r.conf, r.borrowed, r.from = c.Fields, true, i
		return nil
	case r.borrowed:
		r.conf, r.borrowed = maps.Clone(r.conf), false
	}
	r.conf = mergeFields(c.Kind, r.conf, c.Fields)
	return nil
}

// commit writes the confirmed fields of the changed records, then
// re-materialises every record of the page, in the order first touched.
func (p *serverPage) commit(w *writeTx) error {
	noPending := w.outboxEmpty()
	prep := p.prepare(w, noPending)
	for i, r := range p.order {
		if r.changed {
			if err := w.put(w.conf, r.key, prep[i].conf); err != nil {
				return err
			}
		}
	}
	for i, r := range p.order {
		if !r.changed {
			if err := w.materialise(r.kind, r.id); err != nil {
				return err
			}
			continue
		}
		if prep[i].err != nil {
			return prep[i].err
		}
		if err := w.materialisePrepared(r.kind, r.id, r.conf, noPending, prep[i].idx); err != nil {
			return err
		}
	}
	return nil
}

// prepared is what commit computes for a changed record before writing
// it: its stored confirmed form and, when it is visible as confirmed and
// a history entry, its index entry (or why that does not encode).
type prepared struct {
	conf []byte
	idx  *historyIndex
	err  error
}

// prepare computes the prepared form of every changed record: a record
// still borrowing its one change's fields takes that change's prepared
// form; the others are computed here, on all cores for many. It only
// reads the page's fields (sealing secret values with w's key), never the
// transaction.
func (p *serverPage) prepare(w *writeTx, noPending bool) []prepared {
	out := make([]prepared, len(p.order))
	var rest []int
	for i, r := range p.order {
		if !r.changed {
			continue
		}
		if pc := p.src.pre[r.from]; r.borrowed && pc.conf != nil {
			out[i].conf = pc.conf
			if pc.sealed {
				w.sealed.Add(1)
			}
			if noPending && pc.idx != nil {
				out[i].idx, out[i].err = pc.idx, pc.idxErr
			}
			continue
		}
		rest = append(rest, i)
	}
	inParallel(len(rest), func(lo, hi int) {
		for _, i := range rest[lo:hi] {
			r := p.order[i]
			out[i].conf = w.sec.encodeRecord(r.kind, r.id, r.conf, &w.sealed)
			if !noPending || r.kind != model.KindHistory || len(r.conf) == 0 || (model.Record{Fields: r.conf}).Deleted() {
				continue
			}
			e, err := newHistoryIndex(r.id, r.conf)
			out[i].idx, out[i].err = &e, err
		}
	})
	return out
}

// minParallel is the least work (records) worth a goroutine of its own.
const minParallel = 256

// inParallel calls fn on consecutive ranges covering [0, n), one per
// core at most and each of at least minParallel, and waits for them.
func inParallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minParallel)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := n*k/workers, n*(k+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
