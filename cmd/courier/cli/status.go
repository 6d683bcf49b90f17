package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

// statusReport is what `courier status` tells, also as JSON.
type statusReport struct {
	Account  string `json:"account,omitempty"`
	Email    string `json:"email,omitempty"`
	SignedIn bool   `json:"signed_in"`
	// Why says why a remembered account is not signed in here (its
	// session is gone from this device's keyring, or the server ended it).
	Why      string     `json:"why,omitempty"`
	Server   string     `json:"server,omitempty"`
	Sync     string     `json:"sync"`
	Pending  int        `json:"pending"`
	Cursor   uint64     `json:"cursor"`
	LastSync *time.Time `json:"last_sync"`
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	var f serverFlags
	fs := env.FlagSet("status", "[--json] [flags]")
	f.addCA(fs)
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
	if err := parseNoArgs(env, fs, args); err != nil {
		return err
	}
	s, err := openSync(ctx, env, f)
	if err != nil {
		return err
	}
	defer s.close()
	r, err := report(ctx, s)
	if err != nil {
		return err
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

func report(ctx context.Context, s *syncSession) (statusReport, error) {
	var r statusReport
	a, err := s.acc.Current(ctx)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return r, err
	}
	r.Account, r.Email, r.SignedIn, r.Server = a.Username, a.Email, a.SignedIn, a.ServerURL
	if err := s.sync.Load(ctx); err != nil {
		return r, err
	}
	st := s.sync.Status()
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
	if st.State == app.SyncConnecting {
		r.Sync = "on" // no engine runs in this process
	}
	r.Pending, r.Cursor = st.Pending, st.Cursor
	if !st.LastSync.IsZero() {
		t := st.LastSync.UTC()
		r.LastSync = &t
	}
	return r, nil
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
	if r.Server != "" {
		fmt.Fprintf(w, "server:    %s\n", r.Server)
	}
	fmt.Fprintf(w, "sync:      %s\n", r.Sync)
	fmt.Fprintf(w, "pending:   %d %s\n", r.Pending, plural(r.Pending, "change"))
	fmt.Fprintf(w, "cursor:    %d\n", r.Cursor)
	last := "never"
	if r.LastSync != nil {
		last = r.LastSync.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "last sync: %s\n", last)
}
