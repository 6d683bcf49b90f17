package syncserver_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
)

func TestAccountLifecycleEndToEnd(t *testing.T) {
	e := newEnv(t)
	const email, user = "ann@example.com", "ann"
	pw := newPassword("correct horse")
	recovery := randomBytes(72)

	// Sign up; the confirmation arrives by SMTP over STARTTLS with AUTH.
	res, perr := call[syncproto.StatusResponse](e, "POST", syncproto.PathSignUp, "", syncproto.SignUpRequest{
		Username: "Ann", Email: "Ann@Example.com", Credentials: pw.creds, RecoveryWrappedKey: recovery})
	mustOK(t, "sign up", perr)
	if res.Status != syncproto.StatusSent {
		t.Fatalf("sign-up status = %q", res.Status)
	}
	confirm := e.smtp.WaitFor(t, email, "Confirm", 0)
	if !confirm.TLS || !confirm.Authed || confirm.HTML == "" || !strings.Contains(confirm.HTML, "<a href=") {
		t.Fatalf("confirmation mail: tls=%v auth=%v html=%q", confirm.TLS, confirm.Authed, confirm.HTML)
	}
	link := confirm.Link()
	if !strings.HasPrefix(link, e.base+syncproto.PathConfirmEmail+"?token=") {
		t.Fatalf("link %q not under the public URL", link)
	}

	// Before confirmation: the right password is refused with email_unconfirmed.
	_, perr = e.signIn(email, pw, "laptop")
	wantCode(t, "sign in before confirmation", perr, syncproto.CodeEmailUnconfirmed)

	status, page, _ := e.getPage(link)
	if status != http.StatusOK || !strings.Contains(page, "confirmed") {
		t.Fatalf("confirm page: %d %q", status, page)
	}
	status, page, _ = e.getPage(link)
	if status != http.StatusBadRequest || !strings.Contains(page, "does not work") {
		t.Fatalf("reused confirm link: %d %q", status, page)
	}

	// Prelogin gives back the salt and params; wrong password is 401.
	pre, perr := call[syncproto.PreloginResponse](e, "POST", syncproto.PathPrelogin, "", syncproto.PreloginRequest{Identifier: user})
	mustOK(t, "prelogin", perr)
	if !bytes.Equal(pre.KDFSalt, pw.creds.KDFSalt) || pre.KDFParams != pw.creds.KDFParams {
		t.Fatalf("prelogin = %+v", pre)
	}
	_, perr = e.signIn(email, newPassword("wrong"), "laptop")
	wantCode(t, "wrong password", perr, syncproto.CodeUnauthorized)

	laptop, perr := e.signIn(user, pw, "laptop")
	mustOK(t, "sign in by username", perr)
	phone, perr := e.signIn("ANN@example.com", pw, "phone")
	mustOK(t, "sign in by email", perr)
	if laptop.AccountID == "" || !bytes.Equal(laptop.WrappedAccountKey, pw.creds.WrappedAccountKey) || len(laptop.Token) != 43 {
		t.Fatalf("sign-in answer = %+v", laptop)
	}

	info, perr := call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, laptop.Token, nil)
	mustOK(t, "account", perr)
	if info.Username != user || info.Email != email || !info.EmailConfirmed {
		t.Fatalf("account info = %+v", info)
	}
	sessions, perr := call[syncproto.SessionsResponse](e, "GET", syncproto.PathSessions, laptop.Token, nil)
	mustOK(t, "sessions", perr)
	if len(sessions.Sessions) != 2 || !sessions.Sessions[0].Current || sessions.Sessions[1].Current || sessions.Sessions[1].DeviceName != "phone" {
		t.Fatalf("sessions = %+v", sessions)
	}

	// Change password: the phone is signed out, the laptop stays.
	pw2 := newPassword("battery staple")
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathChangePassword, laptop.Token,
		syncproto.ChangePasswordRequest{CurrentAuthKey: newPassword("wrong").creds.AuthKey, New: pw2.creds})
	wantCode(t, "change password with wrong current key", perr, syncproto.CodeUnauthorized)
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathChangePassword, laptop.Token,
		syncproto.ChangePasswordRequest{CurrentAuthKey: pw.creds.AuthKey, New: pw2.creds})
	mustOK(t, "change password", perr)
	_, perr = call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, phone.Token, nil)
	wantCode(t, "revoked phone session", perr, syncproto.CodeUnauthorized)
	_, perr = call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, laptop.Token, nil)
	mustOK(t, "laptop after change", perr)
	_, perr = e.signIn(user, pw, "x")
	wantCode(t, "old password", perr, syncproto.CodeUnauthorized)
	_, perr = e.signIn(user, pw2, "x")
	mustOK(t, "new password", perr)
	e.smtp.WaitFor(t, email, "password was changed", 0)

	// Forgot password: code by mail, recovery key, reset, sign in again.
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathForgotPassword, "", syncproto.ForgotPasswordRequest{Email: email})
	mustOK(t, "forgot password", perr)
	code := e.smtp.WaitFor(t, email, "reset code", 0).Code()
	if syncproto.ValidateCode(code) != nil {
		t.Fatalf("mailed code %q", code)
	}
	_, perr = call[syncproto.RecoveryKeyResponse](e, "POST", syncproto.PathRecoveryKey, "", syncproto.RecoveryKeyRequest{Email: email, Code: "00000-00000"})
	wantCode(t, "wrong code", perr, syncproto.CodeInvalidCode)
	rk, perr := call[syncproto.RecoveryKeyResponse](e, "POST", syncproto.PathRecoveryKey, "", syncproto.RecoveryKeyRequest{Email: email, Code: strings.ToLower(code)})
	mustOK(t, "recovery key", perr)
	if !bytes.Equal(rk.RecoveryWrappedKey, recovery) {
		t.Fatal("recovery-wrapped key differs from the one signed up with")
	}
	pw3 := newPassword("reset one")
	reset := syncproto.ResetPasswordRequest{Email: email, Code: code, New: pw3.creds}
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathResetPassword, "", reset)
	mustOK(t, "reset", perr)
	_, perr = call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, laptop.Token, nil)
	wantCode(t, "laptop after reset", perr, syncproto.CodeUnauthorized)
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathResetPassword, "", reset)
	wantCode(t, "reused reset code", perr, syncproto.CodeInvalidCode)
	_, perr = e.signIn(email, pw2, "x")
	wantCode(t, "password before reset", perr, syncproto.CodeUnauthorized)
	again, perr := e.signIn(email, pw3, "desktop")
	mustOK(t, "sign in after reset", perr)
	if !bytes.Equal(again.WrappedAccountKey, pw3.creds.WrappedAccountKey) {
		t.Fatal("wrapped key not replaced by the reset")
	}
	e.smtp.WaitFor(t, email, "password was reset", 0)

	// Forgot username.
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathForgotUsername, "", syncproto.ForgotUsernameRequest{Email: email})
	mustOK(t, "forgot username", perr)
	if got := e.smtp.WaitFor(t, email, "username", 0).Code(); got != user {
		t.Fatalf("mailed username %q", got)
	}

	// Revoke one session by id, then sign out the other.
	other, perr := e.signIn(email, pw3, "tablet")
	mustOK(t, "sign in tablet", perr)
	_, perr = call[syncproto.StatusResponse](e, "DELETE", syncproto.PathSessions+"/"+other.SessionID, again.Token, nil)
	mustOK(t, "revoke tablet", perr)
	_, perr = call[syncproto.SessionsResponse](e, "GET", syncproto.PathSessions, other.Token, nil)
	wantCode(t, "revoked tablet", perr, syncproto.CodeUnauthorized)
	_, perr = call[syncproto.StatusResponse](e, "DELETE", syncproto.PathSessions+"/nope", again.Token, nil)
	wantCode(t, "revoke unknown session", perr, syncproto.CodeNotFound)
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathSignOut, again.Token, nil)
	mustOK(t, "sign out", perr)
	_, perr = call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, again.Token, nil)
	wantCode(t, "signed-out session", perr, syncproto.CodeUnauthorized)

	// Delete the account: wrong key refused, right key deletes.
	last, perr := e.signIn(email, pw3, "x")
	mustOK(t, "sign in to delete", perr)
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathDeleteAccount, last.Token, syncproto.DeleteAccountRequest{AuthKey: pw2.creds.AuthKey})
	wantCode(t, "delete with wrong key", perr, syncproto.CodeUnauthorized)
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathDeleteAccount, last.Token, syncproto.DeleteAccountRequest{AuthKey: pw3.creds.AuthKey})
	mustOK(t, "delete account", perr)
	_, perr = e.signIn(email, pw3, "x")
	wantCode(t, "sign in after delete", perr, syncproto.CodeUnauthorized)

	assertNoSecretsLogged(t, e.logs.String(), email, laptop.Token, phone.Token, code, link,
		base64.StdEncoding.EncodeToString(pw.creds.AuthKey))
}

func assertNoSecretsLogged(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	if !strings.Contains(logs, "mail sent") {
		t.Fatalf("logs look empty: %q", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the secret %q", s)
		}
	}
}

func TestCodesExpire(t *testing.T) {
	e := newEnv(t)
	pw := newPassword("pw")
	e.signUpConfirmed("bob", "bob@example.com", pw)

	// A reset code is dead after 30 minutes.
	_, perr := call[syncproto.StatusResponse](e, "POST", syncproto.PathForgotPassword, "", syncproto.ForgotPasswordRequest{Email: "bob@example.com"})
	mustOK(t, "forgot password", perr)
	code := e.smtp.WaitFor(t, "bob@example.com", "reset code", 0).Code()
	e.clock.Advance(syncproto.ResetCodeTTL + time.Second)
	_, perr = call[syncproto.RecoveryKeyResponse](e, "POST", syncproto.PathRecoveryKey, "", syncproto.RecoveryKeyRequest{Email: "bob@example.com", Code: code})
	wantCode(t, "expired reset code", perr, syncproto.CodeInvalidCode)

	// A confirmation link is dead after 48 hours.
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathSignUp, "", syncproto.SignUpRequest{
		Username: "cat", Email: "cat@example.com", Credentials: pw.creds, RecoveryWrappedKey: randomBytes(72)})
	mustOK(t, "sign up cat", perr)
	link := e.smtp.WaitFor(t, "cat@example.com", "Confirm", 0).Link()
	e.clock.Advance(syncproto.ConfirmTokenTTL + time.Second)
	if status, _, _ := e.getPage(link); status != http.StatusBadRequest {
		t.Fatalf("expired confirm link: status %d", status)
	}
	// Resend makes a fresh link that works.
	_, perr = call[syncproto.StatusResponse](e, "POST", syncproto.PathResendConfirmation, "", syncproto.ResendConfirmationRequest{Email: "cat@example.com"})
	mustOK(t, "resend", perr)
	fresh := e.smtp.WaitFor(t, "cat@example.com", "Confirm", 1).Link()
	if status, _, _ := e.getPage(fresh); status != http.StatusOK {
		t.Fatalf("resent link: status %d", status)
	}
}

func TestWrongCodeGuessesBurnTheCode(t *testing.T) {
	e := newEnv(t)
	e.signUpConfirmed("dan", "dan@example.com", newPassword("pw"))
	_, perr := call[syncproto.StatusResponse](e, "POST", syncproto.PathForgotPassword, "", syncproto.ForgotPasswordRequest{Email: "dan@example.com"})
	mustOK(t, "forgot", perr)
	code := e.smtp.WaitFor(t, "dan@example.com", "reset code", 0).Code()
	for range syncproto.MaxCodeAttempts {
		_, perr = call[syncproto.RecoveryKeyResponse](e, "POST", syncproto.PathRecoveryKey, "", syncproto.RecoveryKeyRequest{Email: "dan@example.com", Code: "ZZZZZ-ZZZZZ"})
		wantCode(t, "wrong guess", perr, syncproto.CodeInvalidCode)
	}
	_, perr = call[syncproto.RecoveryKeyResponse](e, "POST", syncproto.PathRecoveryKey, "", syncproto.RecoveryKeyRequest{Email: "dan@example.com", Code: code})
	wantCode(t, "right code after too many guesses", perr, syncproto.CodeInvalidCode)
}

func TestSignUpWithTakenEmailMailsTheOwner(t *testing.T) {
	e := newEnv(t)
	e.signUpConfirmed("eve", "eve@example.com", newPassword("pw"))
	req := syncproto.SignUpRequest{Username: "mallory", Email: "eve@example.com", Credentials: newPassword("x").creds, RecoveryWrappedKey: randomBytes(72)}
	fresh := req
	fresh.Username, fresh.Email = "frank", "frank@example.com"
	_, _, takenBody := e.raw("POST", syncproto.PathSignUp, "", req)
	_, _, freshBody := e.raw("POST", syncproto.PathSignUp, "", fresh)
	if !bytes.Equal(takenBody, freshBody) {
		t.Fatalf("bodies differ: taken %q, fresh %q", takenBody, freshBody)
	}
	m := e.smtp.WaitFor(t, "eve@example.com", "already have", 0)
	if !strings.Contains(m.Text, "your username is eve") {
		t.Fatalf("owner mail: %q", m.Text)
	}
	req.Email = "other@example.com"
	req.Username = "EVE"
	_, perr := call[syncproto.StatusResponse](e, "POST", syncproto.PathSignUp, "", req)
	wantCode(t, "taken username", perr, syncproto.CodeConflict)
}

func TestRequestLimitsAndErrors(t *testing.T) {
	e := newEnv(t)
	big := append([]byte(`{"identifier":"`), bytes.Repeat([]byte("a"), syncproto.MaxAccountBody)...)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		want   syncproto.ErrorCode
	}{
		{"body over 64 KiB is too_large", "POST", syncproto.PathPrelogin, big, syncproto.CodeTooLarge},
		{"malformed JSON is invalid_input", "POST", syncproto.PathSignIn, []byte(`{"identifier":`), syncproto.CodeInvalidInput},
		{"two JSON values are invalid_input", "POST", syncproto.PathPrelogin, []byte(`{} {}`), syncproto.CodeInvalidInput},
		{"bad email is invalid_input", "POST", syncproto.PathForgotPassword, []byte(`{"email":"nope"}`), syncproto.CodeInvalidInput},
		{"unknown route is not_found", "GET", "/v1/nothing", nil, syncproto.CodeNotFound},
		{"wrong method is method_not_allowed", "GET", syncproto.PathSignIn, nil, syncproto.CodeMethodNotAllowed},
		{"no token is unauthorized", "GET", syncproto.PathAccount, nil, syncproto.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			_, perr := call[struct{}](e, tt.method, tt.path, "", body)
			wantCode(t, tt.name, perr, tt.want)
		})
	}
}

func TestMetricsCountRoutesAndAccounts(t *testing.T) {
	e := newEnv(t)
	e.signUpConfirmed("gil", "gil@example.com", newPassword("pw"))
	e.signIn("gil", newPassword("wrong"), "")
	status, _, body := e.raw("GET", syncproto.PathMetrics, "", nil)
	for _, want := range []string{
		`courier_http_requests_total{route="POST /v1/signin",status="401"} 1`,
		"courier_accounts 1",
		`courier_mail_total{kind="confirm",result="sent"} 1`,
		"courier_http_request_duration_seconds_bucket",
	} {
		if status != 200 || !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
