package syncproto

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
)

// Sign-in with an OpenID Connect provider, for a native app (RFC 8252).
// The server holds the client secret, the PKCE verifier and the nonce; the
// app only carries the browser's redirect back to the server:
//
//  1. POST PathOIDCStart(p) OIDCStartRequest -> 200 OIDCStartResponse.
//     The app opens AuthorizationURL in the system browser.
//  2. The provider redirects the browser to the app's loopback
//     RedirectURI with ?code=C&state=S; the app checks S == State.
//  3. POST PathOIDCFinish(p) OIDCFinishRequest -> 200 OIDCFinishResponse,
//     whose Status says what happened.
//  4. For OIDCStatusNeedsSignUp: POST PathOIDCSignUp OIDCSignUpRequest ->
//     200 SignInResponse.
//
// The identity (provider, subject) signs in to the account it is linked
// to. An identity whose verified email belongs to an account it is not
// linked to is refused (409 conflict): the owner signs in with the
// password and links it (Link in OIDCStartRequest, with a Bearer token).
// The provider never unlocks the data: the answer carries the wrapped
// account key, opened with the encryption passphrase or the recovery key.
const (
	// PathOIDCProviders: GET -> 200 OIDCProvidersResponse.
	PathOIDCProviders = "/v1/oidc"
	// PathOIDCSignUp: POST OIDCSignUpRequest -> 200 SignInResponse. A
	// wrong, used or expired ticket is 400 invalid_code; a taken username
	// is 409 conflict (the ticket stays valid to try another).
	PathOIDCSignUp = "/v1/oidc/signup"
	// PathOIDCIdentities: GET (Bearer) -> 200 OIDCIdentitiesResponse: the
	// provider identities that sign in to the account.
	PathOIDCIdentities = "/v1/oidc/identities"
)

// PathOIDCStart is the start route of provider (POST; unknown provider:
// 404 not_found; a redirect URI that is not loopback: 400 invalid_input;
// Link without a valid Bearer token: 401 unauthorized).
func PathOIDCStart(provider string) string { return "/v1/oidc/" + provider + "/start" }

// PathOIDCFinish is the finish route of provider (POST). An unknown,
// used or expired state is 400 invalid_code; a code the provider refuses,
// an ID token that fails verification (signature, issuer, audience,
// expiry, nonce) or an unverified email is 401 unauthorized; an identity
// whose email belongs to an unlinked account is 409 conflict.
func PathOIDCFinish(provider string) string { return "/v1/oidc/" + provider + "/finish" }

// Lifetimes of the OIDC flow.
const (
	// OIDCFlowTTL is how long a started flow waits for its finish.
	OIDCFlowTTL = 10 * time.Minute
	// OIDCTicketTTL is how long a sign-up ticket waits for its sign-up.
	OIDCTicketTTL = 15 * time.Minute
	// OIDCRedirectPath is the path of the app's loopback redirect.
	OIDCRedirectPath = "/callback"
)

// The OIDCFinishResponse statuses.
const (
	// OIDCStatusSignedIn: Session holds a new session.
	OIDCStatusSignedIn = "signed_in"
	// OIDCStatusLinked: the identity now signs in to the account of the
	// Bearer session that started the flow.
	OIDCStatusLinked = "linked"
	// OIDCStatusNeedsSignUp: no account has this identity or email; send
	// Ticket with a username and the passphrase's credentials to
	// PathOIDCSignUp.
	OIDCStatusNeedsSignUp = "needs_signup"
)

// OIDCProvidersResponse lists the providers the server offers.
type OIDCProvidersResponse struct {
	Providers []OIDCProviderInfo `json:"providers"`
}

// OIDCProviderInfo names one provider ("google") for the sign-in button.
type OIDCProviderInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// OIDCIdentitiesResponse lists the identities linked to the account,
// oldest first.
type OIDCIdentitiesResponse struct {
	Identities []OIDCIdentity `json:"identities"`
}

// OIDCIdentity is one linked identity: the provider's name and the
// verified email it had when it was linked.
type OIDCIdentity struct {
	Provider string    `json:"provider"`
	Email    string    `json:"email"`
	LinkedAt time.Time `json:"linked_at"`
}

// OIDCStartRequest begins a flow.
type OIDCStartRequest struct {
	// RedirectURI is the app's loopback listener:
	// http://127.0.0.1:PORT/callback (or http://[::1]:PORT/callback).
	RedirectURI string `json:"redirect_uri"`
	// Link, with a Bearer token, links the identity to the session's
	// account instead of signing in.
	Link bool `json:"link,omitempty"`
}

// OIDCStartResponse is where to send the browser.
type OIDCStartResponse struct {
	AuthorizationURL string `json:"authorization_url"`
	// State comes back on the redirect; the app must check it.
	State string `json:"state"`
}

// OIDCFinishRequest hands the redirect's code to the server.
type OIDCFinishRequest struct {
	State string `json:"state"`
	Code  string `json:"code"`
	// DeviceName labels the session (as in SignInRequest).
	DeviceName string `json:"device_name"`
}

// OIDCFinishResponse says how the flow ended.
type OIDCFinishResponse struct {
	// Status is one of the OIDCStatus values.
	Status string `json:"status"`
	// Session is set for OIDCStatusSignedIn.
	Session *SignInResponse `json:"session,omitempty"`
	// RecoveryWrappedKey is set for OIDCStatusSignedIn, for a device
	// that opens the account key with the recovery key.
	RecoveryWrappedKey []byte `json:"recovery_wrapped_key,omitempty"`
	// Ticket, Email and SuggestedUsername are set for
	// OIDCStatusNeedsSignUp. Email is the provider's verified address.
	Ticket            string `json:"ticket,omitempty"`
	Email             string `json:"email,omitempty"`
	SuggestedUsername string `json:"suggested_username,omitempty"`
}

// OIDCSignUpRequest creates an account for a verified identity. The
// credentials come from the encryption passphrase exactly as from a
// password (same KDF and wrapping); the passphrase is also the account's
// password for the password-checked calls (change, delete).
type OIDCSignUpRequest struct {
	Ticket   string `json:"ticket"`
	Username string `json:"username"`
	Credentials
	RecoveryWrappedKey []byte `json:"recovery_wrapped_key"`
	DeviceName         string `json:"device_name"`
}

// MaxOIDCParamLen bounds state, code and ticket strings.
const MaxOIDCParamLen = 2048

var providerName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidateProviderName checks a provider name: 1 to 32 of a-z, 0-9 and
// '-', starting with a letter.
func ValidateProviderName(s string) error {
	if !providerName.MatchString(s) {
		return fmt.Errorf("provider name %q: want 1 to 32 of a-z, 0-9, '-', starting with a letter: %w", s, model.ErrInvalid)
	}
	return nil
}

// ValidateLoopbackRedirect checks that s is http://127.0.0.1:PORT/callback
// or http://[::1]:PORT/callback with no query or fragment (RFC 8252
// section 7.3); errors wrap model.ErrInvalid.
func ValidateLoopbackRedirect(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("redirect_uri must be http://127.0.0.1:PORT%s: %s: %w", OIDCRedirectPath, why, model.ErrInvalid)
	}
	if len(s) > 256 {
		return bad("too long")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a URL")
	}
	// url.Parse lowers the scheme; the provider compares the URI as sent.
	if !strings.HasPrefix(s, "http://") || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Path != OIDCRedirectPath {
		return bad("wrong scheme, path, query or fragment")
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return bad("host is not a loopback IP literal")
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != u.Port() {
		return bad("missing or bad port")
	}
	return nil
}

func validateParam(name, v string) error {
	if v == "" || len(v) > MaxOIDCParamLen {
		return fmt.Errorf("%s must be 1 to %d bytes: %w", name, MaxOIDCParamLen, model.ErrInvalid)
	}
	return nil
}

// Validate checks the redirect URI; errors wrap model.ErrInvalid.
func (r OIDCStartRequest) Validate() error { return ValidateLoopbackRedirect(r.RedirectURI) }

// Validate checks sizes; errors wrap model.ErrInvalid.
func (r OIDCFinishRequest) Validate() error {
	if err := validateParam("state", r.State); err != nil {
		return err
	}
	if err := validateParam("code", r.Code); err != nil {
		return err
	}
	return ValidateDeviceName(r.DeviceName)
}

// Validate checks every field; errors wrap model.ErrInvalid.
func (r OIDCSignUpRequest) Validate() error {
	if err := validateParam("ticket", r.Ticket); err != nil {
		return err
	}
	if err := ValidateUsername(r.Username); err != nil {
		return err
	}
	if err := r.Credentials.Validate(); err != nil {
		return err
	}
	if err := validateWrapped("recovery_wrapped_key", r.RecoveryWrappedKey); err != nil {
		return err
	}
	return ValidateDeviceName(r.DeviceName)
}
