package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
)

// syncSession is an open profile with its accounts and sync use cases.
type syncSession struct {
	*accountSession
	sync *app.Sync
}

// openSync opens the profile and wires app.Sync to a syncclient engine
// for the signed-in account, through the profile's proxy setting.
func openSync(ctx context.Context, env *Env, f serverFlags) (*syncSession, error) {
	s, err := openAccounts(ctx, env, f)
	if err != nil {
		return nil, err
	}
	st, ok := s.store.(syncclient.Store)
	if !ok {
		s.close()
		return nil, fmt.Errorf("this profile's store cannot sync: %w", model.ErrInvalid)
	}
	core, err := app.New(s.store, app.Options{Logger: env.Logger})
	if err != nil {
		s.close()
		return nil, err
	}
	settings, err := core.Settings(ctx)
	if err != nil {
		s.close()
		return nil, err
	}
	engineFor := syncclient.EngineFor(st, s.ca, settings.Proxy, env.Logger)
	newEngine := func(sess app.Session) (app.SyncEngine, error) {
		e, err := engineFor(sess)
		return e, s.caError(err)
	}
	sy, err := app.NewSync(s.store, s.acc, newEngine, env.Logger)
	if err != nil {
		s.close()
		return nil, err
	}
	return &syncSession{accountSession: s, sync: sy}, nil
}

func runSync(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("sync", "[on|off] [--watch] [flags]")
	f.addCA(fs)
	watch := fs.Bool("watch", false, "stay connected and print each status change (and each cursor move) until Ctrl+C")
	env.Details = "Without arguments: connect, pull until caught up, push every local change,\n" +
		"wait until the server acknowledged them all, print a summary and exit.\n" +
		"'courier sync off' pauses sync on this profile (local edits keep queuing);\n" +
		"'courier sync on' resumes it.\n\n" +
		"While --watch runs, send, history, import, export and status work beside\n" +
		"it, through the profile's socket, as they do beside the Courier window;\n" +
		"while the window (or another --watch) has the profile open, --watch\n" +
		"follows its sync.\n"
	env.ExitStatus = "Exit status: 0 once in sync, switched on or off, or when --watch is stopped\n" +
		"with Ctrl+C; 1 when sync failed or cannot run (the reason on stderr); 2 for a\n" +
		"wrong command line; 130 when a one-shot sync is interrupted (Ctrl+C).\n"
	pos, err := env.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1 && pos[0] != "on" && pos[0] != "off") {
		return Usagef("sync takes on, off or nothing")
	}
	if len(pos) == 1 && *watch {
		return Usagef("--watch does not go with %s", pos[0])
	}
	s, err := openSync(ctx, env, f)
	if *watch && errors.Is(err, store.ErrProfileLocked) {
		// The window has the profile: watch its sync, when it listens.
		werr := watchWindow(ctx, env)
		if windowSilent(werr) {
			return err // the window's words: it has the profile
		}
		return werr
	}
	if err != nil {
		return err
	}
	defer s.close()
	switch {
	case len(pos) == 1:
		return syncSwitch(ctx, env, s, pos[0] == "on")
	case *watch:
		return syncWatch(ctx, env, s)
	}
	sum, err := s.sync.Once(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "In sync: pulled %d %s, pushed %d %s; cursor %d.\n",
		sum.Pulled, plural(sum.Pulled, "change"), sum.Pushed, plural(sum.Pushed, "change"), sum.Cursor)
	if sum.StartedOver {
		fmt.Fprintln(env.Stdout, "The server had lost changes (it was restored from a backup, or the account's data was erased at a password reset): this device pulled the account again and pushed back what the server lacked.")
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func syncSwitch(ctx context.Context, env *Env, s *syncSession, on bool) error {
	if err := s.sync.SetEnabled(ctx, on); err != nil {
		return err
	}
	st := s.sync.Status()
	if on {
		fmt.Fprintf(env.Stdout, "Sync is on; %d %s waiting to be pushed (run courier sync, or open Courier).\n", st.Pending, plural(st.Pending, "change"))
		return nil
	}
	fmt.Fprintln(env.Stdout, "Sync is off; local edits keep queuing and are pushed once it is on again.")
	return nil
}

// syncWatch runs sync in the background and prints each new status line
// until ctx ends (Ctrl+C), or sync needs the person.
func syncWatch(ctx context.Context, env *Env, s *syncSession) error {
	lines := make(chan app.SyncStatus, 64)
	cancel := s.sync.Subscribe(func(st app.SyncStatus) {
		select {
		case lines <- st:
		default: // the printer is behind; a later status follows
		}
	})
	defer cancel()
	if err := s.sync.Start(ctx); err != nil {
		return err
	}
	defer s.sync.Stop()
	// The data commands and status work beside it, as beside the window.
	live := &liveStatus{}
	status := func(ctx context.Context) (app.Account, app.SyncStatus, error) {
		a, err := s.acc.Current(ctx)
		return a, s.sync.Status(), err
	}
	live.fn.Store(&status)
	defer serveProfile(s.store.Dir(), ownerWatch, s.store, s.key, live, env.Logger)()
	last := ""
	show := func(st app.SyncStatus) {
		if line := watchLine(st); line != last {
			last = line
			fmt.Fprintln(env.Stdout, line)
		}
	}
	if st := s.sync.Status(); st.State != app.SyncOff { // off: said below
		show(st)
	}
	for {
		st := s.sync.Status()
		switch st.State {
		case app.SyncOff:
			return Exitf(ExitFailure, "%s", syncOffMessage)
		case app.SyncNotSignedIn, app.SyncActionNeeded:
			show(st)
			return Exitf(ExitFailure, "sync cannot run: %s", st)
		}
		select {
		case <-ctx.Done():
			return nil
		case st := <-lines:
			show(st)
		}
	}
}

// windowPoll is how often sync --watch asks the window for its status.
const windowPoll = 500 * time.Millisecond

// watchWindow prints the sync status of the Courier window that has the
// profile open each time it changes, until ctx ends (Ctrl+C) or the window
// closes. It fails with errNoWindow when no window listens, and with an
// error wrapping model.ErrNotFound when the window tells no status.
func watchWindow(ctx context.Context, env *Env) error {
	rs, err := env.dialWindow(ctx)
	if err != nil {
		return err
	}
	defer rs.Close()
	t := time.NewTicker(windowPoll)
	defer t.Stop()
	last := ""
	for first := true; ; first = false {
		var ws windowStatus
		if err := rs.call(ctx, storeCall{Method: "status"}, &ws); err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case first:
				return err
			}
			return Exitf(ExitFailure, "%s ended", rs.owner)
		}
		if line := watchLine(ws.Sync); line != last {
			if first {
				fmt.Fprintf(env.Stderr, "courier: %s has the profile open; its sync:\n", rs.owner)
			}
			last = line
			fmt.Fprintln(env.Stdout, line)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchLine is the line `courier sync --watch` prints for st: the
// indicator's text, while offline why, and while in sync the cursor (so
// each batch of changes pulled shows).
func watchLine(st app.SyncStatus) string {
	switch {
	case st.State == app.SyncOffline && st.LastError != "":
		return st.String() + ": " + Message(errors.New(st.LastError))
	case st.State == app.SyncInSync:
		return fmt.Sprintf("%s (cursor %d)", st, st.Cursor)
	}
	return st.String()
}

// joinChoice is what a sign-in does with data of the profile that is not
// the account's: merge it (the default for work never synced) or keep it
// aside. Another account's data merges only when asked (merge).
type joinChoice struct {
	keepLocal, merge bool
}

// joinAfterLogin attaches the profile to the account just signed in to,
// merging local work (or keeping it aside), and says what it did. When the
// profile holds another account's data and the person chose nothing, it
// attaches nothing and says how to choose: that data must not end up in
// this account unasked. A store that cannot sync (a test's fake) is left
// alone.
func joinAfterLogin(ctx context.Context, w io.Writer, st app.Store, accountID string, choice joinChoice) error {
	if _, ok := st.(app.SyncStore); !ok {
		return nil
	}
	if !choice.keepLocal && !choice.merge {
		other, err := app.HoldsOtherAccountData(ctx, st, accountID)
		if err != nil {
			return err
		}
		if other {
			return Exitf(ExitFailure, "signed in, but this profile holds the data of another account, and nothing was merged: "+
				"sign in again with --keep-local to keep that data aside in a new profile folder, or with --merge to merge it into this account")
		}
	}
	res, err := app.JoinAccount(ctx, st, accountID, choice.keepLocal)
	if err != nil {
		return err
	}
	if res.Queued > 0 {
		fmt.Fprintf(w, "This profile's %d local %s will be merged into the account at the next sync.\n", res.Queued, plural(res.Queued, "item"))
	}
	if res.KeptAside != "" {
		if err := CopyProfileKey(ctx, st.Dir(), res.KeptAside); err != nil {
			return fmt.Errorf("the local data was kept aside in %s, but its secret values will not open: %w", res.KeptAside, err)
		}
		fmt.Fprintf(w, "This profile's local data was kept aside; open it with: courier --profile %s\n", res.KeptAside)
	}
	return nil
}
