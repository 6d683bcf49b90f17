package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncproto"
)

// statusReport is what `courier status` tells, also as JSON.
type statusReport struct {
	Account  string `json:"account,omitempty"`
	Email    string `json:"email,omitempty"`
	SignedIn bool   `json:"signed_in"`
	// Why says why a remembered account is not signed in here (its
	// session is gone from this device's keyring, or the server ended it).
	Why    string `json:"why,omitempty"`
	Server string `json:"server,omitempty"`
	// ServerError says why the server could not be asked whether the
	// session is still good (unreachable, say); "" when it answered or
	// was not asked (--offline, or not signed in).
	ServerError string `json:"server_error,omitempty"`
	Sync        string `json:"sync"`
	Pending     int    `json:"pending"`
	// Cursor is the seq of the last change of the server's stream that
	// the profile applied (0 before the first, and again when it joins
	// another account).
	Cursor uint64 `json:"cursor"`
	// LastSync is when the profile was last fully in sync with the
	// account (everything pulled, every change pushed and acknowledged);
	// nil for never. A sync that stopped part way does not count.
	LastSync *time.Time `json:"last_sync"`
	// LastError is why sync last failed, while that still holds: the
	// window's live error, or the last courier sync's.
	LastError string `json:"last_error,omitempty"`
	// Window is true when the status came from the Courier window that
	// has the profile open: its live sync.
	Window bool `json:"window,omitempty"`
	// LiveFrom names who told the live sync when another Courier has the
	// profile open: "the Courier window" or "courier sync --watch".
	LiveFrom string `json:"live_from,omitempty"`
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("status", "[--json] [flags]")
	f.addCA(fs)
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
	offline := fs.Bool("offline", false, "do not ask the server whether this device's session is still good")
	env.Details = statusDetails
	env.ExitStatus = "Exit status: 0 when the status was shown, also when the server could not be\nreached (the server line says why); 1 when the profile cannot be read; 2 for\na wrong command line.\n"
	if err := parseNoArgs(env, fs, args); err != nil {
		return err
	}
	var r statusReport
	env.onlyReads = true
	s, err := openSync(ctx, env, f)
	var np *noProfileError
	switch {
	case errors.As(err, &np) && np.by == "":
		// Courier never ran here: no account, nothing to sync, and
		// nothing is made to say so.
		fmt.Fprintf(env.Stderr, "courier: there is no Courier profile in %s yet\n", np.dir)
		fill(&r, app.Account{}, app.SyncStatus{State: app.SyncNotSignedIn})
	case errors.Is(err, store.ErrProfileLocked):
		// The window has the profile: ask it, when it listens.
		wr, werr := windowReport(ctx, env)
		if windowSilent(werr) {
			return err // the window's words: it has the profile
		}
		if werr != nil {
			return werr
		}
		r = wr
	case err != nil:
		return err
	default:
		defer s.close()
		if r, err = report(ctx, s, !*offline); err != nil {
			return err
		}
	}
	if *asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	}
	printReport(env, r)
	return nil
}

const statusDetails = `Signed in, it asks the server (for up to 5 s) whether this device's
session is still good, as sync would: a session revoked from another
device, or ended by a password change, shows as not signed in. When the
server cannot be reached, the server line says why and the rest is what
this device knows. --offline asks nothing.

The cursor is how far this profile has read the account's stream of
changes. The last full sync is when the profile was last fully in sync
with the account: everything pulled, every change pushed and acknowledged
(a sync that stopped part way, at the account's quota say, does not count;
the pending line tells what is left). Both start over when the profile
joins another account. When the last courier sync failed and none has
succeeded since, the last error line says why.

While the Courier window or courier sync --watch has the profile open,
status asks it instead, and shows its live sync.
`

// statusCheckTimeout bounds the question status asks the server (a
// variable for the tests).
var statusCheckTimeout = 5 * time.Second

func report(ctx context.Context, s *syncSession, check bool) (statusReport, error) {
	var r statusReport
	a, err := s.acc.Current(ctx)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return r, err
	}
	refused := false
	if check && a.SignedIn && a.SessionEnded.IsZero() {
		r.ServerError, refused = checkSession(ctx, s)
		if a, err = s.acc.Current(ctx); err != nil { // the check may have ended the session
			return r, err
		}
	}
	if err := s.sync.Load(ctx); err != nil {
		return r, err
	}
	st := s.sync.Status()
	if refused && a.SessionEnded.IsZero() {
		// The profile could not remember the refusal (it was opened
		// read-only): tell it as if it had.
		a.SessionEnded = time.Now().UTC()
		st.State, st.Why, st.LastError = app.SyncActionNeeded, app.WhySignInAgain, app.ErrSessionEnded.Error()
	}
	fill(&r, a, st)
	if st.State == app.SyncConnecting {
		r.Sync = "on" // no engine runs in this process
	}
	return r, nil
}

// windowReport asks the Courier window (or courier sync --watch) that has
// the profile open for its account and live sync status. It fails with
// errNoWindow when none listens.
func windowReport(ctx context.Context, env *Env) (statusReport, error) {
	rs, err := env.dialWindow(ctx)
	if err != nil {
		return statusReport{}, err
	}
	defer rs.Close()
	var ws windowStatus
	if err := rs.call(ctx, storeCall{Method: "status"}, &ws); err != nil {
		return statusReport{}, fmt.Errorf("ask %s for its status: %w", rs.owner, err)
	}
	r := statusReport{Window: rs.owner == ownerWindow, LiveFrom: rs.owner}
	fill(&r, ws.Account, ws.Sync)
	return r, nil
}

// fill sets r from the remembered account a and the sync status st.
func fill(r *statusReport, a app.Account, st app.SyncStatus) {
	r.Account, r.Email, r.SignedIn, r.Server = a.Username, a.Email, a.SignedIn, a.ServerURL
	switch {
	case r.SignedIn && !a.SessionEnded.IsZero():
		r.SignedIn = false
		r.Why = Message(app.ErrSessionEnded)
	case r.SignedIn && st.State == app.SyncNotSignedIn:
		// The profile remembers a sign-in whose session this device cannot
		// read any more (a keyring reset, or none reachable at sign-in).
		r.SignedIn = false
		r.Why = Message(errors.New(st.LastError))
	}
	r.Sync = st.String()
	r.Pending, r.Cursor = st.Pending, st.Cursor
	switch st.State {
	case app.SyncNotSignedIn, app.SyncActionNeeded, app.SyncInSync, app.SyncOff:
		// Said above, or nothing to say.
	default:
		if st.LastError != "" {
			r.LastError = Message(errors.New(st.LastError))
		}
	}
	if !st.LastSync.IsZero() {
		t := st.LastSync.UTC()
		r.LastSync = &t
	}
}

// checkSession asks the server for the account's devices, which it
// answers only to a good session; a refusal is remembered (Accounts ends
// the session, when the profile may be written). It returns why the
// server could not be asked, or "", and whether it refused the session.
func checkSession(ctx context.Context, s *syncSession) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, statusCheckTimeout)
	defer cancel()
	_, err := s.acc.Devices(ctx)
	var api *syncproto.Error
	switch {
	case err == nil:
		return "", false
	case errors.As(err, &api) && api.Code == syncproto.CodeUnauthorized:
		return "", true
	case errors.Is(err, model.ErrUnauthorized): // no session to ask about
		return "", false
	}
	var he *httprun.Error // "cannot connect to HOST: ...", without the call's name
	if errors.As(err, &he) {
		return Message(he), false
	}
	return Message(err), false
}

func printReport(env *Env, r statusReport) {
	w := env.Stdout
	switch {
	case r.Account == "":
		fmt.Fprintln(w, "account:   none (courier signup, courier login)")
	case r.SignedIn:
		fmt.Fprintf(w, "account:   %s (%s), signed in\n", r.Account, r.Email)
	case r.Why != "":
		fmt.Fprintf(w, "account:   %s (%s), not signed in: %s\n", r.Account, r.Email, r.Why)
	default:
		fmt.Fprintf(w, "account:   %s (%s), signed out\n", r.Account, r.Email)
	}
	switch {
	case r.Server != "" && r.ServerError != "":
		fmt.Fprintf(w, "server:    %s (not reached: %s)\n", r.Server, r.ServerError)
	case r.Server != "":
		fmt.Fprintf(w, "server:    %s\n", r.Server)
	}
	if r.LiveFrom != "" {
		fmt.Fprintf(w, "sync:      %s (in %s)\n", r.Sync, r.LiveFrom)
	} else {
		fmt.Fprintf(w, "sync:      %s\n", r.Sync)
	}
	fmt.Fprintf(w, "pending:   %d %s\n", r.Pending, plural(r.Pending, "change"))
	fmt.Fprintf(w, "cursor:    %d\n", r.Cursor)
	last := "never"
	if r.LastSync != nil {
		last = r.LastSync.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "last full sync: %s\n", last)
	if r.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", r.LastError)
	}
}
