package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/courierapp/courier/model"
)

// DefaultMaxMemoryBody is the response size above which a body is streamed
// to a file under <profile>/responses instead of being held in memory.
const DefaultMaxMemoryBody = 10 << 20

// Options configures an App. The zero value is usable.
type Options struct {
	// Clock tells the time of history entries; nil means SystemClock.
	Clock Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// MaxMemoryBody overrides DefaultMaxMemoryBody (tests use a small one).
	MaxMemoryBody int64
	// Sender overrides how requests are executed (tests); nil uses httprun.
	Sender Sender
}

// HistoryPruner is implemented by stores that delete the oldest history
// entries themselves (package store does). When the Store does not, the
// App prunes through Store.History and Store.Apply.
type HistoryPruner interface {
	// PruneHistory deletes the oldest entries so at most limit remain and
	// returns how many it deleted.
	PruneHistory(ctx context.Context, limit int) (int, error)
}

// Compactor is implemented by stores that give the room of deleted
// records back when much of their file is free (package store does: see
// its Compact). The App asks after deleting history entries.
type Compactor interface {
	// Compact compacts the file when it is worth it and reports whether
	// it did.
	Compact(ctx context.Context) (bool, error)
}

// App is the application core that the GUI and the CLI hold: one per open
// profile. Its methods are safe for concurrent use. Errors wrap the model
// vocabulary (model.ErrNotFound, model.ErrInvalid, model.ErrUnavailable,
// ...) so callers can test them with errors.Is.
type App struct {
	store  Store
	clock  Clock
	log    *slog.Logger
	opts   Options
	jar    http.CookieJar
	sender Sender

	settingsMu sync.Mutex // serialises read-modify-write of Settings
	unreadable unreadable // records left out (see Unreadable)
}

// New returns the core over store. It fails only when opts are unusable.
func New(store Store, opts Options) (*App, error) {
	if store == nil {
		return nil, fmt.Errorf("new app: nil store: %w", model.ErrInvalid)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxMemoryBody <= 0 {
		opts.MaxMemoryBody = DefaultMaxMemoryBody
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("new app: cookie jar: %w", err)
	}
	a := &App{store: store, clock: opts.Clock, log: opts.Logger, opts: opts, jar: jar}
	a.sender = opts.Sender
	if a.sender == nil {
		a.sender = newHTTPSender()
	}
	return a, nil
}

// Subscribe calls fn after every committed change of the store (local or
// from sync), on a goroutine of the store's, until cancel is called. Views
// use it to refresh when data changes underneath them.
func (a *App) Subscribe(fn func(Changes)) (cancel func()) { return a.store.Subscribe(fn) }

// AccountsAvailable reports whether sign-in and sign-up can be offered. It is
// false until Courier's account service is wired in; the UI then explains
// AccountsUnavailableMessage instead.
func (a *App) AccountsAvailable() bool { return false }

// AccountsUnavailableMessage explains why accounts cannot be used yet.
const AccountsUnavailableMessage = "Accounts and sync need a Courier server. " +
	"Everything else works offline without an account."

// NeedsWelcome reports whether the first-launch welcome should be shown:
// true until SkipWelcome (or a sign-in) is remembered, or the profile
// remembers an account (signed in from the command line, say, which never
// showed the prompt). A settings read error counts as "needs welcome" and
// is logged.
func (a *App) NeedsWelcome(ctx context.Context) bool {
	s, err := a.Settings(ctx)
	if err != nil {
		a.log.Warn("read settings for welcome", "err", err)
		return true
	}
	if s.WelcomeDone {
		return false
	}
	var acct Account
	if err := a.store.Setting(ctx, accountSettingKey, &acct); err == nil && acct.AccountID != "" {
		return false
	}
	return true
}

// SkipWelcome remembers that the welcome was dismissed.
func (a *App) SkipWelcome(ctx context.Context) error {
	return a.updateSettings(ctx, func(s *Settings) { s.WelcomeDone = true })
}

// ProfileDir chooses the profile directory: flagValue when non-empty, else
// the environment variable COURIER_PROFILE, else os.UserConfigDir()/courier.
// The result is absolute. It does not create the directory.
func ProfileDir(flagValue string) (string, error) {
	return ProfileDirFrom(flagValue, os.Getenv)
}

// ProfileDirFrom is ProfileDir reading the environment through getenv.
func ProfileDirFrom(flagValue string, getenv func(string) string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = getenv("COURIER_PROFILE")
	}
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the profile folder (pass --profile DIR): %w: %w", model.ErrUnavailable, err)
		}
		dir = filepath.Join(base, "courier")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("profile folder %q: %w: %w", dir, model.ErrInvalid, err)
	}
	return abs, nil
}

// ResponsesDir is where bodies too large for memory are written.
func (a *App) ResponsesDir() string { return filepath.Join(a.store.Dir(), "responses") }

func (a *App) now() time.Time { return a.clock.Now() }

// isNotFound reports whether err wraps model.ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, model.ErrNotFound) }
