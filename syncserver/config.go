package syncserver

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/courierapp/courier/model"
)

// Config is everything a Server needs. cmd/courier-server builds it from
// flags; tests build it directly.
type Config struct {
	// Addr is the TCP address to listen on ("127.0.0.1:0" in tests).
	Addr string
	// Listener, when set, is used instead of binding Addr (plain TCP;
	// the server adds TLS). The server closes it.
	Listener net.Listener
	// PublicURL is the https:// base of links in emails
	// ("https://sync.example.com").
	PublicURL string
	// TLS holds the server certificate. Required: the server speaks
	// HTTPS only.
	TLS *tls.Config
	// Storage keeps accounts and sessions. Required. Server.Close does
	// not close it (the caller opened it).
	Storage Storage
	// Mailer sends emails. Required.
	Mailer Mailer
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Collectors are more Prometheus metrics for /metrics (those of the
	// command that runs the server: its backups, say).
	Collectors []prometheus.Collector
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits are the rate limits; the zero value means DefaultLimits().
	Limits *Limits
	// MaxConcurrent bounds concurrent expensive work (hashing, storage
	// writes); 0 means 64. Storage writes are batched (one fsync for many
	// sign-ins), so the bound must leave room for a batch to fill.
	MaxConcurrent int
	// MailQueue is how many emails may wait to be sent; 0 means 1024.
	MailQueue int
	// ShutdownTimeout bounds the graceful shutdown; 0 means 10 s.
	ShutdownTimeout time.Duration
	// Sync tunes the sync endpoint; the zero value means the defaults.
	Sync SyncConfig
	// OIDC lists the OpenID Connect providers users may sign in with
	// (see ParseOIDCFlag). Storage must then implement OIDCStorage.
	OIDC []OIDCProvider
	// OIDCClient makes the server's calls to the providers (discovery,
	// keys, code exchange); nil means a client with a 15 s timeout.
	OIDCClient *http.Client
	// TrustedProxies are the load balancers in front of the server (see
	// ParseTrustedProxies): from these peers the client's address is
	// taken from X-Forwarded-For, for the rate limits and the logs.
	TrustedProxies []netip.Prefix
	// SessionIdle is how long a session may go unused (no request, no
	// sync connection) before it expires; 0 means DefaultSessionIdle.
	SessionIdle time.Duration
}

// DefaultSessionIdle is the idle limit of sessions: a device unused for
// half a year signs in again.
const DefaultSessionIdle = 180 * 24 * time.Hour

// withDefaults checks cfg and fills the optional fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.TLS == nil || cfg.Storage == nil || cfg.Mailer == nil {
		return cfg, fmt.Errorf("config: TLS, Storage and Mailer are required: %w", model.ErrInvalid)
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return cfg, fmt.Errorf("config: public URL %q must be https://host[:port]: %w", cfg.PublicURL, model.ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.Limits == nil {
		l := DefaultLimits()
		cfg.Limits = &l
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 64
	}
	if cfg.MailQueue <= 0 {
		cfg.MailQueue = 1024
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	return cfg, nil
}
