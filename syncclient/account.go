package syncclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// The account API, one method per call (see the Path constants of
// syncproto for what each does). Requests are validated before they are
// sent, so bad input fails with model.ErrInvalid and a clear message
// without a round trip. Methods marked "Bearer" need a client from
// WithToken; without a token they fail with model.ErrUnauthorized.

// SignUp creates an account; the server emails a confirmation link.
func (c *Client) SignUp(ctx context.Context, r syncproto.SignUpRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	return c.do(ctx, call{what: "sign up", method: http.MethodPost, path: syncproto.PathSignUp, in: r, out: &syncproto.StatusResponse{}})
}

// ConfirmEmail confirms an address with the token of the emailed link.
// A wrong, expired or used token wraps syncproto.ErrInvalidCode.
func (c *Client) ConfirmEmail(ctx context.Context, token string) error {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > syncproto.MaxTokenLen {
		return fmt.Errorf("confirm email: the token must be 1 to %d characters: %w", syncproto.MaxTokenLen, model.ErrInvalid)
	}
	r := syncproto.ConfirmEmailRequest{Token: token}
	return c.do(ctx, call{what: "confirm email", method: http.MethodPost, path: syncproto.PathConfirmEmail, in: r, out: &syncproto.StatusResponse{}})
}

// ConfirmTokenFromLink returns the token of a confirmation link (the value
// of its ConfirmTokenParam), or s itself when s is not a URL with one.
func ConfirmTokenFromLink(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	if t := u.Query().Get(syncproto.ConfirmTokenParam); t != "" {
		return t
	}
	return s
}

// ResendConfirmation asks for a new confirmation email for email.
func (c *Client) ResendConfirmation(ctx context.Context, email string) error {
	if err := syncproto.ValidateEmail(email); err != nil {
		return fmt.Errorf("resend confirmation: %w", err)
	}
	r := syncproto.ResendConfirmationRequest{Email: email}
	return c.do(ctx, call{what: "resend confirmation", method: http.MethodPost, path: syncproto.PathResendConfirmation, in: r, out: &syncproto.StatusResponse{}})
}

// Prelogin returns the KDF salt and params of the account named by
// identifier (an email or a username). The caller must check the params
// against its floor before deriving anything. Its errors do not name the
// call: it is a step of what the caller does (sign in, change the
// password), which the caller names.
func (c *Client) Prelogin(ctx context.Context, identifier string) (syncproto.PreloginResponse, error) {
	var out syncproto.PreloginResponse
	if err := syncproto.ValidateIdentifier(identifier); err != nil {
		return out, err
	}
	r := syncproto.PreloginRequest{Identifier: identifier}
	err := c.do(ctx, call{method: http.MethodPost, path: syncproto.PathPrelogin, in: r, out: &out})
	return out, err
}

// SignIn opens a session. Wrong credentials wrap model.ErrUnauthorized;
// an unconfirmed address wraps syncproto.ErrEmailUnconfirmed.
func (c *Client) SignIn(ctx context.Context, r syncproto.SignInRequest) (syncproto.SignInResponse, error) {
	var out syncproto.SignInResponse
	if err := r.Validate(); err != nil {
		return out, fmt.Errorf("sign in: %w", err)
	}
	err := c.do(ctx, call{what: "sign in", method: http.MethodPost, path: syncproto.PathSignIn, in: r, out: &out})
	return out, err
}

// SignOut revokes the calling session (Bearer).
func (c *Client) SignOut(ctx context.Context) error {
	return c.do(ctx, call{what: "sign out", method: http.MethodPost, path: syncproto.PathSignOut, bearer: true, out: &syncproto.StatusResponse{}})
}

// Account describes the signed-in account (Bearer).
func (c *Client) Account(ctx context.Context) (syncproto.AccountInfo, error) {
	var out syncproto.AccountInfo
	err := c.do(ctx, call{what: "read account", method: http.MethodGet, path: syncproto.PathAccount, bearer: true, out: &out})
	return out, err
}

// ChangePassword replaces the credentials (Bearer). The server revokes
// every other session. A wrong current authKey wraps model.ErrUnauthorized.
func (c *Client) ChangePassword(ctx context.Context, r syncproto.ChangePasswordRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return c.do(ctx, call{what: "change password", method: http.MethodPost, path: syncproto.PathChangePassword, bearer: true, in: r, out: &syncproto.StatusResponse{}})
}

// ForgotUsername asks the server to email the username of email's account.
func (c *Client) ForgotUsername(ctx context.Context, email string) error {
	if err := syncproto.ValidateEmail(email); err != nil {
		return fmt.Errorf("forgot username: %w", err)
	}
	r := syncproto.ForgotUsernameRequest{Email: email}
	return c.do(ctx, call{what: "forgot username", method: http.MethodPost, path: syncproto.PathForgotUsername, in: r, out: &syncproto.StatusResponse{}})
}

// ForgotPassword asks the server to email a password reset code.
func (c *Client) ForgotPassword(ctx context.Context, email string) error {
	if err := syncproto.ValidateEmail(email); err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	r := syncproto.ForgotPasswordRequest{Email: email}
	return c.do(ctx, call{what: "forgot password", method: http.MethodPost, path: syncproto.PathForgotPassword, in: r, out: &syncproto.StatusResponse{}})
}

// RecoveryKey fetches the account key sealed with the recovery key, with
// an emailed reset code (which it does not consume), a step of resetting
// the password, as its errors say. A wrong code wraps
// syncproto.ErrInvalidCode.
func (c *Client) RecoveryKey(ctx context.Context, r syncproto.RecoveryKeyRequest) (syncproto.RecoveryKeyResponse, error) {
	var out syncproto.RecoveryKeyResponse
	r.Code = syncproto.NormalizeCode(r.Code)
	if err := r.Validate(); err != nil {
		return out, fmt.Errorf("reset password: %w", err)
	}
	err := c.do(ctx, call{what: "reset password", method: http.MethodPost, path: syncproto.PathRecoveryKey, in: r, out: &out})
	return out, err
}

// ResetPassword sets new credentials with an emailed reset code, which it
// consumes; the server revokes every session.
func (c *Client) ResetPassword(ctx context.Context, r syncproto.ResetPasswordRequest) error {
	r.Code = syncproto.NormalizeCode(r.Code)
	if err := r.Validate(); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return c.do(ctx, call{what: "reset password", method: http.MethodPost, path: syncproto.PathResetPassword, in: r, out: &syncproto.StatusResponse{}})
}

// Sessions lists the account's sessions, oldest first (Bearer).
func (c *Client) Sessions(ctx context.Context) ([]syncproto.SessionInfo, error) {
	var out syncproto.SessionsResponse
	err := c.do(ctx, call{what: "list devices", method: http.MethodGet, path: syncproto.PathSessions, bearer: true, out: &out})
	return out.Sessions, err
}

// RevokeSession signs the session id out (Bearer). An id that is not one
// of the account's sessions wraps model.ErrNotFound.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > syncproto.MaxTokenLen {
		return fmt.Errorf("revoke device: the id must be 1 to %d characters: %w", syncproto.MaxTokenLen, model.ErrInvalid)
	}
	path := syncproto.PathSessions + "/" + url.PathEscape(id)
	return c.do(ctx, call{what: "revoke device " + id, method: http.MethodDelete, path: path, bearer: true, out: &syncproto.StatusResponse{}})
}

// DeleteAccount deletes the account, its sessions and its synced data
// (Bearer). A wrong authKey wraps model.ErrUnauthorized.
func (c *Client) DeleteAccount(ctx context.Context, authKey []byte) error {
	r := syncproto.DeleteAccountRequest{AuthKey: authKey}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return c.do(ctx, call{what: "delete account", method: http.MethodPost, path: syncproto.PathDeleteAccount, bearer: true, in: r, out: &syncproto.StatusResponse{}})
}
