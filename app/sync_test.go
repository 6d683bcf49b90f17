package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
)

func putRequest(t *testing.T, db *store.DB, name string) model.ID {
	t.Helper()
	id := model.NewID()
	op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{"name": json.RawMessage(`"` + name + `"`)}}
	if err := db.Apply(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	return id
}

func countRequests(t *testing.T, db *store.DB) int {
	t.Helper()
	recs, err := db.List(context.Background(), model.KindRequest)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func TestJoinAccount(t *testing.T) {
	ctx := context.Background()
	t.Run("an empty profile simply attaches", func(t *testing.T) {
		db := openStore(t)
		res, err := app.JoinAccount(ctx, db, "acct-1", false)
		if err != nil || res != (app.JoinResult{}) {
			t.Fatalf("JoinAccount = %+v, %v", res, err)
		}
		if on, _ := db.SyncEnabled(ctx); !on {
			t.Error("sync not enabled")
		}
	})
	t.Run("local work is merged by default: every record queued once", func(t *testing.T) {
		db := openStore(t)
		putRequest(t, db, "a")
		putRequest(t, db, "b")
		res, err := app.JoinAccount(ctx, db, "acct-1", false)
		if err != nil || res.Queued != 2 || res.KeptAside != "" {
			t.Fatalf("JoinAccount = %+v, %v", res, err)
		}
		if n, _ := db.PendingCount(ctx); n != 2 || countRequests(t, db) != 2 {
			t.Errorf("pending %d, visible %d; want 2 and 2", n, countRequests(t, db))
		}
		again, err := app.JoinAccount(ctx, db, "acct-1", false)
		if err != nil || again.Queued != 0 {
			t.Errorf("joining the same account again = %+v, %v; want nothing done", again, err)
		}
	})
	t.Run("keep local sets the data aside in a profile folder and starts empty", func(t *testing.T) {
		db := openStore(t)
		putRequest(t, db, "kept")
		// Signing in remembered the account before the join.
		if err := db.SetSetting(ctx, "app.account", map[string]string{"account_id": "acct-1"}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSetting(ctx, "app.theme", "dark"); err != nil {
			t.Fatal(err)
		}
		res, err := app.JoinAccount(ctx, db, "acct-1", true)
		if err != nil || res.KeptAside == "" {
			t.Fatalf("JoinAccount = %+v, %v", res, err)
		}
		if countRequests(t, db) != 0 {
			t.Error("the profile still shows the local records")
		}
		if on, _ := db.SyncEnabled(ctx); !on {
			t.Error("sync not enabled")
		}
		kept, err := store.Open(ctx, res.KeptAside, store.Options{})
		if err != nil {
			t.Fatalf("open the kept profile: %v", err)
		}
		defer kept.Close()
		if countRequests(t, kept) != 1 {
			t.Error("the kept profile lacks the local record")
		}
		// The local work from before the account: it claims no account,
		// and keeps the other settings.
		var acct, theme any
		if err := kept.Setting(ctx, "app.account", &acct); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("the kept profile's account setting = %v, %v; want none", acct, err)
		}
		if err := kept.Setting(ctx, "app.theme", &theme); err != nil || theme != "dark" {
			t.Errorf("the kept profile's other setting = %v, %v; want it kept", theme, err)
		}
		if err := db.Setting(ctx, "app.account", &acct); err != nil {
			t.Errorf("the profile lost its own account setting: %v", err)
		}
	})
	t.Run("a merge stopped half way belongs to the account", func(t *testing.T) {
		db := openStore(t)
		putRequest(t, db, "a")
		_, err := app.JoinAccount(ctx, stoppedMerge{db}, "acct-1", false)
		if !errors.Is(err, errStopped) {
			t.Fatalf("JoinAccount with a merge that stops = %v; want its error", err)
		}
		// Sync is on with records queued: the profile is acct-1's, so
		// another account's sign-in does not take its data unasked.
		if other, err := app.HoldsOtherAccountData(ctx, db, "acct-2"); err != nil || !other {
			t.Errorf("HoldsOtherAccountData(acct-2) = %v, %v; want true", other, err)
		}
		if other, err := app.HoldsOtherAccountData(ctx, db, "acct-1"); err != nil || other {
			t.Errorf("HoldsOtherAccountData(acct-1) = %v, %v; want false", other, err)
		}
	})
	t.Run("another account's data is kept and merged, not dropped", func(t *testing.T) {
		db := openStore(t)
		if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
			t.Fatal(err)
		}
		putRequest(t, db, "pending for acct-1")
		res, err := app.JoinAccount(ctx, db, "acct-2", false)
		if err != nil || res.Queued != 1 {
			t.Fatalf("JoinAccount(acct-2) = %+v, %v; want the record queued", res, err)
		}
		if countRequests(t, db) != 1 {
			t.Error("the record was lost")
		}
	})
}

var errStopped = errors.New("the disk is full")

// stoppedMerge is a store whose merge into the account stops after it
// turned sync on, as a merge of many records that fills the disk does.
type stoppedMerge struct{ *store.DB }

func (s stoppedMerge) QueueAllLocal(ctx context.Context) (int, error) {
	n, err := s.DB.QueueAllLocal(ctx)
	if err != nil {
		return n, err
	}
	return n, errStopped
}

// fakeSessions is a signed-in account or none.
type fakeSessions struct{ sess *app.Session }

func (f *fakeSessions) Session(context.Context) (app.Session, error) {
	if f.sess == nil {
		return app.Session{}, fmt.Errorf("not signed in: %w", model.ErrUnauthorized)
	}
	return *f.sess, nil
}

// fakeEngine counts runs and reports a fixed status.
type fakeEngine struct {
	mu      sync.Mutex
	running bool
	runs    int
	once    int
	// fresh makes it report a status without a last sync, as an engine
	// that has not synced yet does.
	fresh bool
}

func (e *fakeEngine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.running, e.runs = true, e.runs+1
	e.mu.Unlock()
	<-ctx.Done()
	e.mu.Lock()
	e.running = false
	e.mu.Unlock()
	return ctx.Err()
}

func (e *fakeEngine) Once(context.Context) (app.SyncSummary, error) {
	e.mu.Lock()
	e.once++
	e.mu.Unlock()
	return app.SyncSummary{Pulled: 1}, nil
}
func (e *fakeEngine) SyncNow() {}
func (e *fakeEngine) Status() app.SyncStatus {
	if e.fresh {
		return app.SyncStatus{State: app.SyncOffline}
	}
	return app.SyncStatus{State: app.SyncInSync, LastSync: time.Unix(1_800_000_000, 0)}
}
func (e *fakeEngine) Subscribe(func(app.SyncStatus)) func() { return func() {} }

func (e *fakeEngine) isRunning() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running
}

func TestSyncSwitchAndStates(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	sessions := &fakeSessions{}
	eng := &fakeEngine{}
	s, err := app.NewSync(db, sessions, func(app.Session) (app.SyncEngine, error) { return eng, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil || s.Status().State != app.SyncNotSignedIn {
		t.Fatalf("Start signed out = %v, %v; want not signed in", s.Status(), err)
	}
	if _, err := s.Once(ctx); !errors.Is(err, model.ErrUnauthorized) {
		t.Errorf("Once signed out = %v", err)
	}
	sessions.sess = &app.Session{Account: app.Account{AccountID: "acct-1", SignedIn: true}}
	putRequest(t, db, "local")
	if err := s.Start(ctx); err != nil || s.Status().State != app.SyncActionNeeded {
		t.Fatalf("Start before joining = %v, %v; want action needed", s.Status(), err)
	}
	if res, err := s.Join(ctx, "acct-1", false); err != nil || res.Queued != 1 {
		t.Fatalf("Join = %+v, %v; want the local record queued", res, err)
	}
	waitUntil(t, "the engine runs after joining", eng.isRunning)
	if err := s.SetEnabled(ctx, false); err != nil {
		t.Fatal(err)
	}
	if eng.isRunning() || s.Status().State != app.SyncOff {
		t.Errorf("after off: running %v, status %v", eng.isRunning(), s.Status())
	}
	putRequest(t, db, "typed while off")
	if n, _ := db.PendingCount(ctx); n != 2 {
		t.Errorf("pending = %d while off, want 2 (edits keep queuing)", n)
	}
	if on, _ := s.Enabled(ctx); on {
		t.Error("Enabled after off")
	}
	if _, err := s.Once(ctx); !errors.Is(err, model.ErrConflict) {
		t.Errorf("Once while off = %v, want ErrConflict", err)
	}
	if err := s.SetEnabled(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the engine runs again", eng.isRunning)
	s.Stop()
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.LastSync.IsZero() || st.Pending != 2 {
		t.Errorf("loaded status = %+v, want the saved last sync and 2 pending", st)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// An engine knows only the syncs it made; the status still says when the
// profile last synced (by the command line, or before a restart).
func TestSyncStatusKeepsTheLastSyncOfEarlierRuns(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
		t.Fatal(err)
	}
	before := time.Unix(1_700_000_000, 0).UTC()
	if err := db.SetSetting(ctx, "sync.last", before); err != nil {
		t.Fatal(err)
	}
	sessions := &fakeSessions{sess: &app.Session{Account: app.Account{AccountID: "acct-1", SignedIn: true}}}
	eng := &fakeEngine{fresh: true}
	s, err := app.NewSync(db, sessions, func(app.Session) (app.SyncEngine, error) { return eng, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitUntil(t, "the engine runs", eng.isRunning)
	if st := s.Status(); st.State != app.SyncOffline || !st.LastSync.Equal(before) {
		t.Fatalf("status while the engine runs = %+v, want offline with the last sync %v", st, before)
	}
}

// The last sync is the last time the profile was in sync with the
// account signed in: joining another forgets the one before, in the
// store and in a Sync that saw it (the window's).
func TestTheLastSyncIsTheCurrentAccounts(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	sessions := &fakeSessions{sess: &app.Session{Account: app.Account{AccountID: "acct-1", SignedIn: true}}}
	eng := &fakeEngine{}
	s, err := app.NewSync(db, sessions, func(app.Session) (app.SyncEngine, error) { return eng, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ctx, "acct-1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.LastSync.IsZero() {
		t.Fatalf("status after a sync of acct-1 = %+v, want its last sync", st)
	}
	putRequest(t, db, "acct-1's")
	eng.fresh = true // acct-2's engine has not synced yet

	// Signed in to acct-2, the profile still holds acct-1's data until
	// the person chooses: never in sync with acct-2.
	sessions.sess = &app.Session{Account: app.Account{AccountID: "acct-2", SignedIn: true}}
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.State != app.SyncActionNeeded || !st.LastSync.IsZero() {
		t.Fatalf("status before joining acct-2 = %+v, want action needed and no last sync", st)
	}
	if _, err := s.Join(ctx, "acct-2", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitUntil(t, "acct-2's engine runs", eng.isRunning)
	if st := s.Status(); !st.LastSync.IsZero() {
		t.Fatalf("status after joining acct-2 = %+v, want no last sync", st)
	}
	var last time.Time
	if err := db.Setting(ctx, "sync.last", &last); err != nil || !last.IsZero() {
		t.Fatalf("the stored last sync after joining acct-2 = %v, %v; want none", last, err)
	}
}

// endingSessions remembers the sessions the server ended, as Accounts
// does: from then on Session says so.
type endingSessions struct {
	mu    sync.Mutex
	sess  app.Session
	ended int
}

func (f *endingSessions) Session(context.Context) (app.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended > 0 {
		return app.Session{}, app.ErrSessionEnded
	}
	return f.sess, nil
}

func (f *endingSessions) SessionEnded(_ context.Context, s app.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Account.SessionID == f.sess.Account.SessionID {
		f.ended++
	}
	return nil
}

func (f *endingSessions) endedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// refusedEngine is an engine whose token the server refuses (4401).
type refusedEngine struct{ fakeEngine }

var errRefused = fmt.Errorf("sync: sign in again: %w", model.ErrUnauthorized)

func (e *refusedEngine) Run(context.Context) error { return errRefused }
func (e *refusedEngine) Once(context.Context) (app.SyncSummary, error) {
	return app.SyncSummary{}, errRefused
}
func (e *refusedEngine) Status() app.SyncStatus {
	return app.SyncStatus{State: app.SyncActionNeeded, Why: app.WhySignInAgain, LastError: errRefused.Error()}
}

func TestSyncRemembersASessionTheServerRefused(t *testing.T) {
	for _, how := range []string{"once", "in the background"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			db := openStore(t)
			if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
				t.Fatal(err)
			}
			sessions := &endingSessions{sess: app.Session{Account: app.Account{AccountID: "acct-1", SessionID: "s1", SignedIn: true}}}
			s, err := app.NewSync(db, sessions, func(app.Session) (app.SyncEngine, error) { return &refusedEngine{}, nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if how == "once" {
				if _, err := s.Once(ctx); !errors.Is(err, app.ErrSessionEnded) {
					t.Fatalf("Once = %v, want the refusal, in the person's words", err)
				}
			} else {
				if err := s.Start(ctx); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, "the refusal is remembered", func() bool { return sessions.endedCount() > 0 })
				if st := s.Status(); st.LastError != app.ErrSessionEnded.Error() {
					t.Errorf("last error shown = %q, want the person's words", st.LastError)
				}
				s.Stop()
			}
			if n := sessions.endedCount(); n != 1 {
				t.Fatalf("the session was ended %d times, want once", n)
			}
			if err := s.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if st := s.Status(); st.State != app.SyncActionNeeded || st.Why != app.WhySignInAgain || st.LastError != app.ErrSessionEnded.Error() {
				t.Errorf("status after the refusal = %+v, want action needed: sign in again, with why", st)
			}
			if _, err := s.Once(ctx); !errors.Is(err, app.ErrSessionEnded) {
				t.Errorf("Once after the refusal = %v, want ErrSessionEnded without connecting", err)
			}
		})
	}
}

// publishingEngine syncs once and tells its subscribers so from another
// goroutine, as the real engine does, giving them until Once returns to
// begin saving the last sync time (see slowLastSync).
type publishingEngine struct {
	fakeEngine
	mu       sync.Mutex
	subs     []func(app.SyncStatus)
	wg       sync.WaitGroup
	began    <-chan struct{}
	returned atomic.Bool
}

func (e *publishingEngine) Subscribe(fn func(app.SyncStatus)) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subs = append(e.subs, fn)
	return func() {}
}

func (e *publishingEngine) Once(context.Context) (app.SyncSummary, error) {
	e.mu.Lock()
	subs := slices.Clone(e.subs)
	e.mu.Unlock()
	for _, fn := range subs {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); fn(e.Status()) }()
	}
	select {
	case <-e.began:
	case <-time.After(200 * time.Millisecond): // no subscriber saves
	}
	e.returned.Store(true)
	return app.SyncSummary{}, nil
}

// slowLastSync is a store whose saves of the last sync time made while
// the engine's Once runs (by a subscriber) wait for release.
type slowLastSync struct {
	*store.DB
	eng     *publishingEngine
	began   chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowLastSync) SetSetting(ctx context.Context, key string, v any) error {
	if key == "sync.last" && !s.eng.returned.Load() {
		s.once.Do(func() { close(s.began) })
		<-s.release
	}
	return s.DB.SetSetting(ctx, key, v)
}

// The time of a sync made by Once is in the profile when Once returns,
// whatever the engine's subscribers do afterwards: the command that ran
// it closes the store then.
func TestSyncOnceKeepsTheLastSyncTime(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.JoinAccount(ctx, db, "acct-1", false); err != nil {
		t.Fatal(err)
	}
	began := make(chan struct{})
	eng := &publishingEngine{began: began}
	st := &slowLastSync{DB: db, eng: eng, began: began, release: make(chan struct{})}
	sessions := &fakeSessions{sess: &app.Session{Account: app.Account{AccountID: "acct-1", SignedIn: true}}}
	s, err := app.NewSync(st, sessions, func(app.Session) (app.SyncEngine, error) { return eng, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	close(st.release) // a subscriber's save, if one began, now finds the store closed
	eng.wg.Wait()
	db, err = store.Open(ctx, dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last time.Time
	if err := db.Setting(ctx, "sync.last", &last); err != nil || !last.Equal(eng.Status().LastSync) {
		t.Fatalf("last sync kept = %v, %v; want %v", last, err, eng.Status().LastSync)
	}
}
