package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// openStore opens a real store in t.TempDir().
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newApp returns an App over a fresh real store.
func newApp(t *testing.T, opts app.Options) (*app.App, *store.DB) {
	t.Helper()
	db := openStore(t)
	a, err := app.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, db
}

// faultyStore wraps a real store; Apply fails with err for ops of kind
// failKind while it is set (a full disk, say). It does not implement
// app.HistoryPruner, so the App prunes by itself.
type faultyStore struct {
	app.Store
	mu       sync.Mutex
	failKind model.Kind
	err      error
}

func (s *faultyStore) fail(kind model.Kind, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failKind, s.err = kind, err
}

func (s *faultyStore) Apply(ctx context.Context, ops ...model.Op) error {
	s.mu.Lock()
	err, kind := s.err, s.failKind
	s.mu.Unlock()
	for _, op := range ops {
		if err != nil && op.Kind == kind {
			return err
		}
	}
	return s.Store.Apply(ctx, ops...)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// names returns the names of nodes, folders' children in brackets.
func names(ns []*app.Node) []string {
	var out []string
	for _, n := range ns {
		s := n.Name()
		if n.Kind == model.KindFolder {
			s += "["
			for i, c := range names(n.Children) {
				if i > 0 {
					s += " "
				}
				s += c
			}
			s += "]"
		}
		out = append(out, s)
	}
	return out
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
