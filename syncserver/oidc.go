package syncserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// oidcScopes are the scopes asked of every provider.
var oidcScopes = []string{oidc.ScopeOpenID, "email", "profile"}

// maxOIDCPending bounds the flows and tickets held in memory.
const maxOIDCPending = 10_000

// oidcState is the server's OIDC side: the providers (discovery cached
// after the first success) and the flows and sign-up tickets in flight.
// Flows and tickets live in this process's memory: with several replicas
// the load balancer must send a client's start and finish to the same one
// (or the flow is answered invalid_code and the user starts again).
type oidcState struct {
	store     OIDCStorage
	client    *http.Client
	now       func() time.Time
	providers map[string]*oidcProvider
	order     []string

	mu      sync.Mutex
	flows   map[string]oidcFlow   // state -> flow
	tickets map[string]oidcTicket // tokenHash(ticket) -> ticket
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

type oidcProvider struct {
	cfg OIDCProvider
	mu  sync.Mutex
	p   *oidc.Provider
}

// newOIDCState checks the providers; nil when none is configured.
func newOIDCState(cfg Config) (*oidcState, error) {
	if len(cfg.OIDC) == 0 {
		return nil, nil
	}
	st, ok := cfg.Storage.(OIDCStorage)
	if !ok {
		return nil, fmt.Errorf("config: OIDC providers need a storage backend with OIDC support: %w", model.ErrInvalid)
	}
	o := &oidcState{store: st, client: cfg.OIDCClient, now: cfg.Now, providers: map[string]*oidcProvider{},
		flows: map[string]oidcFlow{}, tickets: map[string]oidcTicket{}}
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

// putFlow stores f under a new state and returns the state.
func (o *oidcState) putFlow(f oidcFlow) (string, error) {
	state := newToken()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.flows) >= maxOIDCPending {
		sweepExpired(o.flows, o.now(), func(f oidcFlow) time.Time { return f.expires })
		if len(o.flows) >= maxOIDCPending {
			return "", apiErr(syncproto.CodeUnavailable, "too many sign-ins in progress; try again in a minute")
		}
	}
	o.flows[state] = f
	return state, nil
}

// takeFlow removes and returns the live flow of state for provider: a
// state is good for one finish only.
func (o *oidcState) takeFlow(provider, state string) (oidcFlow, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, ok := o.flows[state]
	delete(o.flows, state)
	if !ok || f.provider != provider || !o.now().Before(f.expires) {
		return oidcFlow{}, false
	}
	return f, true
}

// putTicket stores t and returns the ticket string.
func (o *oidcState) putTicket(t oidcTicket) (string, error) {
	ticket := newToken()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tickets) >= maxOIDCPending {
		sweepExpired(o.tickets, o.now(), func(t oidcTicket) time.Time { return t.expires })
		if len(o.tickets) >= maxOIDCPending {
			return "", apiErr(syncproto.CodeUnavailable, "too many sign-ups in progress; try again in a minute")
		}
	}
	o.tickets[string(tokenHash(ticket))] = t
	return ticket, nil
}

// takeTicket removes and returns the live ticket; giveBack puts it back
// (after a taken username, so the user may try another).
func (o *oidcState) takeTicket(ticket string) (oidcTicket, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := string(tokenHash(ticket))
	t, ok := o.tickets[k]
	delete(o.tickets, k)
	if !ok || !o.now().Before(t.expires) {
		return oidcTicket{}, false
	}
	return t, true
}

func (o *oidcState) giveBack(ticket string, t oidcTicket) {
	o.mu.Lock()
	o.tickets[string(tokenHash(ticket))] = t
	o.mu.Unlock()
}

func sweepExpired[V any](m map[string]V, now time.Time, exp func(V) time.Time) {
	for k, v := range m {
		if !now.Before(exp(v)) {
			delete(m, k)
		}
	}
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
