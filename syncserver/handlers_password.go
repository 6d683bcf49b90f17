package syncserver

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

func secretsOf(c syncproto.Credentials, recovery []byte) AccountSecrets {
	return AccountSecrets{KDFSalt: c.KDFSalt, KDFParams: c.KDFParams, AuthHash: authHash(c.AuthKey),
		WrappedAccountKey: c.WrappedAccountKey, RecoveryWrappedKey: recovery}
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, sess Session) error {
	var req syncproto.ChangePasswordRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	acct, err := s.checkPassword(r, sess.AccountID, req.CurrentAuthKey)
	if err != nil {
		return err
	}
	if err := s.store.SetSecrets(r.Context(), acct.ID, secretsOf(req.New, nil), sess.ID); err != nil {
		return err
	}
	s.log.Info("password changed", "account", acct.ID)
	s.notify(acct, noticePasswordChanged)
	writeJSON(w, http.StatusOK, okBody)
	return nil
}

var errBadResetCode = apiErr(syncproto.CodeInvalidCode, "the code is wrong, expired or already used; ask for a new one")

// checkResetCode finds the account and checks its live reset code; a
// wrong guess counts against the code. Every failure is the same
// invalid_code answer.
func (s *Server) checkResetCode(r *http.Request, email, code string) (Account, []byte, error) {
	email = syncproto.NormalizeEmail(email)
	if err := s.code.check(r.Context(), clientIP(r), email); err != nil {
		return Account{}, nil, err
	}
	ctx := r.Context()
	acct, err := s.store.AccountByEmail(ctx, email)
	if err != nil {
		return Account{}, nil, notFoundAs(err, errBadResetCode)
	}
	stored, err := s.store.CodeFor(ctx, acct.ID, PurposeResetPassword, s.now())
	if err != nil {
		return Account{}, nil, notFoundAs(err, errBadResetCode)
	}
	h := s.codeHash(PurposeResetPassword, syncproto.NormalizeCode(code))
	if subtle.ConstantTimeCompare(h, stored.Hash) != 1 {
		if err := s.store.CodeFailed(ctx, acct.ID, PurposeResetPassword, syncproto.MaxCodeAttempts); err != nil && !errors.Is(err, model.ErrNotFound) {
			return Account{}, nil, err
		}
		return Account{}, nil, errBadResetCode
	}
	return acct, h, nil
}

func notFoundAs(err, as error) error {
	if errors.Is(err, model.ErrNotFound) {
		return as
	}
	return err
}

func (s *Server) handleRecoveryKey(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.RecoveryKeyRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	acct, _, err := s.checkResetCode(r, req.Email, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, syncproto.RecoveryKeyResponse{RecoveryWrappedKey: acct.Secrets.RecoveryWrappedKey})
	return nil
}

func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	var req syncproto.ResetPasswordRequest
	if err := decodeValid(r, &req); err != nil {
		return err
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return err
	}
	defer release()
	acct, h, err := s.checkResetCode(r, req.Email, req.Code)
	if err != nil {
		return err
	}
	err = s.store.ResetSecrets(r.Context(), acct.ID, h, s.now(), secretsOf(req.New, req.RecoveryWrappedKey), req.Erase)
	if err != nil {
		return notFoundAs(err, errBadResetCode)
	}
	s.log.Info("password reset", "account", acct.ID, "erased", req.Erase)
	s.notify(acct, noticePasswordReset)
	writeJSON(w, http.StatusOK, okBody)
	return nil
}
