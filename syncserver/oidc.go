package syncserver

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/oauth2"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// oidcScopes are the scopes asked of every provider.
var oidcScopes = []string{oidc.ScopeOpenID, "email", "profile"}

// maxOIDCSpent bounds the used flows and tickets remembered in memory.
const maxOIDCSpent = 100_000

// oidcState is the server's OIDC side: the providers (discovery cached
// after the first success), and the key that seals flows and sign-up
// tickets. A flow's state and a ticket are the flow and the identity
// themselves, sealed (XChaCha20-Poly1305) with a key kept in the storage,
// so any replica sharing the database can finish what another started: no
// sticky sessions. Each replica remembers the states and tickets it has
// used until they expire; a state replayed on another replica is stopped
// by the provider, whose authorization code is single-use and bound to the
// flow's PKCE verifier.
type oidcState struct {
	store     OIDCStorage
	client    *http.Client
	now       func() time.Time
	providers map[string]*oidcProvider
	order     []string
	aead      cipher.AEAD

	mu    sync.Mutex
	spent map[string]time.Time // hash of a used state or ticket -> its expiry
}

// oidcFlow is a started flow: what finish needs to check the answer.
type oidcFlow struct {
	provider, nonce, verifier, redirect string
	// linkAccount is the account to link the identity to (a flow started
	// with Link from a signed-in session), or empty.
	linkAccount string
	expires     time.Time
}

// oidcTicket is a verified identity waiting for its sign-up.
type oidcTicket struct {
	provider, subject, email string
	expires                  time.Time
}

// sealedFlow and sealedTicket are what the sealed tokens hold.
type sealedFlow struct {
	Provider    string `json:"p"`
	Nonce       string `json:"n"`
	Verifier    string `json:"v"`
	Redirect    string `json:"r"`
	LinkAccount string `json:"l,omitempty"`
	Expires     int64  `json:"e"`
}

type sealedTicket struct {
	Provider string `json:"p"`
	Subject  string `json:"s"`
	Email    string `json:"m"`
	Expires  int64  `json:"e"`
}

type oidcProvider struct {
	cfg OIDCProvider
	mu  sync.Mutex
	p   *oidc.Provider
}

// newOIDCState checks the providers and loads the sealing key; nil when
// no provider is configured.
func newOIDCState(ctx context.Context, cfg Config) (*oidcState, error) {
	if len(cfg.OIDC) == 0 {
		return nil, nil
	}
	st, ok := cfg.Storage.(OIDCStorage)
	if !ok {
		return nil, fmt.Errorf("config: OIDC providers need a storage backend with OIDC support: %w", model.ErrInvalid)
	}
	key, err := cfg.Storage.LoadOrCreateSecret(ctx, "oidc-seal", chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("load server secret: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("oidc sealing key: %w", err)
	}
	o := &oidcState{store: st, client: cfg.OIDCClient, now: cfg.Now, providers: map[string]*oidcProvider{},
		aead: aead, spent: map[string]time.Time{}}
	if o.client == nil {
		o.client = &http.Client{Timeout: 15 * time.Second}
	}
	for _, p := range cfg.OIDC {
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if o.providers[p.Name] != nil {
			return nil, fmt.Errorf("config: oidc provider %s given twice: %w", p.Name, model.ErrInvalid)
		}
		o.providers[p.Name] = &oidcProvider{cfg: p}
		o.order = append(o.order, p.Name)
	}
	return o, nil
}

// discover returns the provider's discovery document, fetching it on the
// first call that succeeds and caching it (with its key set) afterwards.
func (o *oidcState) discover(ctx context.Context, p *oidcProvider) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		return p.p, nil
	}
	d, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s at %s: %v: %w", p.cfg.Name, p.cfg.Issuer, err, model.ErrUnavailable)
	}
	p.p = d
	return d, nil
}

func (p *oidcProvider) oauth(d *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: d.Endpoint(), RedirectURL: redirect, Scopes: oidcScopes}
}

// Token kinds: the associated data of a sealed token, so a ticket is
// never taken for a state or the other way round.
const (
	kindFlow   = "courier/oidc/flow/v1"
	kindTicket = "courier/oidc/ticket/v1"
)

// seal returns v sealed as a base64url token of kind.
func (o *oidcState) seal(kind string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", kind, err)
	}
	nonce := make([]byte, o.aead.NonceSize(), o.aead.NonceSize()+len(b)+o.aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(o.aead.Seal(nonce, nonce, b, []byte(kind))), nil
}

// open decodes a token of kind into v; false when it is not one this
// server sealed.
func (o *oidcState) open(kind, token string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < o.aead.NonceSize()+o.aead.Overhead() {
		return false
	}
	n := o.aead.NonceSize()
	plain, err := o.aead.Open(nil, b[:n], b[n:], []byte(kind))
	return err == nil && json.Unmarshal(plain, v) == nil
}

// spend marks token used until expires; false when it already was.
func (o *oidcState) spend(token string, expires time.Time) bool {
	k := string(tokenHash(token))
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, used := o.spent[k]; used {
		return false
	}
	if len(o.spent) >= maxOIDCSpent {
		now := o.now()
		for t, exp := range o.spent {
			if !now.Before(exp) {
				delete(o.spent, t)
			}
		}
	}
	o.spent[k] = expires
	return true
}

// unspend forgets that token was used (a sign-up whose username was
// taken may try another).
func (o *oidcState) unspend(token string) {
	o.mu.Lock()
	delete(o.spent, string(tokenHash(token)))
	o.mu.Unlock()
}

// putFlow returns the state that carries f.
func (o *oidcState) putFlow(f oidcFlow) (string, error) {
	return o.seal(kindFlow, sealedFlow{Provider: f.provider, Nonce: f.nonce, Verifier: f.verifier, Redirect: f.redirect,
		LinkAccount: f.linkAccount, Expires: f.expires.UnixMilli()})
}

// takeFlow returns the live flow of state for provider and marks it used:
// a state is good for one finish only.
func (o *oidcState) takeFlow(provider, state string) (oidcFlow, bool) {
	var w sealedFlow
	if !o.open(kindFlow, state, &w) || w.Provider != provider {
		return oidcFlow{}, false
	}
	f := oidcFlow{provider: w.Provider, nonce: w.Nonce, verifier: w.Verifier, redirect: w.Redirect,
		linkAccount: w.LinkAccount, expires: time.UnixMilli(w.Expires)}
	if !o.now().Before(f.expires) || !o.spend(state, f.expires) {
		return oidcFlow{}, false
	}
	return f, true
}

// putTicket returns the ticket that carries t.
func (o *oidcState) putTicket(t oidcTicket) (string, error) {
	return o.seal(kindTicket, sealedTicket{Provider: t.provider, Subject: t.subject, Email: t.email, Expires: t.expires.UnixMilli()})
}

// takeTicket returns the live ticket and marks it used; unspend makes
// it usable again (after a taken username, so the user may try another).
func (o *oidcState) takeTicket(ticket string) (oidcTicket, bool) {
	var w sealedTicket
	if !o.open(kindTicket, ticket, &w) {
		return oidcTicket{}, false
	}
	t := oidcTicket{provider: w.Provider, subject: w.Subject, email: w.Email, expires: time.UnixMilli(w.Expires)}
	if !o.now().Before(t.expires) || !o.spend(ticket, t.expires) {
		return oidcTicket{}, false
	}
	return t, true
}

// oidcClaims are the ID token claims the server reads.
type oidcClaims struct {
	Email             string       `json:"email"`
	EmailVerified     stringOrBool `json:"email_verified"`
	PreferredUsername string       `json:"preferred_username"`
	Name              string       `json:"name"`
}

// stringOrBool reads a JSON boolean that some providers send as a string.
type stringOrBool bool

func (b *stringOrBool) UnmarshalJSON(p []byte) error {
	switch string(p) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("email_verified %s is not a boolean: %w", p, model.ErrInvalid)
	}
	return nil
}

// verifiedIdentity is what a checked ID token says.
type verifiedIdentity struct {
	subject, email, suggested string
}

var errOIDCRefused = apiErr(syncproto.CodeUnauthorized, "the identity provider's answer could not be verified; sign in again")

// exchange trades the code for tokens (with the flow's PKCE verifier) and
// verifies the ID token: signature against the provider's keys, issuer,
// audience, expiry, then the flow's nonce and a verified email.
func (o *oidcState) exchange(ctx context.Context, p *oidcProvider, f oidcFlow, code string) (verifiedIdentity, error) {
	d, err := o.discover(ctx, p)
	if err != nil {
		return verifiedIdentity{}, err
	}
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := p.oauth(d, f.redirect).Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: code exchange: %v: %w", p.cfg.Name, err, errOIDCRefused)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: no id_token in the answer: %w", p.cfg.Name, errOIDCRefused)
	}
	idt, err := d.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: o.now}).Verify(ctx, raw)
	if err != nil {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: id token: %v: %w", p.cfg.Name, err, errOIDCRefused)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.nonce)) != 1 {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: id token nonce does not match the flow: %w", p.cfg.Name, errOIDCRefused)
	}
	var c oidcClaims
	if err := idt.Claims(&c); err != nil {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: id token claims: %v: %w", p.cfg.Name, err, errOIDCRefused)
	}
	email := syncproto.NormalizeEmail(c.Email)
	if !c.EmailVerified || syncproto.ValidateEmail(email) != nil {
		return verifiedIdentity{}, apiErr(syncproto.CodeUnauthorized, p.cfg.label()+" did not confirm a verified email address for this account; verify it there, or sign up with a password")
	}
	if idt.Subject == "" || len(idt.Subject) > 255 {
		return verifiedIdentity{}, fmt.Errorf("oidc %s: id token subject missing or too long: %w", p.cfg.Name, errOIDCRefused)
	}
	return verifiedIdentity{subject: idt.Subject, email: email, suggested: suggestUsername(c.PreferredUsername, email)}, nil
}

// suggestUsername proposes a valid username from the provider's claims,
// or "".
func suggestUsername(preferred, email string) string {
	for _, s := range []string{preferred, localPart(email)} {
		if s = syncproto.NormalizeUsername(s); syncproto.ValidateUsername(s) == nil {
			return s
		}
	}
	return ""
}

func localPart(email string) string {
	for i := range len(email) {
		if email[i] == '@' {
			return email[:i]
		}
	}
	return email
}
