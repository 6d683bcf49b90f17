package syncserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeIssuer is a small OpenID provider on loopback (plain http, which
// the server allows for loopback issuers): discovery, JWKS, an authorize
// endpoint that redirects at once, and a token endpoint that checks the
// client secret and PKCE and mints ID tokens a test may spoil.
type fakeIssuer struct {
	t      testing.TB
	srv    *httptest.Server
	key    *ecdsa.PrivateKey // published in the JWKS
	client string
	secret string

	mu    sync.Mutex
	codes map[string]fakeGrant
	// claims is the identity of the next grants.
	claims map[string]any
	// spoil changes the claims of an ID token before it is signed.
	spoil func(c map[string]any)
	// signWith, when set, signs instead of key (same key id).
	signWith *ecdsa.PrivateKey
	nonces   []string
}

type fakeGrant struct{ nonce, challenge, redirect string }

func newFakeIssuer(t testing.TB) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{t: t, key: newECKey(t), client: "courier-test", secret: "s3cret", codes: map[string]fakeGrant{},
		claims: map[string]any{"sub": "fake-sub-1", "email": "fake@example.com", "email_verified": true}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /jwks", f.jwks)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fakeIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	u := f.srv.URL
	json.NewEncoder(w).Encode(map[string]any{
		"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token", "jwks_uri": u + "/jwks",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"}, "code_challenge_methods_supported": []string{"S256"},
	})
}

func (f *fakeIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

func (f *fakeIssuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.client || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	code := base64.RawURLEncoding.EncodeToString(randomBytes(16))
	f.mu.Lock()
	f.codes[code] = fakeGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	f.nonces = append(f.nonces, q.Get("nonce"))
	f.mu.Unlock()
	to, _ := url.Parse(q.Get("redirect_uri"))
	to.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (f *fakeIssuer) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	g, found := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case id != f.client || secret != f.secret:
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	case !found || g.redirect != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": f.mint(g.nonce)})
}

// mint signs an ID token for the current identity and nonce.
func (f *fakeIssuer) mint(nonce string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	c := map[string]any{"iss": f.srv.URL, "aud": f.client, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": nonce}
	for k, v := range f.claims {
		c[k] = v
	}
	if f.spoil != nil {
		f.spoil(c)
	}
	key := f.key
	if f.signWith != nil {
		key = f.signWith
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		f.t.Error(err)
		return ""
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		f.t.Error(err)
		return ""
	}
	s, _ := jws.CompactSerialize()
	return s
}

func (f *fakeIssuer) set(fn func(f *fakeIssuer)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeIssuer) lastNonce() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nonces[len(f.nonces)-1]
}
