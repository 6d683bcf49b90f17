package app

import (
	"context"
	"fmt"
	"time"
)

// SyncState is the sync indicator's state (DESIGN.md section 4).
type SyncState string

// The states of the sync indicator.
const (
	// SyncNotSignedIn: the profile has no signed-in account.
	SyncNotSignedIn SyncState = "not signed in"
	// SyncOff: the person turned sync off; local edits keep queuing.
	SyncOff SyncState = "sync off"
	// SyncConnecting: opening the connection.
	SyncConnecting SyncState = "connecting"
	// SyncSyncing: connected, pulling the stream or pushing the outbox.
	SyncSyncing SyncState = "syncing"
	// SyncInSync: caught up with the server and nothing pending.
	SyncInSync SyncState = "IN SYNC"
	// SyncOffline: the server cannot be reached; a retry is scheduled.
	SyncOffline SyncState = "offline"
	// SyncActionNeeded: sync stopped until the person does something
	// (sign in again, confirm the email, upgrade); Why says what.
	SyncActionNeeded SyncState = "action needed"
	// SyncFailed: the server refused something or sent something that
	// does not open (quota, a tampered value); Why says what, and a retry
	// is scheduled.
	SyncFailed SyncState = "error"
)

// WhySignInAgain is the Why of SyncActionNeeded when the server refused
// the session's token (revoked or expired).
const WhySignInAgain = "sign in again"

// SyncStatus is a snapshot of the sync engine, for the indicator and
// `courier status`.
type SyncStatus struct {
	State SyncState
	// Why is what to do (SyncActionNeeded) or what failed (SyncFailed).
	Why string
	// Pending is the number of local ops not yet acknowledged.
	Pending int
	// Cursor is the last server seq applied.
	Cursor uint64
	// RetryIn is the wait before the next attempt (SyncOffline,
	// SyncFailed) as of the snapshot.
	RetryIn time.Duration
	// LastSync is when the engine was last IN SYNC (zero for never).
	LastSync time.Time
	// LastError is the last failure seen, or "".
	LastError string
	// StartedOver is when this device last started over from the
	// server's stream, which had lost changes it held (the server was
	// restored from a backup); zero for never in this run.
	StartedOver time.Time
}

// SessionRefused reports whether sync stopped because the server refused
// this device's session: the person must sign in again.
func (s SyncStatus) SessionRefused() bool {
	return s.State == SyncActionNeeded && s.Why == WhySignInAgain
}

// String returns the indicator's text: "syncing (3 pending)",
// "offline (retry in 4s)", "action needed: sign in again", ...
func (s SyncStatus) String() string {
	switch s.State {
	case SyncSyncing:
		return fmt.Sprintf("syncing (%d pending)", s.Pending)
	case SyncOffline:
		return fmt.Sprintf("offline (retry in %s)", retryText(s.RetryIn))
	case SyncActionNeeded:
		return "action needed: " + s.Why
	case SyncFailed:
		if s.RetryIn <= 0 {
			return "error: " + s.Why
		}
		return fmt.Sprintf("error: %s (retry in %s)", s.Why, retryText(s.RetryIn))
	case "":
		return string(SyncNotSignedIn)
	}
	return string(s.State)
}

func retryText(d time.Duration) string {
	return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
}

// SyncSummary is what one SyncOnce did.
type SyncSummary struct {
	// Pulled counts the server changes applied, echoes of this device's
	// own ops aside.
	Pulled int
	// Pushed counts the local ops sent and acknowledged.
	Pushed int
	// Cursor is the last server seq applied at the end.
	Cursor uint64
	// StartedOver says the server's stream ended before this device's
	// cursor (it was restored from a backup): the device pulled it again
	// from the start and pushed what the server had lost.
	StartedOver bool
}

// SyncEngine is one account's sync connection loop (syncclient.Engine
// implements it).
type SyncEngine interface {
	// Run keeps the profile in sync until ctx ends: connect, pull, push,
	// reconnect with backoff. It returns ctx's error, or an error when
	// sync cannot go on without the person (the status then says what to
	// do).
	Run(ctx context.Context) error
	// Once connects, pulls until caught up, pushes every pending op and
	// waits for their acknowledgements, then disconnects.
	Once(ctx context.Context) (SyncSummary, error)
	// SyncNow ends a backoff wait: the next attempt starts at once.
	SyncNow()
	// Status returns the current status.
	Status() SyncStatus
	// Subscribe calls fn with the status after each change, on a
	// goroutine of the engine's, until cancel; a slow fn only misses
	// intermediate states.
	Subscribe(fn func(SyncStatus)) (cancel func())
}

// NewSyncEngine builds the engine of a session (cmd/courier wires
// syncclient.NewEngine in).
type NewSyncEngine func(Session) (SyncEngine, error)

// Syncer is what the UI and the CLI drive: sync in the background, its
// status, and the on/off switch.
type Syncer interface {
	// Start runs sync in the background when an account is signed in and
	// sync is on; otherwise the status says why not. Calling it again
	// restarts the engine (after a sign-in, say).
	Start(ctx context.Context) error
	// Stop ends the background sync and waits for it.
	Stop()
	// SyncNow ends a backoff wait.
	SyncNow()
	// Status returns the current status.
	Status() SyncStatus
	// Subscribe calls fn after each status change until cancel.
	Subscribe(fn func(SyncStatus)) (cancel func())
	// Enabled reports the on/off switch.
	Enabled(ctx context.Context) (bool, error)
	// SetEnabled turns sync on (starts the engine, which pushes what
	// queued) or off (stops it; local edits keep queuing).
	SetEnabled(ctx context.Context, on bool) error
}
