package syncserver

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// GoogleIssuer is the issuer of the "google" preset.
const GoogleIssuer = "https://accounts.google.com"

// OIDCProvider is one OpenID Connect provider the server trusts. The
// server is a confidential client: it holds the secret and does the code
// exchange.
type OIDCProvider struct {
	// Name is the provider's route name ("google"); see
	// syncproto.ValidateProviderName.
	Name string
	// DisplayName labels the sign-in button ("Google"); empty means Name.
	DisplayName string
	// Issuer is the issuer URL; discovery is fetched from
	// Issuer + "/.well-known/openid-configuration". It must be https://,
	// or http:// on a loopback address (tests).
	Issuer       string
	ClientID     string
	ClientSecret string
}

// ParseOIDCFlag parses the value of --oidc:
//
//	NAME=ISSUER,CLIENT_ID,CLIENT_SECRET
//	google=CLIENT_ID,CLIENT_SECRET      (the google preset; also
//	google=,CLIENT_ID,CLIENT_SECRET)
//
// An empty issuer is allowed only for the google preset. Errors wrap
// model.ErrInvalid and never echo the secret.
func ParseOIDCFlag(v string) (OIDCProvider, error) {
	name, rest, ok := strings.Cut(v, "=")
	if !ok {
		return OIDCProvider{}, fmt.Errorf("--oidc wants NAME=ISSUER,CLIENT_ID,CLIENT_SECRET: %w", model.ErrInvalid)
	}
	parts := strings.Split(rest, ",")
	p := OIDCProvider{Name: strings.TrimSpace(name)}
	switch {
	case len(parts) == 3:
		p.Issuer, p.ClientID, p.ClientSecret = parts[0], parts[1], parts[2]
	case len(parts) == 2 && p.Name == "google":
		p.ClientID, p.ClientSecret = parts[0], parts[1]
	default:
		return OIDCProvider{}, fmt.Errorf("--oidc %s: want NAME=ISSUER,CLIENT_ID,CLIENT_SECRET (google=CLIENT_ID,CLIENT_SECRET for Google): %w", p.Name, model.ErrInvalid)
	}
	if p.Name == "google" && p.Issuer == "" {
		p.Issuer, p.DisplayName = GoogleIssuer, "Google"
	}
	return p, p.validate()
}

// validate checks the fields; errors wrap model.ErrInvalid.
func (p OIDCProvider) validate() error {
	if err := syncproto.ValidateProviderName(p.Name); err != nil {
		return fmt.Errorf("oidc provider: %w", err)
	}
	if p.ClientID == "" || p.ClientSecret == "" {
		return fmt.Errorf("oidc provider %s: client id and secret are required: %w", p.Name, model.ErrInvalid)
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("oidc provider %s: issuer %q is not a URL: %w", p.Name, p.Issuer, model.ErrInvalid)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "https" && (u.Scheme != "http" || ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("oidc provider %s: issuer %q must be https:// (http:// only on loopback): %w", p.Name, p.Issuer, model.ErrInvalid)
	}
	return nil
}

func (p OIDCProvider) label() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Name
}
