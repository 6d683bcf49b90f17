package syncserver_test

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

const testRedirect = "http://127.0.0.1:43999/callback"

func withOIDC(p ...syncserver.OIDCProvider) envOption {
	return func(c *syncserver.Config) { c.OIDC = p }
}

func startMockOIDC(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

func mockProvider(m *mockoidc.MockOIDC) syncserver.OIDCProvider {
	c := m.Config()
	return syncserver.OIDCProvider{Name: "mock", Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret}
}

func fakeProvider(f *fakeIssuer) syncserver.OIDCProvider {
	return syncserver.OIDCProvider{Name: "fake", Issuer: f.srv.URL, ClientID: f.client, ClientSecret: f.secret}
}

// browse plays the system browser: it follows the authorization URL until
// the provider redirects to the app's loopback address, and returns that
// redirect's code and state.
func browse(t testing.TB, authURL string) (code, state string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "127.0.0.1:43999" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Host != "127.0.0.1:43999" {
		t.Fatalf("authorization ended with %d at %q, want a redirect to the loopback", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// oidcFlow starts a flow, browses, checks the state and finishes.
func (e *env) oidcFlow(provider, bearer string, link bool) (syncproto.OIDCFinishResponse, *syncproto.Error) {
	e.t.Helper()
	t := e.t
	st, err := call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart(provider), bearer, syncproto.OIDCStartRequest{RedirectURI: testRedirect, Link: link})
	mustOK(t, "oidc start", err)
	code, state := browse(t, st.AuthorizationURL)
	if state != st.State {
		t.Fatalf("redirect state %q, want %q", state, st.State)
	}
	return call[syncproto.OIDCFinishResponse](e, "POST", syncproto.PathOIDCFinish(provider), "", syncproto.OIDCFinishRequest{State: state, Code: code, DeviceName: "laptop"})
}

func (e *env) oidcSignUp(ticket, username string, pw password) (syncproto.SignInResponse, *syncproto.Error) {
	e.t.Helper()
	return call[syncproto.SignInResponse](e, "POST", syncproto.PathOIDCSignUp, "", syncproto.OIDCSignUpRequest{
		Ticket: ticket, Username: username, Credentials: pw.creds, RecoveryWrappedKey: randomBytes(72), DeviceName: "laptop"})
}

func TestOIDCSignUpThenSignInWithMockOIDC(t *testing.T) {
	m := startMockOIDC(t)
	e := newEnv(t, withOIDC(mockProvider(m)))
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-jane", Email: "Jane@Example.com", EmailVerified: true, PreferredUsername: "jane"})

	fin, err := e.oidcFlow("mock", "", false)
	mustOK(t, "finish", err)
	if fin.Status != syncproto.OIDCStatusNeedsSignUp || fin.Ticket == "" || fin.Email != "jane@example.com" || fin.SuggestedUsername != "jane" {
		t.Fatalf("finish = %+v, want needs_signup for jane@example.com", fin)
	}
	pw := newPassword("passphrase")
	_, err = e.oidcSignUp("nope", "jane", pw)
	wantCode(t, "sign-up with a made-up ticket", err, syncproto.CodeInvalidCode)
	e.signUpConfirmed("taken", "other@example.com", newPassword("x"))
	_, err = e.oidcSignUp(fin.Ticket, "taken", pw)
	wantCode(t, "sign-up with a taken username", err, syncproto.CodeConflict)
	ticket := fin.Ticket
	sess, err := e.oidcSignUp(ticket, "jane", pw)
	mustOK(t, "sign-up with the ticket after a taken username", err)
	if sess.Token == "" || sess.Username != "jane" || sess.Email != "jane@example.com" || !bytes.Equal(sess.WrappedAccountKey, pw.creds.WrappedAccountKey) {
		t.Fatalf("sign-up session = %+v", sess)
	}
	_, err = e.oidcSignUp(fin.Ticket, "jane2", pw)
	wantCode(t, "ticket used twice", err, syncproto.CodeInvalidCode)

	info, err := call[syncproto.AccountInfo](e, "GET", syncproto.PathAccount, sess.Token, nil)
	mustOK(t, "account", err)
	if !info.EmailConfirmed {
		t.Fatal("an OIDC account's verified email is not confirmed")
	}

	m.QueueUser(&mockoidc.MockUser{Subject: "sub-jane", Email: "jane@example.com", EmailVerified: true})
	fin, err = e.oidcFlow("mock", "", false)
	mustOK(t, "second finish", err)
	if fin.Status != syncproto.OIDCStatusSignedIn || fin.Session == nil || fin.Session.AccountID != sess.AccountID ||
		!bytes.Equal(fin.Session.KDFSalt, pw.creds.KDFSalt) || len(fin.RecoveryWrappedKey) != 72 {
		t.Fatalf("sign-in = %+v, want a session of account %s with its salt", fin, sess.AccountID)
	}
	// The passphrase is the account's password too (change, delete).
	_, err = e.signIn("jane", pw, "cli")
	mustOK(t, "password sign-in with the passphrase", err)
	assertNoSecretsLogged(t, e.logs.String(), fin.Session.Token, sess.Token, ticket)
}

func TestOIDCRefusesUnverifiedEmailFromMockOIDC(t *testing.T) {
	m := startMockOIDC(t)
	e := newEnv(t, withOIDC(mockProvider(m)))
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-x", Email: "x@example.com", EmailVerified: false})
	_, err := e.oidcFlow("mock", "", false)
	wantCode(t, "unverified email", err, syncproto.CodeUnauthorized)
}

func TestOIDCStateMismatchAndReuseAreRefused(t *testing.T) {
	f := newFakeIssuer(t)
	e := newEnv(t, withOIDC(fakeProvider(f)))
	st, err := call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("fake"), "", syncproto.OIDCStartRequest{RedirectURI: testRedirect})
	mustOK(t, "start", err)
	code, state := browse(t, st.AuthorizationURL)
	finish := func(state string) *syncproto.Error {
		_, err := call[syncproto.OIDCFinishResponse](e, "POST", syncproto.PathOIDCFinish("fake"), "", syncproto.OIDCFinishRequest{State: state, Code: code})
		return err
	}
	wantCode(t, "finish with another state", finish(state+"x"), syncproto.CodeInvalidCode)
	mustOK(t, "finish with the right state", finish(state))
	wantCode(t, "finish again with the used state", finish(state), syncproto.CodeInvalidCode)

	st, _ = call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("fake"), "", syncproto.OIDCStartRequest{RedirectURI: testRedirect})
	e.clock.Advance(syncproto.OIDCFlowTTL + time.Second)
	wantCode(t, "finish an expired flow", finish(st.State), syncproto.CodeInvalidCode)
}

func TestOIDCRejectsBadIDTokens(t *testing.T) {
	other := newECKey(t)
	tests := []struct {
		name  string
		spoil func(f *fakeIssuer, earlierNonce string)
		want  syncproto.ErrorCode
	}{
		{"a good token passes", func(*fakeIssuer, string) {}, ""},
		{"an expired token is refused", func(f *fakeIssuer, _ string) {
			f.spoil = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }
		}, syncproto.CodeUnauthorized},
		{"a token signed by another key is refused", func(f *fakeIssuer, _ string) { f.signWith = other }, syncproto.CodeUnauthorized},
		{"a token for another audience is refused", func(f *fakeIssuer, _ string) {
			f.spoil = func(c map[string]any) { c["aud"] = "someone-else" }
		}, syncproto.CodeUnauthorized},
		{"a token from another issuer is refused", func(f *fakeIssuer, _ string) {
			f.spoil = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, syncproto.CodeUnauthorized},
		{"a replayed nonce is refused", func(f *fakeIssuer, earlier string) {
			f.spoil = func(c map[string]any) { c["nonce"] = earlier }
		}, syncproto.CodeUnauthorized},
		{"a token without a nonce is refused", func(f *fakeIssuer, _ string) {
			f.spoil = func(c map[string]any) { delete(c, "nonce") }
		}, syncproto.CodeUnauthorized},
		{"an unverified email is refused", func(f *fakeIssuer, _ string) { f.claims["email_verified"] = false }, syncproto.CodeUnauthorized},
		{"an email verified as a string passes", func(f *fakeIssuer, _ string) { f.claims["email_verified"] = "true" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			e := newEnv(t, withOIDC(fakeProvider(f)))
			_, err := e.oidcFlow("fake", "", false) // an earlier, good flow
			mustOK(t, "earlier flow", err)
			earlier := f.lastNonce()
			f.set(func(f *fakeIssuer) { tt.spoil(f, earlier) })
			fin, err := e.oidcFlow("fake", "", false)
			if tt.want == "" {
				mustOK(t, "finish", err)
				if fin.Status != syncproto.OIDCStatusNeedsSignUp {
					t.Fatalf("finish = %+v", fin)
				}
				return
			}
			wantCode(t, "finish", err, tt.want)
		})
	}
}

func TestOIDCNeverTakesOverAPasswordAccountButLinksFromItsSession(t *testing.T) {
	f := newFakeIssuer(t)
	e := newEnv(t, withOIDC(fakeProvider(f)))
	pw := newPassword("hunter2")
	e.signUpConfirmed("owner", "fake@example.com", pw) // the fake's identity has this email

	_, err := e.oidcFlow("fake", "", false)
	wantCode(t, "OIDC sign-in to an unlinked account with the same email", err, syncproto.CodeConflict)

	_, serr := call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("fake"), "bogus", syncproto.OIDCStartRequest{RedirectURI: testRedirect, Link: true})
	wantCode(t, "link without a session", serr, syncproto.CodeUnauthorized)

	sess, err := e.signIn("owner", pw, "desk")
	mustOK(t, "password sign-in", err)
	fin, err := e.oidcFlow("fake", sess.Token, true)
	mustOK(t, "link from the password session", err)
	if fin.Status != syncproto.OIDCStatusLinked || fin.Session != nil {
		t.Fatalf("link = %+v", fin)
	}
	ids, err := call[syncproto.OIDCIdentitiesResponse](e, "GET", syncproto.PathOIDCIdentities, sess.Token, nil)
	mustOK(t, "identities", err)
	if len(ids.Identities) != 1 || ids.Identities[0].Provider != "fake" || ids.Identities[0].Email != "fake@example.com" {
		t.Fatalf("identities after link = %+v", ids)
	}
	fin, err = e.oidcFlow("fake", "", false)
	mustOK(t, "OIDC sign-in after the link", err)
	if fin.Status != syncproto.OIDCStatusSignedIn || fin.Session.AccountID != sess.AccountID {
		t.Fatalf("sign-in after link = %+v, want account %s", fin, sess.AccountID)
	}

}

func TestOIDCRoutesAndInputs(t *testing.T) {
	f := newFakeIssuer(t)
	e := newEnv(t, withOIDC(fakeProvider(f)))
	list, err := call[syncproto.OIDCProvidersResponse](e, "GET", syncproto.PathOIDCProviders, "", nil)
	mustOK(t, "providers", err)
	if len(list.Providers) != 1 || list.Providers[0].Name != "fake" {
		t.Fatalf("providers = %+v", list)
	}
	_, err = call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("nope"), "", syncproto.OIDCStartRequest{RedirectURI: testRedirect})
	wantCode(t, "unknown provider", err, syncproto.CodeNotFound)
	for _, uri := range []string{"https://evil.example/callback", "http://localhost:1/callback", "http://127.0.0.1/callback", "http://127.0.0.1:5/other", "http://10.0.0.1:5/callback"} {
		_, err = call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("fake"), "", syncproto.OIDCStartRequest{RedirectURI: uri})
		wantCode(t, "redirect "+uri, err, syncproto.CodeInvalidInput)
	}
	st, err := call[syncproto.OIDCStartResponse](e, "POST", syncproto.PathOIDCStart("fake"), "", syncproto.OIDCStartRequest{RedirectURI: testRedirect})
	mustOK(t, "start", err)
	q, _ := url.Parse(st.AuthorizationURL)
	v := q.Query()
	if v.Get("code_challenge_method") != "S256" || v.Get("code_challenge") == "" || v.Get("nonce") == "" || v.Get("state") != st.State || v.Get("redirect_uri") != testRedirect {
		t.Fatalf("authorization URL %s lacks PKCE S256, nonce, state or redirect", st.AuthorizationURL)
	}
}

func TestOIDCWithoutProvidersHasNoRoutes(t *testing.T) {
	e := newEnv(t)
	_, err := call[syncproto.OIDCProvidersResponse](e, "GET", syncproto.PathOIDCProviders, "", nil)
	wantCode(t, "providers on a server without OIDC", err, syncproto.CodeNotFound)
}

// BenchmarkOIDCSignIn measures a whole provider sign-in of a linked
// identity (start, the provider's redirect, finish with the code exchange
// and ID token check) against a password sign-in on the same server
// (the server side of it: the client's Argon2id is not included).
func BenchmarkOIDCSignIn(b *testing.B) {
	f := newFakeIssuer(b)
	e := newEnv(b, withOIDC(fakeProvider(f)), withLimits(syncserver.NoLimits()))
	pw := newPassword("benchmark password")
	e.signUpConfirmed("bench", "fake@example.com", pw)
	sess, err := e.signIn("bench", pw, "bench")
	mustOK(b, "sign in", err)
	_, err = e.oidcFlow("fake", sess.Token, true)
	mustOK(b, "link", err)
	b.Run("courier", func(b *testing.B) {
		for b.Loop() {
			fin, err := e.oidcFlow("fake", "", false)
			if err != nil || fin.Status != syncproto.OIDCStatusSignedIn {
				b.Fatalf("finish = %+v, %v", fin, err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			_, err := e.signIn("bench", pw, "bench")
			mustOK(b, "sign in", err)
		}
	})
}
