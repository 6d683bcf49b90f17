package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// acctKDF is the cheapest KDF vault accepts: tests derive in ~0.1 s.
var acctKDF = vault.MinKDFParams

const (
	acctEmail = "ann@example.com"
	acctUser  = "ann"
	acctPass  = "correct horse battery"
	acctURL   = "https://sync.example.com"
)

// signUp creates and confirms ann's account through e and returns the
// recovery key.
func (e *acctEnv) signUp(t *testing.T) string {
	t.Helper()
	rk, err := e.acc.SignUp(context.Background(), SignUpInput{ServerURL: acctURL, Email: acctEmail, Username: acctUser, Password: acctPass})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	e.srv.confirm(acctEmail)
	return rk
}

func (e *acctEnv) signIn(t *testing.T, identifier, password string) Account {
	t.Helper()
	a, err := e.acc.SignIn(context.Background(), SignInInput{ServerURL: acctURL, Identifier: identifier, Password: password})
	if err != nil {
		t.Fatalf("SignIn(%s): %v", identifier, err)
	}
	return a
}

// storedKey returns the account key this device keeps for accountID.
func (e *acctEnv) storedKey(t *testing.T, accountID string) vault.AccountKey {
	t.Helper()
	b, err := e.secrets.Get(context.Background(), keyKey(accountID))
	if err != nil {
		t.Fatalf("account key not in Secrets: %v", err)
	}
	k, err := vault.AccountKeyFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// serverKey opens the server's password-wrapped copy of the account key.
func serverKey(t *testing.T, srv *acctServer, password string) vault.AccountKey {
	t.Helper()
	a := srv.account(acctEmail)
	mk, err := vault.DeriveMaster(context.Background(), password, a.creds.KDFSalt, vaultKDF(a.creds.KDFParams))
	if err != nil {
		t.Fatal(err)
	}
	k, err := vault.Unwrap(mk.WrapKey(), a.creds.WrappedAccountKey)
	if err != nil {
		t.Fatalf("the server's wrapped key does not open with %q: %v", password, err)
	}
	return k
}

func TestSignUpWrapsOneAccountKeyTwiceAndRemembersTheAccount(t *testing.T) {
	e := newAcctEnv(t, newAcctServer())
	rkText := e.signUp(t)
	rk, err := vault.ParseRecoveryKey(rkText)
	if err != nil {
		t.Fatalf("the recovery key %q does not parse: %v", rkText, err)
	}
	a := e.srv.account(acctEmail)
	byRecovery, err := vault.Unwrap(rk.WrapKey(), a.recoveryWrapped)
	if err != nil {
		t.Fatalf("recovery copy does not open: %v", err)
	}
	if byPassword := serverKey(t, e.srv, acctPass); byPassword != byRecovery {
		t.Fatal("the password and recovery copies wrap different keys")
	}
	if a.creds.KDFParams != protoKDF(acctKDF) {
		t.Errorf("sign-up sent params %+v, want %+v", a.creds.KDFParams, protoKDF(acctKDF))
	}
	cur, err := e.acc.Current(context.Background())
	if err != nil || cur != (Account{ServerURL: acctURL, Username: acctUser, Email: acctEmail}) {
		t.Fatalf("Current = %+v, %v", cur, err)
	}
	if got := e.acc.ServerURL(context.Background(), ""); got != acctURL {
		t.Errorf("ServerURL after sign-up = %q, want the remembered %q", got, acctURL)
	}
	if e.store.holds(byRecovery[:]) || e.store.holds(rk[:]) || len(e.secrets.keys()) != 0 {
		t.Fatal("sign-up kept key material on the device")
	}
}

func TestSignUpRefusesBadInputWithoutCallingTheServer(t *testing.T) {
	tests := []struct {
		name string
		in   SignUpInput
	}{
		{"a short password is refused", SignUpInput{Email: acctEmail, Username: acctUser, Password: "short"}},
		{"a bad email is refused", SignUpInput{Email: "ann", Username: acctUser, Password: acctPass}},
		{"a bad username is refused", SignUpInput{Email: acctEmail, Username: "a b", Password: acctPass}},
		{"an http server is refused", SignUpInput{ServerURL: "http://sync.example.com", Email: acctEmail, Username: acctUser, Password: acctPass}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAcctEnv(t, newAcctServer())
			if _, err := e.acc.SignUp(context.Background(), tt.in); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if n := e.srv.called("signup"); n != 0 {
				t.Fatalf("the server was called %d times", n)
			}
		})
	}
}

func TestSignInKeepsTokenAndKeyInSecretsOnly(t *testing.T) {
	for _, identifier := range []string{acctUser, "ANN@example.com"} {
		t.Run("by "+identifier, func(t *testing.T) {
			e := newAcctEnv(t, newAcctServer())
			e.signUp(t)
			a := e.signIn(t, identifier, acctPass)
			if !a.SignedIn || a.AccountID == "" || a.Username != acctUser || a.SessionID == "" || a.ServerURL != acctURL {
				t.Fatalf("SignIn = %+v", a)
			}
			key := e.storedKey(t, a.AccountID)
			if key != serverKey(t, e.srv, acctPass) {
				t.Fatal("the stored account key is not the account's")
			}
			tok, err := e.secrets.Get(context.Background(), tokenKey(a.AccountID))
			if err != nil || len(tok) == 0 {
				t.Fatalf("token not in Secrets: %v", err)
			}
			if e.store.holds(key[:]) || e.store.holds(tok) {
				t.Fatal("the store holds the account key or the token")
			}
			s, err := e.acc.Session(context.Background())
			if err != nil || s.Key != key || s.Token != string(tok) {
				t.Fatalf("Session = %v, %v", s.Account, err)
			}
			if !e.acc.SecretsPersistent() {
				t.Error("SecretsPersistent = false for persistent Secrets")
			}
		})
	}
}

func TestSignInFailures(t *testing.T) {
	weak := syncproto.KDFParams{T: 1, M: 64 * 1024, P: 4}
	lowMem := syncproto.KDFParams{T: 3, M: 8 * 1024, P: 4}
	tests := []struct {
		name       string
		confirm    bool
		preParams  *syncproto.KDFParams
		password   string
		want       error
		wantSignIn int
	}{
		{"a downgrade to one pass is refused before sign-in", true, &weak, acctPass, model.ErrInvalid, 0},
		{"a downgrade to 8 MiB is refused before sign-in", true, &lowMem, acctPass, model.ErrInvalid, 0},
		{"a wrong password is unauthorized", true, nil, "wrong password!", model.ErrUnauthorized, 1},
		{"an unconfirmed email says so", false, nil, acctPass, syncproto.ErrEmailUnconfirmed, 1},
		{"an empty password is invalid", true, nil, "", model.ErrInvalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAcctServer()
			e := newAcctEnv(t, srv)
			if _, err := e.acc.SignUp(context.Background(), SignUpInput{ServerURL: acctURL, Email: acctEmail, Username: acctUser, Password: acctPass}); err != nil {
				t.Fatal(err)
			}
			if tt.confirm {
				srv.confirm(acctEmail)
			}
			srv.preParams = tt.preParams
			_, err := e.acc.SignIn(context.Background(), SignInInput{ServerURL: acctURL, Identifier: acctUser, Password: tt.password})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if n := srv.called("signin"); n != tt.wantSignIn {
				t.Errorf("sign-in calls = %d, want %d", n, tt.wantSignIn)
			}
			if k := e.secrets.keys(); len(k) != 0 {
				t.Errorf("Secrets hold %v after a failed sign-in", k)
			}
		})
	}
}

func TestSignInToAnotherAccountWhileSignedInConflicts(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	e.signIn(t, acctUser, acctPass)
	_, err := e.acc.SignIn(context.Background(), SignInInput{ServerURL: acctURL, Identifier: "bob", Password: acctPass})
	if !errors.Is(err, model.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	again := e.signIn(t, acctEmail, acctPass)
	if n := srv.sessionCount(again.AccountID); n != 1 {
		t.Fatalf("signing in again left %d sessions, want the old one revoked", n)
	}
}

func TestSignOutRevokesAndForgets(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	a := e.signIn(t, acctUser, acctPass)
	res, err := e.acc.SignOut(context.Background())
	if err != nil || res.ServerErr != nil {
		t.Fatalf("SignOut = %+v, %v", res, err)
	}
	if n := srv.sessionCount(a.AccountID); n != 0 {
		t.Errorf("%d sessions left on the server", n)
	}
	if k := e.secrets.keys(); len(k) != 0 {
		t.Errorf("Secrets still hold %v", k)
	}
	cur, _ := e.acc.Current(context.Background())
	if cur.SignedIn || cur.Username != acctUser {
		t.Errorf("Current = %+v, want ann remembered signed out", cur)
	}
	if _, err := e.acc.SignOut(context.Background()); !errors.Is(err, model.ErrUnauthorized) {
		t.Errorf("second SignOut err = %v, want ErrUnauthorized (not signed in)", err)
	}
}

func TestSignOutWithTheServerDownStillForgetsAndSaysSo(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	e.signIn(t, acctUser, acctPass)
	before, err := e.acc.Current(context.Background())
	if err != nil || before.SessionID == "" {
		t.Fatalf("Current = %+v, %v", before, err)
	}
	srv.down = true
	res, err := e.acc.SignOut(context.Background())
	if err != nil || !errors.Is(res.ServerErr, model.ErrUnavailable) {
		t.Fatalf("SignOut = %+v, %v; want local success and the server's error", res, err)
	}
	if res.SessionID != before.SessionID {
		t.Errorf("SignOut names session %q, want the one left open, %q", res.SessionID, before.SessionID)
	}
	if k := e.secrets.keys(); len(k) != 0 {
		t.Errorf("Secrets still hold %v", k)
	}
}

func TestResetWithRecoveryKeyRewrapsTheSameKey(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	rk := e.signUp(t)
	before := serverKey(t, srv, acctPass)
	ctx := context.Background()
	if err := e.acc.ForgotPassword(ctx, acctURL, acctEmail); err != nil {
		t.Fatal(err)
	}
	in := ResetInput{ServerURL: acctURL, Email: acctEmail, Code: "7kq2m-xd93f", NewPassword: "a new password", RecoveryKey: strings.ToLower(rk)}

	wrong := in
	wrong.RecoveryKey = vault.NewRecoveryKey().String()
	if _, err := e.acc.ResetPassword(ctx, wrong); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("reset with a wrong recovery key: err = %v, want ErrUnauthorized", err)
	}
	if srv.called("reset") != 0 {
		t.Fatal("a wrong recovery key used up the code")
	}
	res, err := e.acc.ResetPassword(ctx, in)
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if res.RecoveryKey != "" {
		t.Error("a reset with the recovery key made a new one")
	}
	if after := serverKey(t, srv, "a new password"); after != before {
		t.Fatal("the reset changed the account key")
	}
	a := e.signIn(t, acctUser, "a new password")
	if e.storedKey(t, a.AccountID) != before {
		t.Fatal("signing in after the reset gave another key")
	}
	if _, err := e.acc.ResetPassword(ctx, in); !errors.Is(err, syncproto.ErrInvalidCode) {
		t.Fatalf("reusing the code: err = %v, want ErrInvalidCode", err)
	}
}

func TestResetWithTheDeviceKeySignsOut(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	a := e.signIn(t, acctUser, acctPass)
	before := e.storedKey(t, a.AccountID)
	ctx := context.Background()
	if err := e.acc.ForgotPassword(ctx, "", acctEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := e.acc.ResetPassword(ctx, ResetInput{Email: acctEmail, Code: "7KQ2MXD93F", NewPassword: "another password"}); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if cur, _ := e.acc.Current(ctx); cur.SignedIn || len(e.secrets.keys()) != 0 {
		t.Fatalf("after the reset: %+v, secrets %v; want signed out", cur, e.secrets.keys())
	}
	if serverKey(t, srv, "another password") != before {
		t.Fatal("the reset changed the account key")
	}
}

func TestResetWithoutAnyKeyIsRefusedAndEraseStartsAfresh(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	oldRK := e.signUp(t)
	before := serverKey(t, srv, acctPass)
	ctx := context.Background()
	if err := e.acc.ForgotPassword(ctx, acctURL, acctEmail); err != nil {
		t.Fatal(err)
	}
	// A mistyped code is told as such, before anything about keys.
	in := ResetInput{ServerURL: acctURL, Email: acctEmail, Code: "7KQ2MXD93G", NewPassword: "fresh password"}
	if _, err := e.acc.ResetPassword(ctx, in); !isAPICode(err, syncproto.CodeInvalidCode) || strings.Contains(err.Error(), "recovery key") {
		t.Fatalf("reset with a wrong code: err = %v, want the code refused", err)
	}
	in.Code = "7KQ2MXD93F"
	if _, err := e.acc.ResetPassword(ctx, in); !errors.Is(err, model.ErrNotFound) || !strings.Contains(err.Error(), "recovery key") {
		t.Fatalf("reset without a key: err = %v, want ErrNotFound naming the recovery key", err)
	}
	in.Erase = true
	res, err := e.acc.ResetPassword(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := vault.ParseRecoveryKey(res.RecoveryKey)
	if err != nil || res.RecoveryKey == oldRK {
		t.Fatalf("new recovery key %q: %v", res.RecoveryKey, err)
	}
	after := serverKey(t, srv, "fresh password")
	if after == before {
		t.Fatal("erase kept the old account key")
	}
	if k, err := vault.Unwrap(rk.WrapKey(), srv.account(acctEmail).recoveryWrapped); err != nil || k != after {
		t.Fatalf("the new recovery key does not open the new account key: %v", err)
	}
	if srv.account(acctEmail).erased != 1 {
		t.Fatal("the server was not asked to erase")
	}
}

func TestChangePasswordRewrapsAndRevokesOtherSessions(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	other := newAcctEnv(t, srv)
	e.signUp(t)
	a := e.signIn(t, acctUser, acctPass)
	other.signIn(t, acctUser, acctPass)
	before := e.storedKey(t, a.AccountID)
	ctx := context.Background()

	if err := e.acc.ChangePassword(ctx, "not the password", "new password 1"); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("wrong current password: err = %v, want ErrUnauthorized", err)
	}
	if err := e.acc.ChangePassword(ctx, acctPass, "short"); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("short new password: err = %v, want ErrInvalid", err)
	}
	if err := e.acc.ChangePassword(ctx, acctPass, "new password 1"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if serverKey(t, srv, "new password 1") != before {
		t.Fatal("the change altered the account key")
	}
	if n := srv.sessionCount(a.AccountID); n != 1 {
		t.Fatalf("%d sessions after the change, want only this one", n)
	}
	if _, err := other.acc.Devices(ctx); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("the other device still works: %v", err)
	}
	if _, err := e.acc.Devices(ctx); err != nil {
		t.Fatalf("this device was signed out: %v", err)
	}
}

func TestDevicesListAndRevoke(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	other := newAcctEnv(t, srv)
	e.signUp(t)
	a := e.signIn(t, acctUser, acctPass)
	b := other.signIn(t, acctUser, acctPass)
	ctx := context.Background()
	ds, err := e.acc.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
		if d.Current != (d.ID == a.SessionID) || d.Name != "test laptop" {
			t.Errorf("device %+v", d)
		}
	}
	if !slices.Equal(ids, []string{a.SessionID, b.SessionID}) {
		t.Fatalf("devices %v, want %s and %s", ids, a.SessionID, b.SessionID)
	}
	if err := e.acc.RevokeDevice(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if err := e.acc.RevokeDevice(ctx, b.SessionID); err != nil {
		t.Fatal(err)
	}
	if err := e.acc.RevokeDevice(ctx, a.SessionID); err != nil {
		t.Fatal(err)
	}
	if cur, _ := e.acc.Current(ctx); cur.SignedIn || srv.sessionCount(a.AccountID) != 0 {
		t.Fatalf("revoking this device did not sign out: %+v", cur)
	}
}

func TestASessionTheServerEndedSaysSignInAgainUntilASignIn(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	other := newAcctEnv(t, srv)
	e.signUp(t)
	e.signIn(t, acctUser, acctPass)
	b := other.signIn(t, acctUser, acctPass)
	ctx := context.Background()
	stale := Account{AccountID: b.AccountID, SessionID: "an older session", SignedIn: true}
	if err := other.acc.SessionEnded(ctx, Session{Account: stale}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := other.acc.Current(ctx); !cur.SessionEnded.IsZero() {
		t.Fatal("the refusal of an older session ended the current one")
	}
	if err := e.acc.RevokeDevice(ctx, b.SessionID); err != nil {
		t.Fatal(err)
	}
	calls := srv.called("sessions")
	if _, err := other.acc.Devices(ctx); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("devices with a revoked session: %v", err)
	}
	cur, _ := other.acc.Current(ctx)
	if !cur.SignedIn || cur.SessionEnded.IsZero() {
		t.Fatalf("after the refusal the profile remembers %+v, want the sign-in with its end", cur)
	}
	for name, call := range map[string]func() error{
		"Session": func() error { _, err := other.acc.Session(ctx); return err },
		"Devices": func() error { _, err := other.acc.Devices(ctx); return err },
	} {
		if err := call(); !errors.Is(err, ErrSessionEnded) || !errors.Is(err, model.ErrUnauthorized) {
			t.Errorf("%s after the end = %v, want ErrSessionEnded", name, err)
		}
	}
	if n := srv.called("sessions"); n != calls+1 {
		t.Errorf("%d calls to the server after the end was known, want none", n-calls-1)
	}
	again := other.signIn(t, acctUser, acctPass)
	if cur, _ := other.acc.Current(ctx); !cur.SessionEnded.IsZero() || cur.SessionID != again.SessionID {
		t.Fatalf("signing in again left %+v", cur)
	}
	if _, err := other.acc.Devices(ctx); err != nil {
		t.Fatalf("devices after signing in again: %v", err)
	}
}

func TestSignInToAnotherAccountReplacesASessionTheServerEnded(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	first := e.signIn(t, acctUser, acctPass)
	ctx := context.Background()
	if _, err := e.acc.SignUp(ctx, SignUpInput{ServerURL: acctURL, Email: "bob@example.com", Username: "bob", Password: acctPass}); err != nil {
		t.Fatal(err)
	}
	srv.confirm("bob@example.com")
	if err := e.acc.SessionEnded(ctx, Session{Account: first}); err != nil {
		t.Fatal(err)
	}
	bob := e.signIn(t, "bob", acctPass)
	for _, k := range e.secrets.keys() {
		if strings.Contains(k, first.AccountID) {
			t.Errorf("the replaced account's secret %s stayed", k)
		}
	}
	if s, err := e.acc.Session(ctx); err != nil || s.Account.AccountID != bob.AccountID {
		t.Fatalf("Session after the sign-in = %+v, %v; want bob's", s.Account, err)
	}
}

func TestDeleteAccountChecksThePasswordAndForgets(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	e.signUp(t)
	e.signIn(t, acctUser, acctPass)
	ctx := context.Background()
	if err := e.acc.DeleteAccount(ctx, "wrong password"); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("wrong password: err = %v", err)
	}
	if err := e.acc.DeleteAccount(ctx, acctPass); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.acc.Current(ctx)
	if cur != (Account{ServerURL: acctURL}) || len(e.secrets.keys()) != 0 {
		t.Fatalf("after deletion: %+v, secrets %v", cur, e.secrets.keys())
	}
}

func TestAccountsReportsSecretsKeptInMemory(t *testing.T) {
	e := newAcctEnv(t, newAcctServer())
	e.secrets.persistent = false
	if e.acc.SecretsPersistent() {
		t.Fatal("SecretsPersistent = true for Secrets in memory")
	}
}

func TestNewAccountsRefusesWeakParamsAndMissingPorts(t *testing.T) {
	srv := newAcctServer()
	for name, opts := range map[string]AccountsOptions{
		"weak params are refused": {Dial: srv.dial, Secrets: newAcctSecrets(), KDFParams: vault.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}},
		"no Dial is refused":      {Secrets: newAcctSecrets()},
		"no Secrets is refused":   {Dial: srv.dial},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewAccounts(newAcctStore(), opts); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestConfirmEmailTakesTheLinkOrTheToken(t *testing.T) {
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	if _, err := e.acc.SignUp(context.Background(), SignUpInput{ServerURL: acctURL, Email: acctEmail, Username: acctUser, Password: acctPass}); err != nil {
		t.Fatal(err)
	}
	id := srv.account(acctEmail).id
	link := acctURL + syncproto.PathConfirmEmail + "?" + syncproto.ConfirmTokenParam + "=" + id
	if err := e.acc.ConfirmEmail(context.Background(), "", link); err != nil {
		t.Fatal(err)
	}
	if !srv.account(acctEmail).confirmed {
		t.Fatal("not confirmed")
	}
	if err := e.acc.ConfirmEmail(context.Background(), "", "bogus"); !errors.Is(err, syncproto.ErrInvalidCode) {
		t.Fatalf("bogus token: err = %v", err)
	}
}

func TestSignInThatCannotKeepItsSecretsLeavesNoSession(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(e *acctEnv)
		want  error
	}{
		{"a keyring that fails is reported", func(e *acctEnv) {
			e.secrets.failSet = fmt.Errorf("the system keyring is not available: %w", model.ErrUnavailable)
		}, model.ErrUnavailable},
		{"a wrapped key that does not open is refused", func(e *acctEnv) { e.srv.tamper(acctEmail) }, model.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAcctEnv(t, newAcctServer())
			e.signUp(t)
			tt.spoil(e)
			_, err := e.acc.SignIn(context.Background(), SignInInput{ServerURL: acctURL, Identifier: acctUser, Password: acctPass})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if n := e.srv.sessionCount(e.srv.account(acctEmail).id); n != 0 {
				t.Fatalf("%d sessions left open on the server", n)
			}
			if cur, _ := e.acc.Current(context.Background()); cur.SignedIn {
				t.Fatalf("remembered as signed in: %+v", cur)
			}
		})
	}
}

func TestAccountErrorsCanBeToldApartWithoutSyncproto(t *testing.T) {
	limited := fmt.Errorf("forgot password: %w", &syncproto.Error{Code: syncproto.CodeRateLimited, Message: "slow down", RetryAfter: 30 * time.Second})
	if !errors.Is(limited, ErrRateLimited) {
		t.Fatal("a rate-limited answer is not ErrRateLimited")
	}
	if d, ok := RetryAfter(limited); !ok || d != 30*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(model.ErrUnavailable); ok {
		t.Fatal("RetryAfter found a wait in a plain error")
	}
	srv := newAcctServer()
	e := newAcctEnv(t, srv)
	if _, err := e.acc.SignUp(context.Background(), SignUpInput{ServerURL: acctURL, Email: acctEmail, Username: acctUser, Password: acctPass}); err != nil {
		t.Fatal(err)
	}
	_, err := e.acc.SignIn(context.Background(), SignInInput{ServerURL: acctURL, Identifier: acctEmail, Password: acctPass})
	if !errors.Is(err, ErrEmailUnconfirmed) || !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrEmailUnconfirmed", err)
	}
}

// TestTheDefaultDeviceNameTellsProfilesApart: the default profile is the
// host name; another profile adds its folder's name.
func TestTheDefaultDeviceNameTellsProfilesApart(t *testing.T) {
	host, _ := os.Hostname()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // os.UserConfigDir on Linux
	t.Setenv("HOME", t.TempDir())            // and elsewhere
	def, err := ProfileDirFrom("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := defaultDeviceName(def); got != host {
		t.Errorf("default profile: %q, want %q", got, host)
	}
	if got, want := defaultDeviceName(filepath.Join(t.TempDir(), "work")), host+" (work)"; got != want {
		t.Errorf("another profile: %q, want %q", got, want)
	}
}
