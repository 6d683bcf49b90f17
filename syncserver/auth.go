package syncserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// touchEvery is how stale a session's LastSeenAt may get before a request
// rewrites it; it keeps reads from turning into writes.
const touchEvery = time.Minute

type sessionHandler func(w http.ResponseWriter, r *http.Request, sess Session) error

var errNoSession = apiErr(syncproto.CodeUnauthorized, "sign in again: the session is missing, invalid, expired or revoked")

// authed runs h with the session named by the bearer token, or answers
// 401 unauthorized.
func (s *Server) authed(h sessionHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := s.session(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		return h(w, r, sess)
	}
}

func (s *Server) session(ctx context.Context, header string) (Session, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > syncproto.MaxTokenLen {
		return Session{}, errNoSession
	}
	sess, err := s.store.SessionByToken(ctx, tokenHash(token))
	if errors.Is(err, model.ErrNotFound) {
		return Session{}, errNoSession
	}
	if err != nil {
		return Session{}, err
	}
	if s.expired(ctx, sess) {
		return Session{}, errNoSession
	}
	if now := s.now(); now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil && !errors.Is(err, model.ErrNotFound) {
			s.log.Warn("touch session failed", "session", sess.ID, "err", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// lookup finds the account an identifier names (email or username).
func (s *Server) lookup(ctx context.Context, identifier string) (Account, error) {
	id := syncproto.NormalizeIdentifier(identifier)
	if syncproto.IsEmail(id) {
		return s.store.AccountByEmail(ctx, id)
	}
	return s.store.AccountByUsername(ctx, id)
}

// codeHash is how emailed codes are stored: keyed, so a copy of the
// database does not let anyone brute-force the short reset codes offline.
func (s *Server) codeHash(p CodePurpose, code string) []byte {
	return keyed(s.codeKey, string(p), code)
}

// expired reports whether sess went unused longer than the idle limit;
// such a session is deleted (a device that comes back signs in again).
func (s *Server) expired(ctx context.Context, sess Session) bool {
	if s.now().Sub(sess.LastSeenAt) <= s.cfg.SessionIdle {
		return false
	}
	if err := s.store.DeleteSession(ctx, sess.AccountID, sess.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
		s.log.Warn("delete idle session failed", "session", sess.ID, "err", err)
	}
	s.log.Info("idle session expired", "session", sess.ID, "last_seen", sess.LastSeenAt)
	return true
}
