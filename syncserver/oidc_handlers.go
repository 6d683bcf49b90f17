package syncserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// oidcRoutes registers the OIDC routes when providers are configured.
func (s *Server) oidcRoutes(handle func(string, handlerFunc)) {
	if s.oidc == nil {
		return
	}
	handle("GET "+syncproto.PathOIDCProviders, s.handleOIDCProviders)
	handle("POST "+syncproto.PathOIDCStart("{provider}"), s.handleOIDCStart)
	handle("POST "+syncproto.PathOIDCFinish("{provider}"), s.handleOIDCFinish)
	handle("POST "+syncproto.PathOIDCSignUp, s.handleOIDCSignUp)
	handle("GET "+syncproto.PathOIDCIdentities, s.authed(s.handleOIDCIdentities))
}

func (s *Server) handleOIDCIdentities(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, err := s.oidc.store.Identities(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	out := syncproto.OIDCIdentitiesResponse{Identities: make([]syncproto.OIDCIdentity, 0, len(list))}
	for _, id := range list {
		out.Identities = append(out.Identities, syncproto.OIDCIdentity{Provider: id.Provider, Email: id.Email, LinkedAt: id.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleOIDCProviders(w http.ResponseWriter, _ *http.Request) error {
	out := syncproto.OIDCProvidersResponse{Providers: []syncproto.OIDCProviderInfo{}}
	for _, name := range s.oidc.order {
		out.Providers = append(out.Providers, syncproto.OIDCProviderInfo{Name: name, DisplayName: s.oidc.providers[name].cfg.label()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) oidcProvider(r *http.Request) (*oidcProvider, error) {
	name := r.PathValue("provider")
	p := s.oidc.providers[name]
	if p == nil {
		return nil, apiErr(syncproto.CodeNotFound, "this server offers no sign-in provider named "+name)
	}
	return p, nil
}

// handleOIDCStart makes the state, nonce and PKCE verifier, keeps them,
// and answers the provider's authorization URL.
func (s *Server) handleOIDCStart(w http.ResponseWriter, r *http.Request) error {
	p, err := s.oidcProvider(r)
	if err != nil {
		return err
	}
	var req syncproto.OIDCStartRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	if err := s.signIn.check(r.Context(), clientIP(r), ""); err != nil {
		return err
	}
	f := oidcFlow{provider: p.cfg.Name, nonce: newToken(), verifier: oauth2.GenerateVerifier(),
		redirect: req.RedirectURI, expires: s.now().Add(syncproto.OIDCFlowTTL)}
	if req.Link {
		sess, err := s.session(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		f.linkAccount = sess.AccountID
	}
	d, err := s.oidc.discover(r.Context(), p)
	if err != nil {
		return err
	}
	state, err := s.oidc.putFlow(f)
	if err != nil {
		return err
	}
	u := p.oauth(d, f.redirect).AuthCodeURL(state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	writeJSON(w, http.StatusOK, syncproto.OIDCStartResponse{AuthorizationURL: u, State: state})
	return nil
}

// handleOIDCFinish consumes the flow, exchanges the code, verifies the ID
// token, then links, signs in, or hands out a sign-up ticket.
func (s *Server) handleOIDCFinish(w http.ResponseWriter, r *http.Request) error {
	p, err := s.oidcProvider(r)
	if err != nil {
		return err
	}
	var req syncproto.OIDCFinishRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	if err := s.signIn.check(r.Context(), clientIP(r), ""); err != nil {
		return err
	}
	f, ok := s.oidc.takeFlow(p.cfg.Name, req.State)
	if !ok {
		return apiErr(syncproto.CodeInvalidCode, "this sign-in is unknown, used or expired; start again")
	}
	id, err := s.oidc.exchange(r.Context(), p, f, req.Code)
	if err != nil {
		if errors.Is(err, errOIDCRefused) {
			s.log.Warn("oidc sign-in refused", "provider", p.cfg.Name, "err", err)
		}
		return err
	}
	resp, err := s.oidcOutcome(r.Context(), p, f, id, req.DeviceName)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// oidcOutcome decides what a verified identity does: link to the flow's
// account, sign in to its linked account, or (when no account has its
// email) get a sign-up ticket. An account with the same email that the
// identity is not linked to is never signed in to: that would let whoever
// controls the email at the provider take it over.
func (s *Server) oidcOutcome(ctx context.Context, p *oidcProvider, f oidcFlow, id verifiedIdentity, device string) (syncproto.OIDCFinishResponse, error) {
	ident := Identity{Provider: p.cfg.Name, Subject: id.subject, AccountID: f.linkAccount, Email: id.email, CreatedAt: s.now()}
	if f.linkAccount != "" {
		err := s.oidc.store.LinkIdentity(ctx, ident)
		if errors.Is(err, ErrIdentityTaken) {
			return syncproto.OIDCFinishResponse{}, apiErr(syncproto.CodeConflict, "this "+p.cfg.label()+" account already signs in to another Courier account")
		}
		if err != nil {
			return syncproto.OIDCFinishResponse{}, err
		}
		s.log.Info("oidc identity linked", "provider", p.cfg.Name, "account", f.linkAccount)
		return syncproto.OIDCFinishResponse{Status: syncproto.OIDCStatusLinked}, nil
	}
	linked, err := s.oidc.store.IdentityBySubject(ctx, p.cfg.Name, id.subject)
	if err == nil {
		acct, err := s.store.Account(ctx, linked.AccountID)
		if err != nil {
			return syncproto.OIDCFinishResponse{}, err
		}
		sess, err := s.openSession(ctx, acct, device)
		if err != nil {
			return syncproto.OIDCFinishResponse{}, err
		}
		return syncproto.OIDCFinishResponse{Status: syncproto.OIDCStatusSignedIn, Session: &sess, RecoveryWrappedKey: acct.Secrets.RecoveryWrappedKey}, nil
	}
	if !errors.Is(err, model.ErrNotFound) {
		return syncproto.OIDCFinishResponse{}, err
	}
	if _, err := s.store.AccountByEmail(ctx, id.email); err == nil {
		return syncproto.OIDCFinishResponse{}, apiErr(syncproto.CodeConflict, "an account with this email exists: sign in with its password, then link "+p.cfg.label()+" from the account menu")
	} else if !errors.Is(err, model.ErrNotFound) {
		return syncproto.OIDCFinishResponse{}, err
	}
	ticket, err := s.oidc.putTicket(oidcTicket{provider: p.cfg.Name, subject: id.subject, email: id.email, expires: s.now().Add(syncproto.OIDCTicketTTL)})
	if err != nil {
		return syncproto.OIDCFinishResponse{}, err
	}
	return syncproto.OIDCFinishResponse{Status: syncproto.OIDCStatusNeedsSignUp, Ticket: ticket, Email: id.email, SuggestedUsername: id.suggested}, nil
}

// handleOIDCSignUp creates the account of a ticket's identity with the
// passphrase's credentials and signs it in. The email is confirmed: the
// provider verified it.
func (s *Server) handleOIDCSignUp(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.OIDCSignUpRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	if err := s.signUp.check(r.Context(), clientIP(r), ""); err != nil {
		return err
	}
	t, ok := s.oidc.takeTicket(req.Ticket)
	if !ok {
		return apiErr(syncproto.CodeInvalidCode, "this sign-up is unknown, used or expired; sign in with the provider again")
	}
	now := s.now()
	acct := Account{ID: string(model.NewID()), Username: syncproto.NormalizeUsername(req.Username), Email: t.email,
		EmailConfirmed: true, CreatedAt: now, Secrets: AccountSecrets{KDFSalt: req.KDFSalt, KDFParams: req.KDFParams,
			AuthHash: authHash(req.AuthKey), WrappedAccountKey: req.WrappedAccountKey, RecoveryWrappedKey: req.RecoveryWrappedKey}}
	err := s.oidc.store.CreateOIDCAccount(r.Context(), acct, Identity{Provider: t.provider, Subject: t.subject, AccountID: acct.ID, Email: t.email, CreatedAt: now})
	switch {
	case errors.Is(err, ErrUsernameTaken):
		s.oidc.unspend(req.Ticket)
		return apiErr(syncproto.CodeConflict, "the username "+acct.Username+" is taken; choose another")
	case errors.Is(err, ErrEmailTaken), errors.Is(err, ErrIdentityTaken):
		return apiErr(syncproto.CodeConflict, "an account for this identity or email was created meanwhile; sign in instead")
	case err != nil:
		return err
	}
	s.log.Info("oidc account created", "provider", t.provider, "account", acct.ID)
	sess, err := s.openSession(r.Context(), acct, req.DeviceName)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// openSession creates a session for acct and returns it as sign-in does.
func (s *Server) openSession(ctx context.Context, acct Account, device string) (syncproto.SignInResponse, error) {
	token := newToken()
	now := s.now()
	if device == "" {
		device = "unnamed device"
	}
	sess := Session{ID: string(model.NewID()), AccountID: acct.ID, TokenHash: tokenHash(token), DeviceName: device, CreatedAt: now, LastSeenAt: now}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return syncproto.SignInResponse{}, err
	}
	return syncproto.SignInResponse{
		Token: token, SessionID: sess.ID, AccountID: acct.ID, Username: acct.Username, Email: acct.Email,
		WrappedAccountKey: acct.Secrets.WrappedAccountKey, KDFSalt: acct.Secrets.KDFSalt, KDFParams: acct.Secrets.KDFParams,
	}, nil
}
