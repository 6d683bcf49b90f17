package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/courierapp/courier/model"
)

// fakeStore is a small in-memory Store for tests that are not about the
// store. failApply, when set, makes Apply fail (a full disk, say).
type fakeStore struct {
	mu        sync.Mutex
	dir       string
	recs      map[RecordKey]model.Record
	settings  map[string][]byte
	subs      map[int]func(Changes)
	next      int
	failApply error
	applies   int
}

func newFakeStore(dir string) *fakeStore {
	return &fakeStore{dir: dir, recs: map[RecordKey]model.Record{}, settings: map[string][]byte{}, subs: map[int]func(Changes){}}
}

func (s *fakeStore) Get(ctx context.Context, kind model.Kind, id model.ID) (model.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[RecordKey{kind, id}]
	if !ok || r.Deleted() {
		return model.Record{}, fmt.Errorf("%s %s: %w", kind, id, model.ErrNotFound)
	}
	return r.Clone(), nil
}

func (s *fakeStore) List(ctx context.Context, kind model.Kind) ([]model.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Record
	for k, r := range s.recs {
		if k.Kind == kind && !r.Deleted() {
			out = append(out, r.Clone())
		}
	}
	slices.SortFunc(out, func(a, b model.Record) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}

func (s *fakeStore) Apply(ctx context.Context, ops ...model.Op) error {
	s.mu.Lock()
	if s.failApply != nil {
		s.mu.Unlock()
		return s.failApply
	}
	s.applies++
	var ch Changes
	for _, op := range ops {
		k := RecordKey{op.Kind, op.ID}
		r, ok := s.recs[k]
		if !ok {
			r = model.Record{Kind: op.Kind, ID: op.ID}
		}
		r.Apply(op.Fields)
		if err := r.Validate(); err != nil {
			s.mu.Unlock()
			return err
		}
		s.recs[k] = r
		ch.Keys = append(ch.Keys, k)
	}
	subs := make([]func(Changes), 0, len(s.subs))
	for _, f := range s.subs {
		subs = append(subs, f)
	}
	s.mu.Unlock()
	for _, f := range subs {
		f(ch)
	}
	return nil
}

func (s *fakeStore) History(ctx context.Context, q HistoryQuery) ([]model.HistorySummary, error) {
	recs, _ := s.List(ctx, model.KindHistory)
	slices.Reverse(recs)
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	var out []model.HistorySummary
	for _, r := range recs {
		if q.Before != "" && r.ID >= q.Before {
			continue
		}
		e, err := model.Decode[model.HistoryEntry](r)
		if err != nil {
			return nil, err
		}
		sum := e.Summary()
		hay := strings.ToLower(sum.Method + " " + sum.URL + " " + sum.Name)
		if q.Search != "" && !strings.Contains(hay, strings.ToLower(q.Search)) {
			continue
		}
		out = append(out, sum)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *fakeStore) HistoryCount(ctx context.Context) (int, error) {
	recs, _ := s.List(ctx, model.KindHistory)
	return len(recs), nil
}

func (s *fakeStore) Setting(ctx context.Context, key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.settings[key]
	if !ok {
		return fmt.Errorf("setting %s: %w", key, model.ErrNotFound)
	}
	return json.Unmarshal(b, v)
}

func (s *fakeStore) SetSetting(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings[key] = b
	return nil
}

func (s *fakeStore) Subscribe(fn func(Changes)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

func (s *fakeStore) Dir() string { return s.dir }

var _ Store = (*fakeStore)(nil)
