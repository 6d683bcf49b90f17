package syncclient

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/internal/silent"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

func TestNewAcceptsOnlyHTTPSURLs(t *testing.T) {
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"https with port and path is accepted", "https://sync.example.com:8443/courier/", true},
		{"upper-case scheme is accepted", "HTTPS://127.0.0.1:8443", true},
		{"plain http is refused", "http://127.0.0.1:8443", false},
		{"websocket scheme is refused", "wss://127.0.0.1:8443", false},
		{"no scheme is refused", "127.0.0.1:8443", false},
		{"empty is refused", "", false},
		{"https without host is refused", "https://", false},
		{"user info is refused", "https://ann:pw@example.com", false},
		{"a query is refused", "https://example.com/?x=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.url, Options{})
			if tt.ok {
				if err != nil {
					t.Fatalf("New(%q) = %v", tt.url, err)
				}
				if strings.HasSuffix(c.ServerURL(), "/") {
					t.Errorf("ServerURL = %q keeps a trailing slash", c.ServerURL())
				}
				return
			}
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("New(%q) err = %v, want ErrInvalid", tt.url, err)
			}
		})
	}
}

func TestNewRejectsBadCAFileClearly(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing file is refused":     filepath.Join(dir, "absent.pem"),
		"file without PEM is refused": notPEM,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New("https://127.0.0.1:1", Options{CAFile: path})
			if !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, path)
			}
		})
	}
}

func TestTLSTrustsOnlySystemRootsAndTheGivenCA(t *testing.T) {
	serverCA := newTestCA(t, "server CA")
	otherCA := newTestCA(t, "other CA")
	url := serveTLS(t, serverCA, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, syncproto.PreloginResponse{KDFSalt: make([]byte, 16), KDFParams: syncproto.DefaultKDFParams})
	}))
	tests := []struct {
		name   string
		caFile string
		ok     bool
	}{
		{"the server's CA is trusted", serverCA.file(t), true},
		{"another CA does not vouch for the server", otherCA.file(t), false},
		{"system roots alone do not vouch for the server", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(url, Options{CAFile: tt.caFile, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Prelogin(context.Background(), "ann")
			if tt.ok && err != nil {
				t.Fatalf("Prelogin = %v", err)
			}
			if !tt.ok && (!errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "not signed by a CA this computer trusts")) {
				t.Fatalf("Prelogin err = %v, want an untrusted-certificate error", err)
			}
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorHandler(status int, body, retryAfter string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func errBody(code syncproto.ErrorCode, msg string) string {
	b, _ := json.Marshal(syncproto.ErrorBody{Error: syncproto.Error{Code: code, Message: msg}})
	return string(b)
}

func TestServerErrorsMapToTheModelVocabulary(t *testing.T) {
	ca := newTestCA(t, "ca")
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		want       error
		wantMsg    string
		wantWait   time.Duration
	}{
		{"unauthorized keeps the server's message", 401, errBody(syncproto.CodeUnauthorized, "wrong username or password"), "", model.ErrUnauthorized, "wrong username or password", 0},
		{"email_unconfirmed is unauthorized and distinct", 403, errBody(syncproto.CodeEmailUnconfirmed, "confirm your email"), "", syncproto.ErrEmailUnconfirmed, "confirm your email", 0},
		{"rate_limited carries Retry-After seconds", 429, errBody(syncproto.CodeRateLimited, "slow down"), "42", syncproto.ErrRateLimited, "slow down", 42 * time.Second},
		{"rate_limited is unavailable", 429, errBody(syncproto.CodeRateLimited, "slow down"), "7", model.ErrUnavailable, "slow down", 7 * time.Second},
		{"invalid_code is invalid", 400, errBody(syncproto.CodeInvalidCode, "code expired"), "", syncproto.ErrInvalidCode, "code expired", 0},
		{"invalid_input is invalid", 400, errBody(syncproto.CodeInvalidInput, "username taken rules"), "", model.ErrInvalid, "username taken rules", 0},
		{"conflict is conflict", 409, errBody(syncproto.CodeConflict, "username is taken"), "", model.ErrConflict, "username is taken", 0},
		{"not_found is not found", 404, errBody(syncproto.CodeNotFound, "no such session"), "", model.ErrNotFound, "no such session", 0},
		{"too_large is too large", 413, errBody(syncproto.CodeTooLarge, "body too big"), "", model.ErrTooLarge, "body too big", 0},
		{"internal is unavailable", 500, errBody(syncproto.CodeInternal, "oops"), "", model.ErrUnavailable, "oops", 0},
		{"a proxy's HTML 502 is unavailable and quoted", 502, "<html>Bad Gateway</html>", "", model.ErrUnavailable, "Bad Gateway", 0},
		{"a bare 401 is unauthorized", 401, "", "", model.ErrUnauthorized, "401", 0},
		{"a 503 with an HTTP-date Retry-After waits", 503, "", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), model.ErrUnavailable, "503", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serveTLS(t, ca, errorHandler(tt.status, tt.body, tt.retryAfter))
			c, err := New(url, Options{CAFile: ca.file(t)})
			if err != nil {
				t.Fatal(err)
			}
			err = c.ForgotPassword(context.Background(), "ann@example.com")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var apiErr *syncproto.Error
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status {
				t.Fatalf("err = %#v, want *syncproto.Error with status %d", err, tt.status)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "forgot password: ") {
				t.Errorf("err = %q, want it to name the call and hold %q", err, tt.wantMsg)
			}
			wait, _ := RetryAfter(err)
			if d := wait - tt.wantWait; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("RetryAfter = %v, want %v", wait, tt.wantWait)
			}
		})
	}
}

// recorded is one request as the fake server saw it.
type recorded struct {
	method, path, auth, contentType string
	body                            map[string]any
}

// recorder answers every call with 200 and answer, and keeps what it saw.
type recorder struct {
	mu     sync.Mutex
	seen   []recorded
	answer any
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	rec.mu.Lock()
	rec.seen = append(rec.seen, recorded{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	answer := rec.answer
	rec.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

func (rec *recorder) last(t *testing.T) recorded {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) == 0 {
		t.Fatal("the server saw no request")
	}
	return rec.seen[len(rec.seen)-1]
}

func goodCreds() syncproto.Credentials {
	return syncproto.Credentials{
		KDFSalt:           bytes.Repeat([]byte{1}, 16),
		KDFParams:         syncproto.DefaultKDFParams,
		AuthKey:           bytes.Repeat([]byte{2}, 32),
		WrappedAccountKey: bytes.Repeat([]byte{3}, 72),
	}
}

func TestEachCallSendsItsMethodPathAndToken(t *testing.T) {
	ca := newTestCA(t, "ca")
	rec := &recorder{answer: map[string]string{"status": "ok"}}
	url := serveTLS(t, ca, rec)
	anon, err := New(url+"/base/", Options{CAFile: ca.file(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken("tok123")
	ctx := context.Background()
	creds := goodCreds()
	tests := []struct {
		name   string
		do     func() error
		method string
		path   string
		bearer bool
		field  string // a JSON key the body must hold; "" for none
	}{
		{"sign up posts the credentials", func() error {
			return anon.SignUp(ctx, syncproto.SignUpRequest{Username: "ann", Email: "ann@example.com", Credentials: creds, RecoveryWrappedKey: creds.WrappedAccountKey})
		}, "POST", syncproto.PathSignUp, false, "recovery_wrapped_key"},
		{"confirm email posts the token", func() error { return anon.ConfirmEmail(ctx, "abc") }, "POST", syncproto.PathConfirmEmail, false, "token"},
		{"resend posts the email", func() error { return anon.ResendConfirmation(ctx, "ann@example.com") }, "POST", syncproto.PathResendConfirmation, false, "email"},
		{"prelogin posts the identifier", func() error { _, err := anon.Prelogin(ctx, "ann"); return err }, "POST", syncproto.PathPrelogin, false, "identifier"},
		{"sign in posts the auth key", func() error {
			_, err := anon.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: creds.AuthKey, DeviceName: "laptop"})
			return err
		}, "POST", syncproto.PathSignIn, false, "auth_key"},
		{"sign out needs the token", func() error { return c.SignOut(ctx) }, "POST", syncproto.PathSignOut, true, ""},
		{"account needs the token", func() error { _, err := c.Account(ctx); return err }, "GET", syncproto.PathAccount, true, ""},
		{"change password posts new credentials", func() error {
			return c.ChangePassword(ctx, syncproto.ChangePasswordRequest{CurrentAuthKey: creds.AuthKey, New: creds})
		}, "POST", syncproto.PathChangePassword, true, "new"},
		{"forgot username posts the email", func() error { return anon.ForgotUsername(ctx, "ann@example.com") }, "POST", syncproto.PathForgotUsername, false, "email"},
		{"forgot password posts the email", func() error { return anon.ForgotPassword(ctx, "ann@example.com") }, "POST", syncproto.PathForgotPassword, false, "email"},
		{"recovery key posts the code", func() error {
			_, err := anon.RecoveryKey(ctx, syncproto.RecoveryKeyRequest{Email: "ann@example.com", Code: "7kq2m-xd93f"})
			return err
		}, "POST", syncproto.PathRecoveryKey, false, "code"},
		{"reset posts the new credentials", func() error {
			return anon.ResetPassword(ctx, syncproto.ResetPasswordRequest{Email: "ann@example.com", Code: "7KQ2MXD93F", New: creds})
		}, "POST", syncproto.PathResetPassword, false, "new"},
		{"sessions needs the token", func() error { _, err := c.Sessions(ctx); return err }, "GET", syncproto.PathSessions, true, ""},
		{"revoke escapes the id", func() error { return c.RevokeSession(ctx, "a/b") }, "DELETE", syncproto.PathSessions + "/a%2Fb", true, ""},
		{"delete account posts the auth key", func() error { return c.DeleteAccount(ctx, creds.AuthKey) }, "POST", syncproto.PathDeleteAccount, true, "auth_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			got := rec.last(t)
			if got.method != tt.method || got.path != "/base"+tt.path {
				t.Errorf("request = %s %s, want %s /base%s", got.method, got.path, tt.method, tt.path)
			}
			if wantAuth := map[bool]string{true: "Bearer tok123", false: ""}[tt.bearer]; got.auth != wantAuth {
				t.Errorf("Authorization = %q, want %q", got.auth, wantAuth)
			}
			if tt.field != "" {
				if _, ok := got.body[tt.field]; !ok || got.contentType != "application/json" {
					t.Errorf("body %v (%s) lacks %q", got.body, got.contentType, tt.field)
				}
			}
		})
	}
	if got := rec.seen[10].body["code"]; got != "7KQ2MXD93F" {
		t.Errorf("recovery key code sent as %v, want the normalised code", got)
	}
}

func TestCallsDecodeTheAnswer(t *testing.T) {
	ca := newTestCA(t, "ca")
	want := syncproto.SignInResponse{Token: "t", SessionID: "s1", AccountID: "a1", Username: "ann", Email: "ann@example.com",
		WrappedAccountKey: []byte{9, 9}, KDFSalt: []byte{1}, KDFParams: syncproto.DefaultKDFParams}
	url := serveTLS(t, ca, &recorder{answer: want})
	c, err := New(url, Options{CAFile: ca.file(t)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.SignIn(context.Background(), syncproto.SignInRequest{Identifier: "ann@example.com", AuthKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != want.Token || got.AccountID != want.AccountID || !bytes.Equal(got.WrappedAccountKey, want.WrappedAccountKey) || got.KDFParams != want.KDFParams {
		t.Fatalf("SignIn = %+v, want %+v", got, want)
	}
}

func TestCallsFailWithoutAskingTheServer(t *testing.T) {
	ca := newTestCA(t, "ca")
	rec := &recorder{answer: map[string]string{"status": "ok"}}
	c, err := New(serveTLS(t, ca, rec), Options{CAFile: ca.file(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"a bearer call without token is unauthorized", c.SignOut(ctx), model.ErrUnauthorized},
		{"a bad email is invalid", c.ForgotPassword(ctx, "not-an-email"), model.ErrInvalid},
		{"a short auth key is invalid", func() error {
			_, err := c.SignIn(ctx, syncproto.SignInRequest{Identifier: "ann", AuthKey: []byte{1}})
			return err
		}(), model.ErrInvalid},
		{"a malformed reset code is invalid", c.ResetPassword(ctx, syncproto.ResetPasswordRequest{Email: "a@b.co", Code: "x", New: goodCreds()}), model.ErrInvalid},
		{"an empty confirmation token is invalid", c.ConfirmEmail(ctx, " "), model.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
	if len(rec.seen) != 0 {
		t.Fatalf("the server saw %d requests, want none", len(rec.seen))
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	ca := newTestCA(t, "ca")
	var followed bool
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/prelogin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed = true })
	c, err := New(serveTLS(t, ca, mux), Options{CAFile: ca.file(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Prelogin(context.Background(), "ann")
	if err == nil || followed {
		t.Fatalf("err = %v, followed = %v; want an error and no second request", err, followed)
	}
}

func TestCallsStopWithTheContextAndTheTimeout(t *testing.T) {
	ca := newTestCA(t, "ca")
	release := make(chan struct{})
	url := serveTLS(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	caFile := ca.file(t)

	c, err := New(url, Options{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Prelogin(ctx, "ann"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with a done context: err = %v, want DeadlineExceeded", err)
	}

	short, err := New(url, Options{CAFile: caFile, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Prelogin(context.Background(), "ann"); !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), "in time") {
		t.Fatalf("with a short time-out: err = %v, want ErrUnavailable saying so", err)
	}
}

func TestOversizedAnswerIsRefused(t *testing.T) {
	ca := newTestCA(t, "ca")
	url := serveTLS(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), maxResponse+10))
	}))
	c, err := New(url, Options{CAFile: ca.file(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prelogin(context.Background(), "ann"); !errors.Is(err, model.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestConfirmTokenFromLink(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a link gives its token", "https://127.0.0.1:8443/v1/email/confirm?token=abc123", "abc123"},
		{"a bare token is kept", " abc123 ", "abc123"},
		{"a link without token is kept", "https://example.com/x", "https://example.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConfirmTokenFromLink(tt.in); got != tt.want {
				t.Fatalf("ConfirmTokenFromLink(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzAPIError(f *testing.F) {
	f.Add(401, []byte(errBody(syncproto.CodeUnauthorized, "no")), "3")
	f.Add(502, []byte("<html>bad gateway</html>"), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, []byte(`{"error":{"code":"","message":"x"}}`), "")
	f.Add(418, []byte{0xff, 0x00}, "-1")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{"Retry-After": {retryAfter}}}
		e := apiError(resp, body)
		if e.Code == "" || e.Message == "" && status >= 400 && len(body) == 0 || e.Status != status || e.RetryAfter < 0 {
			t.Fatalf("apiError(%d, %q, %q) = %#v", status, body, retryAfter, e)
		}
		if e.Unwrap() == nil {
			t.Fatal("error does not unwrap to the model vocabulary")
		}
	})
}

func FuzzParseServerURL(f *testing.F) {
	for _, s := range []string{"https://127.0.0.1:8443", "http://x", "https://u@h", "HTTPS://h/p/?", "https://[::1]:1/", "javascript:alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseServerURL(s)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("ParseServerURL(%q) err = %v, want ErrInvalid", s, err)
			}
			return
		}
		if u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || strings.HasSuffix(u.Path, "/") {
			t.Fatalf("ParseServerURL(%q) accepted %q", s, u)
		}
	})
}

func TestACallToNoServerSaysSoInOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New("https://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ForgotPassword(context.Background(), "ann@example.com")
	if want := "forgot password: cannot connect to " + addr + ": connection refused"; !errors.Is(err, model.ErrUnavailable) || err.Error() != want {
		t.Fatalf("ForgotPassword = %q, want ErrUnavailable saying %q", err, want)
	}
	// A step of signing in names no step of its own: the caller says
	// what it was doing.
	_, err = c.Prelogin(context.Background(), "ann")
	if want := "cannot connect to " + addr + ": connection refused"; !errors.Is(err, model.ErrUnavailable) || err.Error() != want {
		t.Fatalf("Prelogin = %q, want ErrUnavailable saying %q", err, want)
	}
}

// A certificate that does not verify is told in one sentence that says
// what to do: trusting the CA helps with an unknown CA, not with a
// certificate for other names or one out of date. The x509 and tls
// details stay out of it.
func TestCertificateErrorsSayWhatToDo(t *testing.T) {
	ca := newTestCA(t, "server CA")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, syncproto.StatusResponse{}) })
	otherName := serveCert(t, ca.leafWith(t, func(c *x509.Certificate) { c.DNSNames, c.IPAddresses = []string{"sync.example.com"}, nil }), ok)
	expired := serveCert(t, ca.leafWith(t, func(c *x509.Certificate) { c.NotAfter = time.Now().Add(-time.Minute) }), ok)
	good := serveCert(t, ca.leaf(t), ok)
	tests := []struct {
		name, url, caFile string
		want              string
	}{
		{"an unknown CA", good, "", "is not signed by a CA this computer trusts" + TrustCAHint},
		{"a certificate for another name", otherName, ca.file(t),
			"is not valid for the name 127.0.0.1 (it is for sync.example.com): connect with a name it holds, or give the server a certificate for 127.0.0.1"},
		{"an expired certificate", expired, ca.file(t), "has expired or is not valid yet: check this computer's clock, or renew the server's certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.url, Options{CAFile: tt.caFile, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(tt.url, "https://")
			err = c.ForgotPassword(context.Background(), "ann@example.com")
			if want := "forgot password: the certificate of " + host + " " + tt.want; err == nil || err.Error() != want {
				t.Fatalf("err = %q, want %q", err, want)
			}
			if !errors.Is(err, model.ErrUnavailable) {
				t.Errorf("err = %v, want it to wrap ErrUnavailable", err)
			}
			if tt.caFile != "" && strings.Contains(err.Error(), "CA") {
				t.Errorf("err = %q: trusting a CA would not help", err)
			}
		})
	}
}

// A server that does not answer is told as such, with what to do, not
// as net/http's words nor as the caller's context running out.
func TestASilentServerDidNotAnswerInTime(t *testing.T) {
	ln := silent.Listen(t, "127.0.0.1:0") // accepts, and never says a word
	addr := ln.Addr().String()
	want := "list devices: " + addr + " did not answer in time; check that the server is running and reachable, then try again"
	c, err := New("https://"+addr, Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WithToken("t").Sessions(context.Background())
	if err == nil || err.Error() != want || !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("the client's time-out: %q, want %q", err, want)
	}
	c, err = New("https://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.WithToken("t").Sessions(ctx)
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the caller's deadline: %q, want %q", err, want)
	}
}
