package syncclient_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
)

// wantErr fails unless err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// TestClientAgainstTheRealServer runs every call of the client against
// syncserver and checks the answers and the error mapping.
func TestClientAgainstTheRealServer(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	c := srv.Client(t)
	ctx := context.Background()
	key, rk := vault.NewAccountKey(), vault.NewRecoveryKey()
	cr, mk := servertest.Credentials(t, "first password", key)
	rw, err := vault.Wrap(rk.WrapKey(), key)
	if err != nil {
		t.Fatal(err)
	}
	const email = "ann@example.com"
	if err := c.SignUp(ctx, syncproto.SignUpRequest{Username: "ann", Email: email, Credentials: cr, RecoveryWrappedKey: rw}); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	srv.NextMail(t, "confirm") // the server creates the account from its queue
	wantErr(t, "sign up with a taken username", c.SignUp(ctx, syncproto.SignUpRequest{Username: "ANN", Email: "other@example.com", Credentials: cr, RecoveryWrappedKey: rw}), model.ErrConflict)

	signIn := syncproto.SignInRequest{Identifier: "ann", AuthKey: mk.AuthKey(), DeviceName: "laptop"}
	_, err = c.SignIn(ctx, signIn)
	wantErr(t, "sign in before confirming", err, syncproto.ErrEmailUnconfirmed)
	wantErr(t, "resend", c.ResendConfirmation(ctx, email), nil)
	link := srv.NextMail(t, "confirm").Links[0]
	if err := c.ConfirmEmail(ctx, syncclient.ConfirmTokenFromLink(link)); err != nil {
		t.Fatalf("ConfirmEmail: %v", err)
	}
	wantErr(t, "a bogus confirmation token", c.ConfirmEmail(ctx, "bogus"), syncproto.ErrInvalidCode)

	pre, err := c.Prelogin(ctx, email)
	if err != nil || string(pre.KDFSalt) != string(cr.KDFSalt) || pre.KDFParams != cr.KDFParams {
		t.Fatalf("Prelogin = %+v, %v; want the sign-up salt and params", pre, err)
	}
	_, err = c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: make([]byte, 32)})
	wantErr(t, "a wrong auth key", err, model.ErrUnauthorized)
	s1, err := c.SignIn(ctx, signIn)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if got, err := vault.Unwrap(mk.WrapKey(), s1.WrappedAccountKey); err != nil || got != key {
		t.Fatalf("the wrapped key from sign-in does not open: %v", err)
	}
	laptop := c.WithToken(s1.Token)
	info, err := laptop.Account(ctx)
	if err != nil || info.AccountID != s1.AccountID || !info.EmailConfirmed {
		t.Fatalf("Account = %+v, %v", info, err)
	}
	_, err = c.WithToken("not-a-token").Sessions(ctx)
	wantErr(t, "a bad token", err, model.ErrUnauthorized)

	s2, err := c.SignIn(ctx, syncproto.SignInRequest{Identifier: email, AuthKey: mk.AuthKey(), DeviceName: "desktop"})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := laptop.Sessions(ctx)
	if err != nil || len(ss) != 2 || !ss[0].Current || ss[1].DeviceName != "desktop" {
		t.Fatalf("Sessions = %+v, %v", ss, err)
	}
	wantErr(t, "revoke an unknown session", laptop.RevokeSession(ctx, "nope"), model.ErrNotFound)
	if err := laptop.RevokeSession(ctx, s2.SessionID); err != nil {
		t.Fatal(err)
	}
	_, err = c.WithToken(s2.Token).Account(ctx)
	wantErr(t, "a revoked session", err, model.ErrUnauthorized)

	cr2, mk2 := servertest.Credentials(t, "second password", key)
	wantErr(t, "change with a wrong current key", laptop.ChangePassword(ctx, syncproto.ChangePasswordRequest{CurrentAuthKey: make([]byte, 32), New: cr2}), model.ErrUnauthorized)
	if err := laptop.ChangePassword(ctx, syncproto.ChangePasswordRequest{CurrentAuthKey: mk.AuthKey(), New: cr2}); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}

	if err := c.ForgotUsername(ctx, email); err != nil {
		t.Fatal(err)
	}
	srv.NextMail(t, "username")
	if err := c.ForgotPassword(ctx, email); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\b[0-9A-Z]{5}-?[0-9A-Z]{5}\b`).FindString(srv.NextMail(t, "reset").Text)
	_, err = c.RecoveryKey(ctx, syncproto.RecoveryKeyRequest{Email: email, Code: "00000-00000"})
	wantErr(t, "a wrong reset code", err, syncproto.ErrInvalidCode)
	got, err := c.RecoveryKey(ctx, syncproto.RecoveryKeyRequest{Email: email, Code: code})
	if err != nil {
		t.Fatalf("RecoveryKey: %v", err)
	}
	if k, err := vault.Unwrap(rk.WrapKey(), got.RecoveryWrappedKey); err != nil || k != key {
		t.Fatalf("the recovery-wrapped key does not open: %v", err)
	}
	cr3, mk3 := servertest.Credentials(t, "third password", key)
	if err := c.ResetPassword(ctx, syncproto.ResetPasswordRequest{Email: email, Code: code, New: cr3}); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	_, err = laptop.Account(ctx)
	wantErr(t, "a session after the reset", err, model.ErrUnauthorized)
	_, err = c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: mk2.AuthKey()})
	wantErr(t, "the password before the reset", err, model.ErrUnauthorized)

	s3, err := c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: mk3.AuthKey()})
	if err != nil {
		t.Fatal(err)
	}
	again := c.WithToken(s3.Token)
	wantErr(t, "delete with a wrong key", again.DeleteAccount(ctx, mk2.AuthKey()), model.ErrUnauthorized)
	if err := again.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = again.Sessions(ctx)
	wantErr(t, "a signed-out session", err, model.ErrUnauthorized)
	s4, err := c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: mk3.AuthKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WithToken(s4.Token).DeleteAccount(ctx, mk3.AuthKey()); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	_, err = c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: mk3.AuthKey()})
	wantErr(t, "sign in to a deleted account", err, model.ErrUnauthorized)
}

func TestRealServerRateLimitCarriesRetryAfter(t *testing.T) {
	limits := syncserver.NoLimits()
	limits.Mail = syncserver.ActionLimits{PerIP: syncserver.Rate{Burst: 1, Every: time.Hour}}
	srv := servertest.Start(t, servertest.Options{Limits: &limits})
	c := srv.Client(t)
	ctx := context.Background()
	if err := c.ForgotPassword(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	err := c.ForgotPassword(ctx, "ann@example.com")
	wantErr(t, "the second call within the hour", err, syncproto.ErrRateLimited)
	wantErr(t, "the second call within the hour", err, model.ErrUnavailable)
	if d, ok := syncclient.RetryAfter(err); !ok || d < time.Minute {
		t.Fatalf("RetryAfter = %v, %v; want about an hour", d, ok)
	}
}

func TestRealServerIsRefusedWithoutItsCA(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	c, err := syncclient.New(srv.URL, syncclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Prelogin(context.Background(), "ann")
	wantErr(t, "a dev server without --ca", err, model.ErrUnavailable)
}
