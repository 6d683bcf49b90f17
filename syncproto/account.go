package syncproto

import (
	"time"
)

// Account API paths. Every call is JSON over HTTPS; request bodies are
// capped at MaxAccountBody bytes and must be sent with Content-Type:
// application/json (else 415 unsupported_media_type). Every error answer
// is an ErrorBody. "Bearer" marks calls that need
// `Authorization: Bearer TOKEN` (a token from SignInResponse).
const (
	// PathSignUp: POST SignUpRequest -> 202 StatusResponse{StatusSent}.
	// The answer is the same whether or not the email is already taken
	// (the owner of a taken address is emailed instead). A taken username
	// with a free email is 409 conflict. The account is created after the
	// answer, with the confirmation email; sign-in is refused with
	// email_unconfirmed until the link is followed.
	PathSignUp = "/v1/signup"
	// PathConfirmEmail: GET ?token=T (the emailed link) answers a small
	// HTML page saying whether it worked; POST ConfirmEmailRequest ->
	// 200 StatusResponse{StatusOK} for clients that carry the token
	// themselves. A wrong, expired or used token is 400 invalid_code.
	PathConfirmEmail = "/v1/email/confirm"
	// PathResendConfirmation: POST ResendConfirmationRequest ->
	// 202 StatusResponse{StatusSent}, the same whether or not the
	// address belongs to an unconfirmed account.
	PathResendConfirmation = "/v1/email/resend"
	// PathPrelogin: POST PreloginRequest -> 200 PreloginResponse. An
	// unknown identifier gets a stable fake salt and the default params.
	PathPrelogin = "/v1/prelogin"
	// PathSignIn: POST SignInRequest -> 200 SignInResponse. Wrong
	// identifier or authKey: 401 unauthorized; right ones before the email
	// is confirmed: 403 email_unconfirmed.
	PathSignIn = "/v1/signin"
	// PathSignOut: POST (Bearer, empty body) -> 200 StatusResponse{StatusOK};
	// revokes the calling session.
	PathSignOut = "/v1/signout"
	// PathAccount: GET (Bearer) -> 200 AccountInfo.
	PathAccount = "/v1/account"
	// PathDeleteAccount: POST DeleteAccountRequest (Bearer) ->
	// 200 StatusResponse{StatusOK}. Deletes the account, its sessions and
	// all its synced data. A wrong authKey is 401 unauthorized.
	PathDeleteAccount = "/v1/account/delete"
	// PathChangePassword: POST ChangePasswordRequest (Bearer) ->
	// 200 StatusResponse{StatusOK}. Every other session is revoked; the
	// calling one stays valid. A wrong current authKey is 401.
	PathChangePassword = "/v1/password/change"
	// PathForgotUsername: POST ForgotUsernameRequest ->
	// 202 StatusResponse{StatusSent}; emails the username if the address
	// belongs to an account. Same answer either way.
	PathForgotUsername = "/v1/username/forgot"
	// PathForgotPassword: POST ForgotPasswordRequest ->
	// 202 StatusResponse{StatusSent}; emails a single-use reset code valid
	// for ResetCodeTTL if the address belongs to an account. Same answer
	// either way. A new request replaces any earlier code.
	PathForgotPassword = "/v1/password/forgot"
	// PathRecoveryKey: POST RecoveryKeyRequest -> 200 RecoveryKeyResponse.
	// Does not consume the code. A wrong, expired or used code (or an
	// unknown email) is 400 invalid_code.
	PathRecoveryKey = "/v1/password/recovery-key"
	// PathResetPassword: POST ResetPasswordRequest ->
	// 200 StatusResponse{StatusOK}. Consumes the code and revokes every
	// session. Errors as PathRecoveryKey.
	PathResetPassword = "/v1/password/reset"
	// PathSessions: GET (Bearer) -> 200 SessionsResponse.
	// DELETE PathSessions + "/" + id (Bearer) -> 200 StatusResponse{StatusOK};
	// 404 not_found when the id is not one of this account's sessions.
	PathSessions = "/v1/sessions"
	// PathHealth: GET -> 200 "ok" (text) while the server can serve.
	PathHealth = "/healthz"
	// PathMetrics: GET -> Prometheus text exposition.
	PathMetrics = "/metrics"
)

// ConfirmTokenParam is the query parameter of PathConfirmEmail's GET link.
const ConfirmTokenParam = "token"

// Limits and lifetimes of the account API.
const (
	// MaxAccountBody bounds every account API request body (bytes).
	MaxAccountBody = 64 << 10
	// ResetCodeTTL is how long an emailed password-reset code is valid.
	ResetCodeTTL = 30 * time.Minute
	// ConfirmTokenTTL is how long an email confirmation link is valid.
	ConfirmTokenTTL = 48 * time.Hour
	// MaxCodeAttempts wrong tries burn a reset code.
	MaxCodeAttempts = 5
)

// Status values of StatusResponse.
const (
	// StatusOK: the call did what it says.
	StatusOK = "ok"
	// StatusSent: the call was accepted; if an account matches, an email
	// is on its way. Said whether or not one matches.
	StatusSent = "sent"
)

// StatusResponse is the body of calls that return no data.
type StatusResponse struct {
	Status string `json:"status"`
}

// KDFParams are the Argon2id parameters of an account's master key
// derivation. The vault package has the same shape.
type KDFParams struct {
	// T is the number of passes.
	T uint32 `json:"t"`
	// M is the memory in KiB.
	M uint32 `json:"m"`
	// P is the parallelism (lanes).
	P uint8 `json:"p"`
}

// Credentials is what a client derives from a password and sends when it
// sets one (sign-up, change, reset). Binary values travel as standard
// base64 strings ([]byte in Go).
type Credentials struct {
	// KDFSalt is the Argon2id salt, SaltMinLen to SaltMaxLen bytes.
	KDFSalt []byte `json:"kdf_salt"`
	// KDFParams must pass KDFParams.Validate.
	KDFParams KDFParams `json:"kdf_params"`
	// AuthKey is HKDF(masterKey, "courier/v1/auth"), AuthKeyLen bytes: the
	// password as the server sees it.
	AuthKey []byte `json:"auth_key"`
	// WrappedAccountKey is the account key sealed with the wrap key,
	// WrappedKeyMinLen to WrappedKeyMaxLen bytes. Opaque to the server.
	WrappedAccountKey []byte `json:"wrapped_account_key"`
}

// SignUpRequest creates an account (PathSignUp).
type SignUpRequest struct {
	// Username must pass ValidateUsername; it is compared case-insensitively.
	Username string `json:"username"`
	// Email must pass ValidateEmail; it is compared case-insensitively.
	Email string `json:"email"`
	Credentials
	// RecoveryWrappedKey is the account key sealed with the recovery key
	// (WrappedKeyMinLen to WrappedKeyMaxLen bytes). Opaque to the server.
	RecoveryWrappedKey []byte `json:"recovery_wrapped_key"`
}

// ConfirmEmailRequest confirms an address with the token of the emailed link.
type ConfirmEmailRequest struct {
	Token string `json:"token"`
}

// ResendConfirmationRequest asks for a new confirmation email.
type ResendConfirmationRequest struct {
	Email string `json:"email"`
}

// PreloginRequest asks for the KDF salt and params of an account.
type PreloginRequest struct {
	// Identifier is an email (it contains '@') or a username.
	Identifier string `json:"identifier"`
}

// PreloginResponse carries what the client needs to derive the master key.
type PreloginResponse struct {
	KDFSalt   []byte    `json:"kdf_salt"`
	KDFParams KDFParams `json:"kdf_params"`
}

// SignInRequest opens a session.
type SignInRequest struct {
	// Identifier is an email (it contains '@') or a username.
	Identifier string `json:"identifier"`
	// AuthKey is derived with the params from PathPrelogin.
	AuthKey []byte `json:"auth_key"`
	// DeviceName labels the session in the device list (at most
	// MaxDeviceNameLen bytes; empty becomes "unnamed device").
	DeviceName string `json:"device_name"`
}

// SignInResponse is a new session and the keys the client needs.
type SignInResponse struct {
	// Token goes in `Authorization: Bearer TOKEN` on later calls. Keep it
	// secret (the OS keyring); the server stores only its hash.
	Token string `json:"token"`
	// SessionID names this session in SessionsResponse.
	SessionID string `json:"session_id"`
	AccountID string `json:"account_id"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	// WrappedAccountKey is the account key sealed with the wrap key.
	WrappedAccountKey []byte    `json:"wrapped_account_key"`
	KDFSalt           []byte    `json:"kdf_salt"`
	KDFParams         KDFParams `json:"kdf_params"`
}

// AccountInfo describes the signed-in account (PathAccount).
type AccountInfo struct {
	AccountID      string    `json:"account_id"`
	Username       string    `json:"username"`
	Email          string    `json:"email"`
	EmailConfirmed bool      `json:"email_confirmed"`
	CreatedAt      time.Time `json:"created_at"`
	KDFParams      KDFParams `json:"kdf_params"`
}

// ChangePasswordRequest replaces the credentials of the signed-in account.
type ChangePasswordRequest struct {
	// CurrentAuthKey proves the caller knows the current password.
	CurrentAuthKey []byte `json:"current_auth_key"`
	// New holds the new salt, params, authKey and the account key
	// re-wrapped with the new wrap key.
	New Credentials `json:"new"`
}

// ForgotUsernameRequest asks for the username to be emailed.
type ForgotUsernameRequest struct {
	Email string `json:"email"`
}

// ForgotPasswordRequest asks for a reset code to be emailed.
type ForgotPasswordRequest struct {
	Email string `json:"email"`
}

// RecoveryKeyRequest fetches the recovery-wrapped account key with a
// reset code.
type RecoveryKeyRequest struct {
	Email string `json:"email"`
	// Code is the emailed reset code (see NormalizeCode).
	Code string `json:"code"`
}

// RecoveryKeyResponse carries the account key sealed with the recovery key.
type RecoveryKeyResponse struct {
	RecoveryWrappedKey []byte `json:"recovery_wrapped_key"`
}

// ResetPasswordRequest sets new credentials with a reset code.
type ResetPasswordRequest struct {
	Email string `json:"email"`
	// Code is the emailed reset code (see NormalizeCode).
	Code string `json:"code"`
	// New holds the new credentials. Unless Erase is set, its
	// WrappedAccountKey wraps the same account key as before.
	New Credentials `json:"new"`
	// RecoveryWrappedKey replaces the recovery-wrapped key when set; it
	// is required when Erase is set (the account key is new).
	RecoveryWrappedKey []byte `json:"recovery_wrapped_key,omitempty"`
	// Erase deletes every synced record of the account: for a user who
	// lost both the account key and the recovery key and starts afresh.
	Erase bool `json:"erase,omitempty"`
}

// DeleteAccountRequest deletes the signed-in account.
type DeleteAccountRequest struct {
	// AuthKey re-checks the password before anything is deleted.
	AuthKey []byte `json:"auth_key"`
}

// SessionInfo is one device signed in to the account.
type SessionInfo struct {
	ID         string    `json:"id"`
	DeviceName string    `json:"device_name"`
	CreatedAt  time.Time `json:"created_at"`
	// LastSeenAt is updated at most once a minute.
	LastSeenAt time.Time `json:"last_seen_at"`
	// Current is true for the session that made the call.
	Current bool `json:"current"`
}

// SessionsResponse lists the account's sessions, oldest first.
type SessionsResponse struct {
	Sessions []SessionInfo `json:"sessions"`
}
