package syncserver

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

var sentBody = syncproto.StatusResponse{Status: syncproto.StatusSent}
var okBody = syncproto.StatusResponse{Status: syncproto.StatusOK}

// handleSignUp validates, checks the username, and queues the rest (create
// the account and send the confirmation, or tell the owner of a taken
// address): the answer and its timing are the same whether or not the
// email is taken. The account exists once the queue has run.
func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.SignUpRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	req.Email, req.Username = syncproto.NormalizeEmail(req.Email), syncproto.NormalizeUsername(req.Username)
	if err := s.signUp.check(r.Context(), clientIP(r), req.Email); err != nil {
		return err
	}
	_, err := s.store.AccountByUsername(r.Context(), req.Username)
	if err == nil {
		return apiErr(syncproto.CodeConflict, "the username "+req.Username+" is taken; choose another")
	}
	if !errors.Is(err, model.ErrNotFound) {
		return err
	}
	if err := s.enqueue(mailJob{kind: jobSignUp, email: req.Email, signUp: &req}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, sentBody)
	return nil
}

// handlePrelogin answers the real salt and params, or for an unknown
// identifier a fake salt (HMAC of the identifier) with the default params.
// Both paths do the same work.
func (s *Server) handlePrelogin(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.PreloginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := syncproto.ValidateIdentifier(req.Identifier); err != nil {
		return invalid(err)
	}
	id := syncproto.NormalizeIdentifier(req.Identifier)
	resp := syncproto.PreloginResponse{KDFSalt: keyed(s.preloginKey, id)[:16], KDFParams: syncproto.DefaultKDFParams}
	acct, err := s.lookup(r.Context(), id)
	switch {
	case err == nil:
		resp = syncproto.PreloginResponse{KDFSalt: acct.Secrets.KDFSalt, KDFParams: acct.Secrets.KDFParams}
	case !errors.Is(err, model.ErrNotFound):
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

var errBadCredentials = apiErr(syncproto.CodeUnauthorized, "wrong username, email or password")

// handleSignIn checks the authKey (against a dummy hash for unknown
// identifiers, so both take the same time) and opens a session.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.SignInRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.signIn.check(r.Context(), clientIP(r), syncproto.NormalizeIdentifier(req.Identifier)); err != nil {
		return err
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	acct, err := s.lookup(ctx, req.Identifier)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return err
	}
	stored := s.preloginKey // never a SHA-256 of anything, so it never matches
	if err == nil {
		stored = acct.Secrets.AuthHash
	}
	if !authMatches(req.AuthKey, stored) || err != nil {
		return errBadCredentials
	}
	if !acct.EmailConfirmed {
		return apiErr(syncproto.CodeEmailUnconfirmed, "confirm your email address first: follow the link we sent, or ask for a new one")
	}
	token := newToken()
	now := s.now()
	name := req.DeviceName
	if name == "" {
		name = "unnamed device"
	}
	sess := Session{ID: string(model.NewID()), AccountID: acct.ID, TokenHash: tokenHash(token), DeviceName: name, CreatedAt: now, LastSeenAt: now}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, syncproto.SignInResponse{
		Token: token, SessionID: sess.ID, AccountID: acct.ID, Username: acct.Username, Email: acct.Email,
		WrappedAccountKey: acct.Secrets.WrappedAccountKey, KDFSalt: acct.Secrets.KDFSalt, KDFParams: acct.Secrets.KDFParams,
	})
	return nil
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request, sess Session) error {
	if err := s.store.DeleteSession(r.Context(), sess.AccountID, sess.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request, sess Session) error {
	acct, err := s.store.Account(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, syncproto.AccountInfo{
		AccountID: acct.ID, Username: acct.Username, Email: acct.Email, EmailConfirmed: acct.EmailConfirmed,
		CreatedAt: acct.CreatedAt, KDFParams: acct.Secrets.KDFParams,
	})
	return nil
}

// checkPassword re-checks the authKey of a signed-in account, under the
// sign-in rate limit of that account.
func (s *Server) checkPassword(r *http.Request, accountID string, authKey []byte) (Account, error) {
	if err := s.signIn.check(r.Context(), clientIP(r), "account:"+accountID); err != nil {
		return Account{}, err
	}
	acct, err := s.store.Account(r.Context(), accountID)
	if err != nil {
		return Account{}, err
	}
	if !authMatches(authKey, acct.Secrets.AuthHash) {
		return Account{}, apiErr(syncproto.CodeUnauthorized, "wrong password")
	}
	return acct, nil
}

func (s *Server) handleDeleteAccount(w http.ResponseWriter, r *http.Request, sess Session) error {
	var req syncproto.DeleteAccountRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	acct, err := s.checkPassword(r, sess.AccountID, req.AuthKey)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAccount(r.Context(), acct.ID); err != nil {
		return err
	}
	s.log.Info("account deleted", "account", acct.ID)
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, err := s.store.Sessions(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	out := syncproto.SessionsResponse{Sessions: make([]syncproto.SessionInfo, 0, len(list))}
	for _, x := range list {
		out.Sessions = append(out.Sessions, syncproto.SessionInfo{
			ID: x.ID, DeviceName: x.DeviceName, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, Current: x.ID == sess.ID,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request, sess Session) error {
	id := r.PathValue("id")
	err := s.store.DeleteSession(r.Context(), sess.AccountID, id)
	if errors.Is(err, model.ErrNotFound) {
		return apiErr(syncproto.CodeNotFound, fmt.Sprintf("this account has no device with the ID %.64q", id))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okBody)
	return nil
}
