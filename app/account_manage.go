package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// ResetInput is what a person gives to reset a forgotten password with
// the emailed code. The account key is kept with, in order: Erase (none:
// a new key, the synced data is deleted), RecoveryKey, or the key this
// device holds for the account.
type ResetInput struct {
	// ServerURL is the server; empty uses Accounts.ServerURL's choice.
	ServerURL   string
	Email       string
	Code        string
	NewPassword string
	// RecoveryKey is the key shown at sign-up, as typed.
	RecoveryKey string
	// Erase starts afresh: a new account key and recovery key, and the
	// server deletes every synced record of the account. Local data is
	// not touched.
	Erase bool
}

// ResetResult says what a reset did.
type ResetResult struct {
	// RecoveryKey is the new recovery key after an erase, to be shown
	// once; empty otherwise (the old one still works).
	RecoveryKey string
}

// ResetPassword sets a new password with an emailed reset code, keeping
// the account key (re-wrapped with the new password) unless in.Erase. The
// server revokes every session, so this device is signed out if it was
// signed in to the account. Errors wrap syncproto.ErrInvalidCode for a
// wrong or used code, model.ErrUnauthorized for a wrong recovery key
// (the code is not used up then), model.ErrNotFound when neither a
// recovery key nor a key on this device is at hand.
func (x *Accounts) ResetPassword(ctx context.Context, in ResetInput) (ResetResult, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	in.Email = strings.TrimSpace(in.Email)
	if err := errors.Join(syncproto.ValidateEmail(in.Email), syncproto.ValidateCode(in.Code), checkNewPassword(in.NewPassword)); err != nil {
		return ResetResult{}, fmt.Errorf("reset password: %w", err)
	}
	server := x.ServerURL(ctx, in.ServerURL)
	api, err := x.api(server, "")
	if err != nil {
		return ResetResult{}, err
	}
	req := syncproto.ResetPasswordRequest{Email: in.Email, Code: syncproto.NormalizeCode(in.Code), Erase: in.Erase}
	var res ResetResult
	key, err := x.resetKey(ctx, api, server, in, &req, &res)
	if err != nil {
		return ResetResult{}, err
	}
	if req.New, err = x.newCredentials(ctx, in.NewPassword, key); err != nil {
		return ResetResult{}, fmt.Errorf("reset password: %w", err)
	}
	if err := api.ResetPassword(ctx, req); err != nil {
		return ResetResult{}, err
	}
	if cur, err := x.Current(ctx); err == nil && cur.SignedIn && cur.ServerURL == server && sameIdentity(cur, in.Email) {
		return res, x.forget(ctx, cur)
	}
	return res, nil
}

// resetKey returns the account key the reset keeps (or a new one when
// erasing, with its recovery-wrapped copy set in req and the new recovery
// key in res).
func (x *Accounts) resetKey(ctx context.Context, api AccountAPI, server string, in ResetInput, req *syncproto.ResetPasswordRequest, res *ResetResult) (vault.AccountKey, error) {
	switch {
	case in.Erase:
		key, rk := vault.NewAccountKey(), vault.NewRecoveryKey()
		w, err := vault.Wrap(rk.WrapKey(), key)
		if err != nil {
			return key, fmt.Errorf("reset password: %w", err)
		}
		req.RecoveryWrappedKey, res.RecoveryKey = w, rk.String()
		return key, nil
	case strings.TrimSpace(in.RecoveryKey) != "":
		rk, err := vault.ParseRecoveryKey(in.RecoveryKey)
		if err != nil {
			return vault.AccountKey{}, err
		}
		got, err := api.RecoveryKey(ctx, syncproto.RecoveryKeyRequest{Email: in.Email, Code: req.Code})
		if err != nil {
			return vault.AccountKey{}, err
		}
		key, err := vault.Unwrap(rk.WrapKey(), got.RecoveryWrappedKey)
		if err != nil {
			return key, restate("the recovery key does not open this account's key: check it letter by letter", err)
		}
		return key, nil
	}
	key, err := x.deviceKey(ctx, server, in.Email)
	if errors.Is(err, model.ErrNotFound) {
		// Say first whether the code is right: a mistyped code is no
		// reason to reach for the recovery key, let alone to erase.
		if _, cerr := api.RecoveryKey(ctx, syncproto.RecoveryKeyRequest{Email: in.Email, Code: req.Code}); cerr != nil {
			return key, cerr
		}
	}
	return key, err
}

// deviceKey returns the account key this device holds for email's account
// on server.
func (x *Accounts) deviceKey(ctx context.Context, server, email string) (vault.AccountKey, error) {
	none := fmt.Errorf("this device holds no key for %s; give the recovery key, or erase the synced data and start afresh: %w", email, model.ErrNotFound)
	cur, err := x.Current(ctx)
	if err != nil || cur.AccountID == "" || cur.ServerURL != server || !sameIdentity(cur, email) {
		return vault.AccountKey{}, none
	}
	key, err := x.accountKey(ctx, cur.AccountID)
	if isNotFound(err) {
		return key, none
	}
	return key, err
}

// ChangePassword replaces the password of the signed-in account: it
// checks the current one with the server, re-wraps the account key this
// device holds with a key derived from the new one (new salt), and sends
// it. The server revokes every other session; this one stays. Errors wrap
// model.ErrUnauthorized for a wrong current password or when not signed
// in, model.ErrInvalid for a too short new one.
func (x *Accounts) ChangePassword(ctx context.Context, current, newPassword string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := checkNewPassword(newPassword); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s, err := x.session(ctx)
	if err != nil {
		return err
	}
	api, err := x.api(s.Account.ServerURL, s.Token)
	if err != nil {
		return err
	}
	mk, err := derive(ctx, api, s.Account.Username, current)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	creds, err := x.newCredentials(ctx, newPassword, s.Key)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	err = api.ChangePassword(ctx, syncproto.ChangePasswordRequest{CurrentAuthKey: mk.AuthKey(), New: creds})
	if isAPICode(err, syncproto.CodeUnauthorized) {
		return restate("change password: the current password is wrong, or this session was revoked", err)
	}
	return err
}

// session is Session without taking the lock.
func (x *Accounts) session(ctx context.Context) (Session, error) {
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return Session{}, err
	}
	key, err := x.accountKey(ctx, a.AccountID)
	if isNotFound(err) {
		return Session{}, fmt.Errorf("this device no longer holds the account key; sign in again: %w", model.ErrUnauthorized)
	}
	if err != nil {
		return Session{}, err
	}
	return Session{Account: a, Token: tok, Key: key}, nil
}

// Devices lists the sessions of the signed-in account, oldest first.
func (x *Accounts) Devices(ctx context.Context) ([]Device, error) {
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	api, err := x.api(a.ServerURL, tok)
	if err != nil {
		return nil, err
	}
	ss, err := api.Sessions(ctx)
	if err != nil {
		return nil, x.refusedLocking(ctx, a, err)
	}
	out := make([]Device, len(ss))
	for i, s := range ss {
		out[i] = Device{ID: s.ID, Name: s.DeviceName, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, Current: s.Current}
	}
	return out, nil
}

// RevokeDevice signs the session id out. Revoking this device's own
// session is a sign-out. An unknown id wraps model.ErrNotFound.
func (x *Accounts) RevokeDevice(ctx context.Context, id string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return err
	}
	if id == a.SessionID {
		res, err := x.signOut(ctx)
		if err != nil {
			return err
		}
		return res.ServerErr
	}
	api, err := x.api(a.ServerURL, tok)
	if err != nil {
		return err
	}
	return x.refused(ctx, a, api.RevokeSession(ctx, id))
}

// DeleteAccount deletes the signed-in account on the server, with its
// sessions and synced data, after checking password; then the device
// forgets its secrets and the account. Local data stays. Errors wrap
// model.ErrUnauthorized for a wrong password or when not signed in.
func (x *Accounts) DeleteAccount(ctx context.Context, password string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, tok, err := x.signedIn(ctx)
	if err != nil {
		return err
	}
	api, err := x.api(a.ServerURL, tok)
	if err != nil {
		return err
	}
	mk, err := derive(ctx, api, a.Username, password)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	if err := api.DeleteAccount(ctx, mk.AuthKey()); err != nil {
		if isAPICode(err, syncproto.CodeUnauthorized) {
			return restate("delete account: the password is wrong, or this session was revoked", err)
		}
		return err
	}
	if err := x.forget(ctx, a); err != nil {
		return err
	}
	return x.remember(ctx, Account{ServerURL: a.ServerURL, CAFile: a.CAFile})
}
