package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// Run runs every conformance test against stores made by newStore. Each
// call of newStore must return a fresh, empty store; Run closes it.
func Run(t *testing.T, newStore func(t *testing.T) syncserver.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s syncserver.Storage)
	}{
		{"CreateAndLookUpAccount", testCreateAndLookUp},
		{"CreateAccountRefusesTakenEmailThenUsername", testCreateConflicts},
		{"MissingAccountIsNotFound", testMissingAccount},
		{"SessionsListOldestFirstAndDelete", testSessions},
		{"DeleteSessionOfAnotherAccountIsNotFound", testDeleteOtherSession},
		{"TouchSessionUpdatesLastSeen", testTouch},
		{"SetSecretsKeepsOneSession", testSetSecrets},
		{"ConfirmEmailConsumesCode", testConfirmEmail},
		{"ExpiredCodeIsAbsent", testExpiredCode},
		{"PutCodeReplacesEarlierCode", testPutCodeReplaces},
		{"CodeFailedBurnsCodeAtMax", testCodeFailed},
		{"ResetSecretsIsSingleUseAndRevokesAll", testResetSecrets},
		{"ResetSecretsWithWrongHashChangesNothing", testResetWrongHash},
		{"DeleteAccountRemovesEverything", testDeleteAccount},
		{"SecretIsStable", testSecret},
		{"ConcurrentSignUpsOfOneEmailCreateOne", testConcurrentCreate},
	}
	tests = append(tests, linkTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tt.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func account(n int) syncserver.Account {
	return syncserver.Account{
		ID:        fmt.Sprintf("acct%02d", n),
		Username:  fmt.Sprintf("user%02d", n),
		Email:     fmt.Sprintf("user%02d@example.com", n),
		CreatedAt: t0,
		Secrets: syncserver.AccountSecrets{
			KDFSalt: bytes.Repeat([]byte{byte(n)}, 16), KDFParams: syncproto.DefaultKDFParams,
			AuthHash: hash(fmt.Sprint("auth", n)), WrappedAccountKey: bytes.Repeat([]byte{1}, 72),
			RecoveryWrappedKey: bytes.Repeat([]byte{2}, 72),
		},
	}
}

func mustCreate(t *testing.T, s syncserver.Storage, n int) syncserver.Account {
	t.Helper()
	a := account(n)
	if err := s.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount %d: %v", n, err)
	}
	return a
}

func session(a syncserver.Account, n int) syncserver.Session {
	return syncserver.Session{ID: fmt.Sprintf("%s-s%02d", a.ID, n), AccountID: a.ID, TokenHash: hash(fmt.Sprint(a.ID, "tok", n)),
		DeviceName: fmt.Sprint("device ", n), CreatedAt: t0.Add(time.Duration(n) * time.Minute), LastSeenAt: t0.Add(time.Duration(n) * time.Minute)}
}

func mustSession(t *testing.T, s syncserver.Storage, a syncserver.Account, n int) syncserver.Session {
	t.Helper()
	ss := session(a, n)
	if err := s.CreateSession(context.Background(), ss); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ss
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func sameAccount(t *testing.T, got, want syncserver.Account) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Email != want.Email ||
		got.EmailConfirmed != want.EmailConfirmed || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("account = %+v, want %+v", got, want)
	}
	g, w := got.Secrets, want.Secrets
	if !bytes.Equal(g.KDFSalt, w.KDFSalt) || g.KDFParams != w.KDFParams || !bytes.Equal(g.AuthHash, w.AuthHash) ||
		!bytes.Equal(g.WrappedAccountKey, w.WrappedAccountKey) || !bytes.Equal(g.RecoveryWrappedKey, w.RecoveryWrappedKey) {
		t.Fatalf("secrets = %+v, want %+v", g, w)
	}
}

func testCreateAndLookUp(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	for name, get := range map[string]func() (syncserver.Account, error){
		"by id":       func() (syncserver.Account, error) { return s.Account(ctx, a.ID) },
		"by email":    func() (syncserver.Account, error) { return s.AccountByEmail(ctx, a.Email) },
		"by username": func() (syncserver.Account, error) { return s.AccountByUsername(ctx, a.Username) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameAccount(t, got, a)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Accounts != 1 || st.Sessions != 0 {
		t.Fatalf("Stats = %+v, %v; want 1 account", st, err)
	}
}

func testCreateConflicts(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	sameEmail := account(2)
	sameEmail.Email = a.Email
	sameEmail.Username = a.Username
	wantErr(t, s.CreateAccount(ctx, sameEmail), syncserver.ErrEmailTaken, "same email and username")
	sameUser := account(3)
	sameUser.Username = a.Username
	wantErr(t, s.CreateAccount(ctx, sameUser), syncserver.ErrUsernameTaken, "same username")
	wantErr(t, s.CreateAccount(ctx, sameUser), model.ErrConflict, "same username")
	if _, err := s.AccountByEmail(ctx, sameUser.Email); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("refused account was stored: %v", err)
	}
}

func testMissingAccount(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	_, err := s.Account(ctx, "nope")
	wantErr(t, err, model.ErrNotFound, "Account")
	_, err = s.AccountByEmail(ctx, "nope@example.com")
	wantErr(t, err, model.ErrNotFound, "AccountByEmail")
	_, err = s.AccountByUsername(ctx, "nope")
	wantErr(t, err, model.ErrNotFound, "AccountByUsername")
	_, err = s.SessionByToken(ctx, hash("nope"))
	wantErr(t, err, model.ErrNotFound, "SessionByToken")
	wantErr(t, s.CreateSession(ctx, session(account(9), 1)), model.ErrNotFound, "CreateSession without account")
	wantErr(t, s.PutCode(ctx, syncserver.Code{Hash: hash("c"), AccountID: "nope", Purpose: syncserver.PurposeConfirmEmail, ExpiresAt: t0}), model.ErrNotFound, "PutCode without account")
	wantErr(t, s.DeleteAccount(ctx, "nope"), model.ErrNotFound, "DeleteAccount")
}

func testSessions(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1, s2, s3 := mustSession(t, s, a, 1), mustSession(t, s, a, 2), mustSession(t, s, a, 3)
	got, err := s.SessionByToken(ctx, s2.TokenHash)
	if err != nil || got.ID != s2.ID || got.AccountID != a.ID || got.DeviceName != s2.DeviceName || !got.CreatedAt.Equal(s2.CreatedAt) {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	list, err := s.Sessions(ctx, a.ID)
	if err != nil || len(list) != 3 || list[0].ID != s1.ID || list[2].ID != s3.ID {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	if err := s.DeleteSession(ctx, a.ID, s2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, s2.TokenHash)
	wantErr(t, err, model.ErrNotFound, "token of deleted session")
	wantErr(t, s.DeleteSession(ctx, a.ID, s2.ID), model.ErrNotFound, "second delete")
	if list, _ := s.Sessions(ctx, a.ID); len(list) != 2 {
		t.Fatalf("after delete %d sessions, want 2", len(list))
	}
	if st, _ := s.Stats(ctx); st.Sessions != 2 {
		t.Fatalf("Stats.Sessions = %d, want 2", st.Sessions)
	}
	empty, err := s.Sessions(ctx, "nobody")
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("Sessions of nobody = %#v, %v; want empty non-nil", empty, err)
	}
}

func testDeleteOtherSession(t *testing.T, s syncserver.Storage) {
	a, b := mustCreate(t, s, 1), mustCreate(t, s, 2)
	sb := mustSession(t, s, b, 1)
	wantErr(t, s.DeleteSession(context.Background(), a.ID, sb.ID), model.ErrNotFound, "delete b's session as a")
	if _, err := s.SessionByToken(context.Background(), sb.TokenHash); err != nil {
		t.Fatalf("b's session gone: %v", err)
	}
}

func testTouch(t *testing.T, s syncserver.Storage) {
	a := mustCreate(t, s, 1)
	ss := mustSession(t, s, a, 1)
	at := t0.Add(time.Hour)
	if err := s.TouchSession(context.Background(), ss.ID, at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.SessionByToken(context.Background(), ss.TokenHash)
	if !got.LastSeenAt.Equal(at) {
		t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, at)
	}
	wantErr(t, s.TouchSession(context.Background(), "nope", at), model.ErrNotFound, "touch missing")
}

func testSetSecrets(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	keep, gone := mustSession(t, s, a, 1), mustSession(t, s, a, 2)
	other := mustCreate(t, s, 2)
	otherSess := mustSession(t, s, other, 1)
	ns := account(5).Secrets
	ns.RecoveryWrappedKey = nil
	if err := s.SetSecrets(ctx, a.ID, ns, keep.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Account(ctx, a.ID)
	if !bytes.Equal(got.Secrets.AuthHash, ns.AuthHash) || !bytes.Equal(got.Secrets.KDFSalt, ns.KDFSalt) {
		t.Fatal("secrets not replaced")
	}
	if !bytes.Equal(got.Secrets.RecoveryWrappedKey, a.Secrets.RecoveryWrappedKey) {
		t.Fatal("nil RecoveryWrappedKey did not keep the old one")
	}
	if _, err := s.SessionByToken(ctx, keep.TokenHash); err != nil {
		t.Fatalf("kept session gone: %v", err)
	}
	_, err := s.SessionByToken(ctx, gone.TokenHash)
	wantErr(t, err, model.ErrNotFound, "other session")
	if _, err := s.SessionByToken(ctx, otherSess.TokenHash); err != nil {
		t.Fatalf("another account's session gone: %v", err)
	}
}

func putCode(t *testing.T, s syncserver.Storage, a syncserver.Account, p syncserver.CodePurpose, secret string, ttl time.Duration) []byte {
	t.Helper()
	h := hash(secret)
	if err := s.PutCode(context.Background(), syncserver.Code{Hash: h, AccountID: a.ID, Purpose: p, ExpiresAt: t0.Add(ttl)}); err != nil {
		t.Fatalf("PutCode: %v", err)
	}
	return h
}

func testConfirmEmail(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	h := putCode(t, s, a, syncserver.PurposeConfirmEmail, "tok", time.Hour)
	got, err := s.ConfirmEmail(ctx, h, t0)
	if err != nil || got.ID != a.ID || !got.EmailConfirmed {
		t.Fatalf("ConfirmEmail = %+v, %v", got, err)
	}
	if stored, _ := s.Account(ctx, a.ID); !stored.EmailConfirmed {
		t.Fatal("confirmation not stored")
	}
	_, err = s.ConfirmEmail(ctx, h, t0)
	wantErr(t, err, model.ErrNotFound, "reused confirm code")
	rh := putCode(t, s, a, syncserver.PurposeResetPassword, "reset", time.Hour)
	_, err = s.ConfirmEmail(ctx, rh, t0)
	wantErr(t, err, model.ErrNotFound, "reset code used to confirm")
}

func testExpiredCode(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	h := putCode(t, s, a, syncserver.PurposeConfirmEmail, "tok", time.Hour)
	_, err := s.ConfirmEmail(ctx, h, t0.Add(time.Hour))
	wantErr(t, err, model.ErrNotFound, "confirm at expiry")
	putCode(t, s, a, syncserver.PurposeResetPassword, "reset", time.Minute)
	_, err = s.CodeFor(ctx, a.ID, syncserver.PurposeResetPassword, t0.Add(2*time.Minute))
	wantErr(t, err, model.ErrNotFound, "CodeFor after expiry")
	if c, err := s.CodeFor(ctx, a.ID, syncserver.PurposeResetPassword, t0); err != nil || !bytes.Equal(c.Hash, hash("reset")) {
		t.Fatalf("CodeFor before expiry = %+v, %v", c, err)
	}
}

func testPutCodeReplaces(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	old := putCode(t, s, a, syncserver.PurposeConfirmEmail, "old", time.Hour)
	putCode(t, s, a, syncserver.PurposeConfirmEmail, "new", time.Hour)
	_, err := s.ConfirmEmail(ctx, old, t0)
	wantErr(t, err, model.ErrNotFound, "replaced code")
	if _, err := s.ConfirmEmail(ctx, hash("new"), t0); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

func testCodeFailed(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	putCode(t, s, a, syncserver.PurposeResetPassword, "reset", time.Hour)
	for i := 1; i < 3; i++ {
		if err := s.CodeFailed(ctx, a.ID, syncserver.PurposeResetPassword, 3); err != nil {
			t.Fatal(err)
		}
		c, err := s.CodeFor(ctx, a.ID, syncserver.PurposeResetPassword, t0)
		if err != nil || c.Failures != i {
			t.Fatalf("after %d failures: %+v, %v", i, c, err)
		}
	}
	if err := s.CodeFailed(ctx, a.ID, syncserver.PurposeResetPassword, 3); err != nil {
		t.Fatal(err)
	}
	_, err := s.CodeFor(ctx, a.ID, syncserver.PurposeResetPassword, t0)
	wantErr(t, err, model.ErrNotFound, "code after max failures")
}

func testResetSecrets(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	s1, s2 := mustSession(t, s, a, 1), mustSession(t, s, a, 2)
	h := putCode(t, s, a, syncserver.PurposeResetPassword, "reset", 30*time.Minute)
	ns := account(7).Secrets
	if err := s.ResetSecrets(ctx, a.ID, h, t0.Add(time.Minute), ns, true); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Account(ctx, a.ID)
	if !bytes.Equal(got.Secrets.AuthHash, ns.AuthHash) || !bytes.Equal(got.Secrets.RecoveryWrappedKey, ns.RecoveryWrappedKey) {
		t.Fatal("secrets not reset")
	}
	for _, ss := range []syncserver.Session{s1, s2} {
		_, err := s.SessionByToken(ctx, ss.TokenHash)
		wantErr(t, err, model.ErrNotFound, "session after reset")
	}
	wantErr(t, s.ResetSecrets(ctx, a.ID, h, t0.Add(time.Minute), account(8).Secrets, false), model.ErrNotFound, "reused reset code")
	if got, _ := s.Account(ctx, a.ID); !bytes.Equal(got.Secrets.AuthHash, ns.AuthHash) {
		t.Fatal("reused code changed the secrets")
	}
}

func testResetWrongHash(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	sess := mustSession(t, s, a, 1)
	h := putCode(t, s, a, syncserver.PurposeResetPassword, "reset", 30*time.Minute)
	wantErr(t, s.ResetSecrets(ctx, a.ID, hash("wrong"), t0, account(7).Secrets, false), model.ErrNotFound, "wrong hash")
	wantErr(t, s.ResetSecrets(ctx, a.ID, h, t0.Add(31*time.Minute), account(7).Secrets, false), model.ErrNotFound, "expired")
	got, _ := s.Account(ctx, a.ID)
	sameAccount(t, got, a)
	if _, err := s.SessionByToken(ctx, sess.TokenHash); err != nil {
		t.Fatalf("session revoked by a failed reset: %v", err)
	}
	if _, err := s.CodeFor(ctx, a.ID, syncserver.PurposeResetPassword, t0); err != nil {
		t.Fatalf("code consumed by a failed reset: %v", err)
	}
}

func testDeleteAccount(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a := mustCreate(t, s, 1)
	sess := mustSession(t, s, a, 1)
	h := putCode(t, s, a, syncserver.PurposeConfirmEmail, "tok", time.Hour)
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.AccountByEmail(ctx, a.Email)
	wantErr(t, err, model.ErrNotFound, "email after delete")
	_, err = s.SessionByToken(ctx, sess.TokenHash)
	wantErr(t, err, model.ErrNotFound, "session after delete")
	_, err = s.ConfirmEmail(ctx, h, t0)
	wantErr(t, err, model.ErrNotFound, "code after delete")
	if st, _ := s.Stats(ctx); st.Accounts != 0 || st.Sessions != 0 {
		t.Fatalf("Stats after delete = %+v", st)
	}
	mustCreate(t, s, 1) // the email and username are free again
}

func testSecret(t *testing.T, s syncserver.Storage) {
	ctx := context.Background()
	a, err := s.LoadOrCreateSecret(ctx, "prelogin", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("secret = %x, %v", a, err)
	}
	b, _ := s.LoadOrCreateSecret(ctx, "prelogin", 32)
	c, _ := s.LoadOrCreateSecret(ctx, "other", 32)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("secret not stable per name")
	}
}

func testConcurrentCreate(t *testing.T, s syncserver.Storage) {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := account(10 + i)
			a.Email = "same@example.com"
			errs[i] = s.CreateAccount(context.Background(), a)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, syncserver.ErrEmailTaken) {
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creations succeeded, want 1", ok)
	}
}
