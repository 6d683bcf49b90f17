package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/courierapp/courier/model"
)

// SyncSessions gives the sync use cases the signed-in session (*Accounts
// implements it).
type SyncSessions interface {
	Session(ctx context.Context) (Session, error)
}

// sessionEnder is implemented by SyncSessions that remember a session the
// server refused (*Accounts does).
type sessionEnder interface {
	SessionEnded(ctx context.Context, s Session) error
}

// Sync runs the sync use cases of one profile and implements Syncer: it
// starts the engine of the signed-in session, keeps the on/off switch,
// and forwards the engine's status. Its methods are safe for concurrent
// use.
type Sync struct {
	store     SyncStore
	sessions  SyncSessions
	newEngine NewSyncEngine
	log       *slog.Logger

	// saveMu makes the writes of the last sync time one at a time, so
	// savedAt tells what was written.
	saveMu sync.Mutex

	mu      sync.Mutex
	active  bool // Start was called and Stop was not: run when possible
	engine  SyncEngine
	stop    func() // cancels the running engine and waits for it
	status  SyncStatus
	subs    map[int]func(SyncStatus)
	next    int
	savedAt time.Time // LastSync as last written to the store
	// lastSync is the latest LastSync known, stored or seen: an engine
	// knows only the syncs it made itself.
	lastSync time.Time
}

var _ Syncer = (*Sync)(nil)

// NewSync returns the sync use cases over st. Errors wrap
// model.ErrInvalid when st cannot sync or an argument is nil.
func NewSync(st Store, sessions SyncSessions, newEngine NewSyncEngine, log *slog.Logger) (*Sync, error) {
	ss, ok := st.(SyncStore)
	if !ok || sessions == nil || newEngine == nil {
		return nil, fmt.Errorf("new sync: a syncing store, sessions and an engine factory are required: %w", model.ErrInvalid)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Sync{store: ss, sessions: sessions, newEngine: newEngine, log: log, subs: map[int]func(SyncStatus){}}, nil
}

// Enabled reports the on/off switch (on unless turned off).
func (s *Sync) Enabled(ctx context.Context) (bool, error) {
	var paused bool
	if err := s.store.Setting(ctx, syncPausedSetting, &paused); err != nil && !isNotFound(err) {
		return false, fmt.Errorf("read the sync switch: %w", err)
	}
	return !paused, nil
}

// SetEnabled turns sync on (and starts it, after Start) or off (and stops
// it; local edits keep queuing in the outbox, pushed once it is on
// again). The switch is kept in the profile.
func (s *Sync) SetEnabled(ctx context.Context, on bool) error {
	if err := s.store.SetSetting(ctx, syncPausedSetting, !on); err != nil {
		return fmt.Errorf("set the sync switch: %w", err)
	}
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	if on && active {
		return s.Start(ctx)
	}
	s.halt()
	return s.Load(ctx)
}

// Load reads the profile's sync status (account, switch, pending ops,
// cursor, last sync) without connecting; Status then tells it. While an
// engine runs, its status wins.
func (s *Sync) Load(ctx context.Context) error {
	st, _, err := s.idleStatus(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	running := s.engine != nil
	s.mu.Unlock()
	if !running {
		s.loaded(st)
	}
	return nil
}

// loaded publishes st, the status read from the store with no engine
// running: its last sync is the store's, which may be older than one seen
// before (the profile joined another account since).
func (s *Sync) loaded(st SyncStatus) {
	s.mu.Lock()
	s.lastSync, s.savedAt = st.LastSync, st.LastSync
	s.mu.Unlock()
	s.publish(st)
}

// idleStatus is the status without an engine, and the session when one
// can run (signed in, sync on, store attached).
func (s *Sync) idleStatus(ctx context.Context) (SyncStatus, *Session, error) {
	var st SyncStatus
	var err error
	if st.Pending, err = s.store.PendingCount(ctx); err != nil {
		return st, nil, fmt.Errorf("read the sync status: %w", err)
	}
	if st.Cursor, err = s.store.Cursor(ctx); err != nil {
		return st, nil, fmt.Errorf("read the sync status: %w", err)
	}
	if err := s.store.Setting(ctx, syncLastSetting, &st.LastSync); err != nil && !isNotFound(err) {
		return st, nil, fmt.Errorf("read the sync status: %w", err)
	}
	var synced string // the account the store's sync state belongs to
	if err := s.store.Setting(ctx, syncAccountSetting, &synced); err != nil && !isNotFound(err) {
		return st, nil, fmt.Errorf("read the synced account: %w", err)
	}
	if f := s.lastFailure(ctx); f.Error != "" && f.At.After(st.LastSync) {
		st.LastError = f.Error // why the last `courier sync` stopped, say
	}
	sess, err := s.sessions.Session(ctx)
	if err == nil && synced != "" && synced != sess.Account.AccountID {
		// Signed in to another account than the one the profile's data
		// is of (the join waits for the person): never in sync with it.
		st.LastSync, st.LastError = time.Time{}, ""
	}
	switch {
	case errors.Is(err, ErrSessionEnded):
		st.State, st.Why, st.LastError = SyncActionNeeded, WhySignInAgain, err.Error()
		return st, nil, nil
	case errors.Is(err, model.ErrUnauthorized) || isNotFound(err):
		st.State, st.LastError = SyncNotSignedIn, err.Error()
		return st, nil, nil
	case err != nil:
		return st, nil, err
	}
	on, err := s.Enabled(ctx)
	if err != nil {
		return st, nil, err
	}
	if !on {
		st.State = SyncOff
		return st, nil, nil
	}
	if why, err := s.attachedTo(ctx, sess.Account.AccountID); err != nil || why != "" {
		st.State, st.Why = SyncActionNeeded, why
		return st, nil, err
	}
	st.State = SyncConnecting
	return st, &sess, nil
}

// attachedTo says what the person must do before the store can sync with
// accountID ("" for nothing).
func (s *Sync) attachedTo(ctx context.Context, accountID string) (string, error) {
	on, err := s.store.SyncEnabled(ctx)
	if err != nil {
		return "", fmt.Errorf("read the sync flag: %w", err)
	}
	var prev string
	if err := s.store.Setting(ctx, syncAccountSetting, &prev); err != nil && !isNotFound(err) {
		return "", fmt.Errorf("read the synced account: %w", err)
	}
	if !on || (prev != "" && prev != accountID) {
		return "sign in again to merge or keep aside this profile's data", nil
	}
	return "", nil
}

// Start runs the engine of the signed-in session in the background, after
// stopping one that runs. When none can run, the status says why (not
// signed in, sync off, action needed) and Start returns nil.
func (s *Sync) Start(ctx context.Context) error {
	s.halt()
	s.mu.Lock()
	s.active = true
	s.mu.Unlock()
	st, sess, err := s.idleStatus(ctx)
	if err != nil {
		return err
	}
	s.loaded(st)
	if sess == nil {
		return nil
	}
	eng, err := s.newEngine(*sess)
	if err != nil {
		st.State, st.Why, st.LastError = SyncFailed, err.Error(), err.Error()
		s.publish(st)
		return fmt.Errorf("start sync: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	unsub := eng.Subscribe(s.forward)
	go func() {
		defer close(done)
		if err := eng.Run(runCtx); err != nil && runCtx.Err() == nil {
			// Run ends with an error only when sync needs the person (sign
			// in again, confirm the email, upgrade), which the status says.
			s.log.Info("sync stopped", "err", err)
			s.ended(context.WithoutCancel(runCtx), *sess, eng.Status())
		}
	}()
	s.mu.Lock()
	s.engine = eng
	s.stop = func() {
		cancel()
		<-done
		unsub()
		last := eng.Status()
		s.saveLast(context.Background(), last.LastSync, true)
		s.publish(last)
	}
	s.mu.Unlock()
	return nil
}

// Stop ends the background sync and waits for it.
func (s *Sync) Stop() {
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	s.halt()
}

// halt stops the engine, if one runs, and waits for it.
func (s *Sync) halt() {
	s.mu.Lock()
	stop := s.stop
	s.engine, s.stop = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// SyncNow ends the engine's backoff wait.
func (s *Sync) SyncNow() {
	s.mu.Lock()
	eng := s.engine
	s.mu.Unlock()
	if eng != nil {
		eng.SyncNow()
	}
}

// Status returns the engine's status while one runs, else the last loaded
// one.
func (s *Sync) Status() SyncStatus {
	s.mu.Lock()
	eng, st := s.engine, s.status
	s.mu.Unlock()
	if eng != nil {
		return s.shown(eng.Status())
	}
	return st
}

// shown returns st as the app shows it: with the latest LastSync known
// (it remembers st's when it is later), and a session the server refused
// told in the person's words rather than the close frame's (which the log
// keeps).
func (s *Sync) shown(st SyncStatus) SyncStatus {
	if st.SessionRefused() {
		st.LastError = ErrSessionEnded.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.LastSync.After(s.lastSync) {
		s.lastSync = st.LastSync
	}
	st.LastSync = s.lastSync
	return st
}

// Subscribe calls fn after each status change until cancel.
func (s *Sync) Subscribe(fn func(SyncStatus)) (cancel func()) {
	s.mu.Lock()
	id := s.next
	s.next++
	s.subs[id] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// Once syncs in the foreground: connect, pull until caught up, push
// everything, wait for the acknowledgements. Errors say why it could not
// (not signed in: model.ErrUnauthorized, ErrNotSignedIn when the profile
// has no sign-in; sync off (ErrSyncOff) or the profile not attached:
// model.ErrConflict; the engine's errors otherwise).
func (s *Sync) Once(ctx context.Context) (SyncSummary, error) {
	st, sess, err := s.idleStatus(ctx)
	if err != nil {
		return SyncSummary{}, err
	}
	s.loaded(st)
	switch {
	case st.State == SyncNotSignedIn && st.LastError == ErrNotSignedIn.Error():
		return SyncSummary{}, fmt.Errorf("sync: %w", ErrNotSignedIn)
	case st.State == SyncNotSignedIn:
		return SyncSummary{}, fmt.Errorf("sync: %s: %w", strings.TrimSuffix(st.LastError, ": "+model.ErrUnauthorized.Error()), model.ErrUnauthorized)
	case st.State == SyncOff:
		return SyncSummary{}, ErrSyncOff
	case st.SessionRefused():
		return SyncSummary{}, fmt.Errorf("sync: %w", ErrSessionEnded)
	case sess == nil:
		return SyncSummary{}, fmt.Errorf("sync: %s: %w", st.Why, model.ErrConflict)
	}
	eng, err := s.newEngine(*sess)
	if err != nil {
		return SyncSummary{}, fmt.Errorf("sync: %w", err)
	}
	// The last sync time is saved below, once: a save from a subscriber
	// could come after the caller closed the store.
	unsub := eng.Subscribe(func(st SyncStatus) { s.publishSubs(s.shown(st)) })
	sum, err := eng.Once(ctx)
	unsub()
	last := eng.Status()
	if err != nil && s.ended(ctx, *sess, last) {
		// The person's words for it, as the next sync will say; the
		// server's are in the log.
		s.log.Info("sync refused", "err", err)
		err = fmt.Errorf("sync: %w", ErrSessionEnded)
	}
	s.publish(last)
	s.saveLast(ctx, last.LastSync, true)
	s.rememberFailure(ctx, err)
	return sum, err
}

// syncFailure is why a one-shot sync failed, kept for the status a later
// run shows (a quota refusal, say, that leaves changes pending).
type syncFailure struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

func (s *Sync) lastFailure(ctx context.Context) syncFailure {
	var f syncFailure
	if err := s.store.Setting(ctx, syncFailureSetting, &f); err != nil && !isNotFound(err) {
		s.log.Warn("read the last sync failure", "err", err)
	}
	return f
}

// rememberFailure keeps err (nil: forgets the last failure, when one is
// kept). A cancelled sync is no failure of the sync's own.
func (s *Sync) rememberFailure(ctx context.Context, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	f := syncFailure{}
	if err != nil {
		f = syncFailure{At: time.Now().UTC(), Error: err.Error()}
	} else if s.lastFailure(ctx).Error == "" {
		return // nothing to forget: no write
	}
	if serr := s.store.SetSetting(ctx, syncFailureSetting, f); serr != nil {
		s.log.Warn("keep the last sync failure", "err", serr)
	}
}

// ended remembers sess as ended when the engine stopped because the
// server refused its token, so the profile says so until a sign-in. It
// reports whether the server had refused it.
func (s *Sync) ended(ctx context.Context, sess Session, st SyncStatus) bool {
	if !st.SessionRefused() {
		return false
	}
	if e, ok := s.sessions.(sessionEnder); ok {
		if err := e.SessionEnded(ctx, sess); err != nil {
			s.log.Warn("remember the ended session", "err", err)
		}
	}
	return true
}

// forward passes an engine status on to the subscribers and keeps the
// last sync time (at most once a minute).
func (s *Sync) forward(st SyncStatus) {
	st = s.shown(st)
	s.publishSubs(st)
	s.saveLast(context.Background(), st.LastSync, false)
}

func (s *Sync) saveLast(ctx context.Context, t time.Time, force bool) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	due := !t.IsZero() && t.After(s.savedAt) && (force || t.Sub(s.savedAt) >= time.Minute)
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.store.SetSetting(ctx, syncLastSetting, t); err != nil {
		s.log.Warn("keep the last sync time", "err", err)
		return
	}
	s.mu.Lock()
	s.savedAt = t
	s.mu.Unlock()
}

// publish sets the idle status and tells the subscribers.
func (s *Sync) publish(st SyncStatus) {
	st = s.shown(st)
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
	s.publishSubs(st)
}

func (s *Sync) publishSubs(st SyncStatus) {
	s.mu.Lock()
	fns := make([]func(SyncStatus), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(st)
	}
}

// Join attaches the profile to the account just signed in to (see
// JoinAccount: merge local work, or keep it aside with keepLocal), then
// starts sync when it was started before. Call it after Accounts.SignIn.
func (s *Sync) Join(ctx context.Context, accountID string, keepLocal bool) (JoinResult, error) {
	res, err := JoinAccount(ctx, s.store, accountID, keepLocal)
	if err != nil {
		return res, err
	}
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	if active {
		return res, s.Start(ctx)
	}
	return res, s.Load(ctx)
}
