package syncserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

var fuzzRoutes = []struct {
	method, path string
	authed       bool
}{
	{"POST", syncproto.PathSignUp, false},
	{"POST", syncproto.PathConfirmEmail, false},
	{"POST", syncproto.PathResendConfirmation, false},
	{"POST", syncproto.PathPrelogin, false},
	{"POST", syncproto.PathSignIn, false},
	{"POST", syncproto.PathForgotUsername, false},
	{"POST", syncproto.PathForgotPassword, false},
	{"POST", syncproto.PathRecoveryKey, false},
	{"POST", syncproto.PathResetPassword, false},
	{"POST", syncproto.PathChangePassword, true},
	{"POST", syncproto.PathDeleteAccount, true},
	{"POST", syncproto.PathSignOut, true},
	{"GET", syncproto.PathAccount, true},
	{"GET", syncproto.PathSessions, true},
	{"DELETE", syncproto.PathSessions + "/x", true},
	{"GET", syncproto.PathConfirmEmail + "?token=abc", false},
}

// FuzzHandlers posts fuzzed bodies to every account route: no answer may
// be a 5xx, and every error must be the JSON error body with a known code.
func FuzzHandlers(f *testing.F) {
	pw := newPassword("pw")
	seeds := []any{
		syncproto.SignUpRequest{Username: "ann", Email: "ann@example.com", Credentials: pw.creds, RecoveryWrappedKey: randomBytes(72)},
		syncproto.SignInRequest{Identifier: "fuzz", AuthKey: pw.creds.AuthKey, DeviceName: "d"},
		syncproto.PreloginRequest{Identifier: "fuzz@example.com"},
		syncproto.ForgotPasswordRequest{Email: "fuzz@example.com"},
		syncproto.ResetPasswordRequest{Email: "fuzz@example.com", Code: "ABCDE-FGHJK", New: pw.creds, Erase: true, RecoveryWrappedKey: randomBytes(40)},
		syncproto.ChangePasswordRequest{CurrentAuthKey: randomBytes(32), New: pw.creds},
		syncproto.RecoveryKeyRequest{Email: "fuzz@example.com", Code: "abcde"},
		syncproto.ConfirmEmailRequest{Token: "x"},
	}
	for i, s := range seeds {
		b, _ := json.Marshal(s)
		for r := range fuzzRoutes {
			if r%len(seeds) == i {
				f.Add(uint8(r), b)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"username":1}`))
	f.Add(uint8(4), []byte(`{"identifier":"\u0000@x.y","auth_key":"!!"}`))
	f.Add(uint8(3), []byte(`null`))
	f.Add(uint8(8), []byte(`{"kdf_params":{"t":-1}}`))

	e := newEnv(f, withLimits(syncserver.NoLimits()), withMailer(&discardMailer{}))
	e.createConfirmed(f, "fuzz", "fuzz@example.com", pw)
	in, perr := e.signIn("fuzz", pw, "fuzzer")
	mustOK(f, "sign in", perr)
	h := e.srv.Handler()

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(rt.method, "https://localhost"+rt.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if rt.authed {
			req.Header.Set("Authorization", "Bearer "+in.Token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rt.method+" "+rt.path, rec, body)
	})
}

func checkAnswer(t *testing.T, route string, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s with %q: status %d: %s", route, body, rec.Code, rec.Body)
	}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		return // the confirmation page
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s with %q: answer is not JSON: %q", route, body, rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	var eb syncproto.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || !slices.Contains(syncproto.ErrorCodes, eb.Error.Code) || eb.Error.Message == "" {
		t.Fatalf("%s with %q: %d error body %q", route, body, rec.Code, rec.Body)
	}
	if eb.Error.Code.HTTPStatus() != rec.Code {
		t.Fatalf("%s: code %s sent with status %d", route, eb.Error.Code, rec.Code)
	}
	if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: 429 without Retry-After", route)
	}
}
