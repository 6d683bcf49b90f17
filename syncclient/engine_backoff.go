package syncclient

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// backoff is capped exponential backoff with full jitter: the n-th wait is
// uniform in [0, min(max, min*2^n)). reset starts over after a success.
type backoff struct {
	min, max time.Duration
	n        int
	rand     func() float64
}

func (b *backoff) next() time.Duration {
	c := b.ceiling()
	if c < b.max {
		b.n++
	}
	return time.Duration(b.rand() * float64(c))
}

// ceiling is the current upper bound.
func (b *backoff) ceiling() time.Duration {
	c := b.min
	for i := 0; i < b.n && c < b.max; i++ {
		c *= 2
	}
	return min(c, b.max)
}

func (b *backoff) reset() { b.n = 0 }

// closedError is a connection the server ended with a close code (or
// refused at the handshake with the matching HTTP status).
type closedError struct {
	code syncproto.CloseCode
	msg  string              // the error frame's message or the close reason
	why  syncproto.ErrorCode // the error frame's code, if any
}

// Error says why in the server's words; the code, meant for programs,
// is logged (see Engine.Run), not told.
func (e *closedError) Error() string {
	if e.msg != "" {
		return "the server closed the sync connection: " + e.msg
	}
	switch e.code {
	case syncproto.CloseGoingAway:
		return "the server closed the sync connection: it is shutting down or restarting; try again shortly"
	case syncproto.CloseRateLimited:
		return "the server closed the sync connection: too many requests; try again later"
	}
	return "the server closed the sync connection"
}

// Unwrap returns the model vocabulary's counterpart of the code.
func (e *closedError) Unwrap() error { return e.code.Err() }

// errOpen marks a server value that does not open with the account key.
var errOpen = errors.New("a value from the server does not open with the account key (tampered, moved, or sealed with another key); nothing of that page was applied")

// verdict says what to do after a connection ended.
type verdict struct {
	state app.SyncState
	why   string
	delay time.Duration
	err   error // for Once and for Run's final return
}

// judge maps how a connection ended to the next state and wait (DESIGN.md
// section 4's close codes).
func (e *Engine) judge(err error) verdict {
	var ce *closedError
	if errors.As(err, &ce) {
		return e.judgeClose(ce)
	}
	switch {
	case errors.Is(err, errOpen), errors.Is(err, model.ErrInvalid), errors.Is(err, model.ErrTooLarge):
		e.back.n = 64 // a broken page or op does not mend quickly
		return verdict{state: app.SyncFailed, why: err.Error(), delay: e.back.next(), err: err}
	}
	return verdict{state: app.SyncOffline, delay: e.back.next(), err: fmt.Errorf("sync: %w: %w", err, model.ErrUnavailable)}
}

// quotaRefused reports whether err is the server's refusal of a push
// past the account's quota.
func quotaRefused(err error) bool {
	var ce *closedError
	return errors.As(err, &ce) && ce.code == syncproto.CloseTooLarge && ce.why == syncproto.CodeQuotaExceeded
}

// limitPushes halves the size of the pushes after the account's quota
// refused one (see conn.pushUnderQuota), from the smaller of the current
// limit and the ops the connection left unacknowledged, and reports
// whether it went down.
func (e *Engine) limitPushes() bool {
	cur := e.pushLimit
	if cur == 0 {
		cur = syncproto.MaxPushOps
	}
	cur = min(cur, max(e.unacked, 1))
	e.pushLimit = max(1, cur/2)
	return cur > 1
}

func (e *Engine) judgeClose(ce *closedError) verdict {
	switch ce.code {
	case syncproto.CloseUnauthorized:
		err := fmt.Errorf("sync: sign in again: %w", ce)
		if strings.Contains(ce.msg, "sign in again") { // the server's words say it already
			err = fmt.Errorf("sync: %w", ce)
		}
		return verdict{state: app.SyncActionNeeded, why: app.WhySignInAgain, err: err}
	case syncproto.CloseEmailUnconfirmed:
		return verdict{state: app.SyncActionNeeded, why: "confirm email", err: fmt.Errorf("sync: confirm the account's email first: %w", ce)}
	case syncproto.CloseUnsupportedVersion:
		return verdict{state: app.SyncActionNeeded, why: "upgrade", err: fmt.Errorf("sync: the server speaks a newer protocol; upgrade Courier: %w", ce)}
	case syncproto.CloseTooLarge, syncproto.CloseInvalidFrame:
		if quotaRefused(ce) && e.limitPushes() {
			// Smaller pushes may yet fit: try again soon.
			return verdict{state: app.SyncFailed, why: ce.msg, delay: time.Duration(e.back.rand() * float64(e.back.min)), err: fmt.Errorf("sync: %w", ce)}
		}
		e.back.n = 64
		why := ce.msg
		if why == "" {
			why = ce.Error()
		}
		return verdict{state: app.SyncFailed, why: why, delay: e.back.next(), err: fmt.Errorf("sync: %w", ce)}
	case syncproto.CloseGoingAway:
		// After a connection that got somewhere, reconnect at once,
		// spread over the first backoff step; a server that keeps going
		// away (its storage unavailable) is backed off from like any.
		return verdict{state: app.SyncOffline, delay: e.back.next(), err: fmt.Errorf("sync: %w", ce)}
	}
	return verdict{state: app.SyncOffline, delay: e.back.next(), err: fmt.Errorf("sync: %w", ce)}
}
