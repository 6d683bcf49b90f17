package syncserver_test

import (
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// TestIdleSessionsExpire: a session used within the idle limit stays (each
// use restarts the count); one left unused past it is refused and deleted.
func TestIdleSessionsExpire(t *testing.T) {
	e := newEnv(t)
	pw := newPassword("correct horse")
	e.signUpConfirmed("idle", "idle@example.com", pw)
	old, perr := e.signIn("idle", pw, "old laptop")
	mustOK(t, "sign in", perr)
	used, perr := e.signIn("idle", pw, "daily laptop")
	mustOK(t, "sign in", perr)
	account := func(token string) *syncproto.Error {
		_, perr := call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, token, nil)
		return perr
	}

	e.clock.Advance(syncserver.DefaultSessionIdle - time.Hour)
	mustOK(t, "the daily session just inside the limit", account(used.Token))
	e.clock.Advance(2 * time.Hour)
	mustOK(t, "the daily session, used an hour ago", account(used.Token))
	wantCode(t, "the session unused for longer than the limit", account(old.Token), syncproto.CodeUnauthorized)
	wantCode(t, "and it stays refused", account(old.Token), syncproto.CodeUnauthorized)

	list, perr := call[syncproto.SessionsResponse](e, "GET", syncproto.PathSessions, used.Token, nil)
	mustOK(t, "devices", perr)
	if len(list.Sessions) != 1 || list.Sessions[0].DeviceName != "daily laptop" {
		t.Fatalf("devices after the expiry: %+v, want only the daily laptop", list.Sessions)
	}
}
