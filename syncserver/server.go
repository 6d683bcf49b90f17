package syncserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/courierapp/courier/syncproto"
)

// Server is the sync server: the account API over HTTPS, its mail queue
// and its metrics. Build it with New, bind with Listen (or let Run do it),
// serve with Run, stop with Close.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   Storage
	cursors Storage // the storage itself (s.store wraps it): a CursorChecker, maybe
	now     func() time.Time
	metrics *metrics
	handler http.Handler
	// hub, syncCfg and syncMetrics serve the sync endpoint (sync.go).
	hub         *hub
	syncCfg     SyncConfig
	syncMetrics *syncMetrics
	http        *http.Server
	// oidc serves sign-in with OpenID Connect providers (oidc.go); nil
	// when none is configured.
	oidc *oidcState

	signIn, signUp, mail, code actionLimiter
	// linkGet limits the public views of collection links, per IP.
	linkGet actionLimiter
	// sem bounds concurrent expensive work: hashing and storage writes.
	sem chan struct{}

	// preloginKey makes the fake salts of unknown identifiers; codeKey
	// keys the stored hashes of reset codes.
	preloginKey, codeKey []byte

	mailq      chan mailJob
	mailWG     sync.WaitGroup
	closeOnce  sync.Once
	stopMail   chan struct{}
	mailCancel context.CancelFunc

	mu sync.Mutex
	ln net.Listener

	// stopHeads stops watching other replicas' heads (heads.go).
	stopHeads func()
}

// New builds a server from cfg and starts its mail workers. It loads (or
// creates) the server's secrets from the storage. Errors wrap
// model.ErrInvalid for a bad config.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, store: cfg.Storage, now: cfg.Now,
		metrics:  newMetrics(cfg.Storage, cfg.Collectors),
		sem:      make(chan struct{}, cfg.MaxConcurrent),
		mailq:    make(chan mailJob, cfg.MailQueue),
		stopMail: make(chan struct{}),
	}
	shared, _ := cfg.Storage.(RateStorage)
	s.signIn = newActionLimiter("signin", cfg.Limits.SignIn, cfg.Now, shared, cfg.Logger)
	s.signUp = newActionLimiter("signup", cfg.Limits.SignUp, cfg.Now, shared, cfg.Logger)
	s.mail = newActionLimiter("mail", cfg.Limits.Mail, cfg.Now, shared, cfg.Logger)
	s.code = newActionLimiter("code", cfg.Limits.Code, cfg.Now, shared, cfg.Logger)
	s.linkGet = newActionLimiter("link_get", ActionLimits{PerIP: cfg.Limits.LinkGet}, cfg.Now, shared, cfg.Logger)
	s.syncCfg = cfg.Sync.withDefaults()
	s.hub = newHub(s.syncCfg.MaxConnsPerAccount)
	s.syncMetrics = newSyncMetrics(s.metrics.reg)
	s.store = revokingStore{Storage: cfg.Storage, hub: s.hub}
	s.cursors = cfg.Storage
	if s.preloginKey, err = cfg.Storage.LoadOrCreateSecret(ctx, "prelogin-salt", 32); err != nil {
		return nil, fmt.Errorf("load server secret: %w", err)
	}
	if s.codeKey, err = cfg.Storage.LoadOrCreateSecret(ctx, "code-hash", 32); err != nil {
		return nil, fmt.Errorf("load server secret: %w", err)
	}
	if s.oidc, err = newOIDCState(ctx, cfg); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsConfig(cfg.TLS),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// TLS handshake noise (scanners, plain HTTP on the TLS port)
		// goes to debug.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.startMailWorkers(2)
	s.stopHeads = s.watchHeads(cfg.Storage)
	return s, nil
}

// Handler returns the HTTP handler (for httptest and fuzzing).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds cfg.Addr (or takes cfg.Listener); Run adds TLS. Addr is valid afterwards.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
		}
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address ("127.0.0.1:43121"), or "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to ShutdownTimeout), and
// flushes the mail queue. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	defer s.stopHeads()
	if err := s.Listen(); err != nil {
		return err
	}
	s.log.Info("server listening", "addr", s.Addr(), "public_url", s.cfg.PublicURL)
	errc := make(chan error, 1)
	go func() { errc <- s.http.ServeTLS(s.ln, "", "") }()
	select {
	case err := <-errc:
		s.stopMailWorkers(s.cfg.ShutdownTimeout)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("server shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.hub.goingAway() // sync connections are hijacked: Shutdown does not see them
	err := errors.Join(s.http.Shutdown(sctx), s.hub.wait(sctx))
	<-errc
	s.stopMailWorkers(s.cfg.ShutdownTimeout)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Close stops the server at once (connections are closed, queued mail is
// given a second to go out). It does not close the Storage.
func (s *Server) Close() error {
	s.hub.goingAway()
	err := s.http.Close()
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.stopMailWorkers(time.Second)
	s.stopHeads()
	return err
}

// tlsConfig copies c with a TLS 1.2 floor; ServeTLS adds h2 and http/1.1.
func tlsConfig(c *tls.Config) *tls.Config {
	c = c.Clone()
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// acquire takes a slot of the expensive-work semaphore, or fails with
// model.ErrUnavailable when ctx ends first.
func (s *Server) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, apiErr(syncproto.CodeUnavailable, "the server is busy; try again")
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.api(h)) }
	handle("POST "+syncproto.PathSignUp, s.handleSignUp)
	mux.HandleFunc("GET "+syncproto.PathConfirmEmail, s.handleConfirmPage)
	handle("POST "+syncproto.PathConfirmEmail, s.handleConfirmEmail)
	handle("POST "+syncproto.PathResendConfirmation, s.handleResend)
	handle("POST "+syncproto.PathPrelogin, s.handlePrelogin)
	handle("POST "+syncproto.PathSignIn, s.handleSignIn)
	handle("POST "+syncproto.PathSignOut, s.authed(s.handleSignOut))
	handle("GET "+syncproto.PathAccount, s.authed(s.handleAccount))
	handle("POST "+syncproto.PathDeleteAccount, s.authed(s.handleDeleteAccount))
	handle("POST "+syncproto.PathChangePassword, s.authed(s.handleChangePassword))
	handle("POST "+syncproto.PathForgotUsername, s.handleForgotUsername)
	handle("POST "+syncproto.PathForgotPassword, s.handleForgotPassword)
	handle("POST "+syncproto.PathRecoveryKey, s.handleRecoveryKey)
	handle("POST "+syncproto.PathResetPassword, s.handleResetPassword)
	handle("GET "+syncproto.PathSessions, s.authed(s.handleSessions))
	handle("DELETE "+syncproto.PathSessions+"/{id}", s.authed(s.handleRevokeSession))
	s.linkRoutes(mux)
	s.oidcRoutes(handle)
	mux.HandleFunc("GET "+syncproto.PathSync, s.handleSync)
	mux.HandleFunc("GET "+syncproto.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.healthy(r.Context()); err != nil {
			s.log.Warn("health check: the database does not answer", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET "+syncproto.PathMetrics, s.metrics.handler())
	mux.HandleFunc("/", s.fallback(mux))
	return s.instrument(securityHeaders(realIP(s.cfg.TrustedProxies, mux)))
}

// fallback answers unknown routes and wrong methods with JSON errors.
func (s *Server) fallback(mux *http.ServeMux) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pat := mux.Handler(probe); pat != "/" && pat != "" {
				s.writeError(w, r, apiErr(syncproto.CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
				return
			}
		}
		s.notFound(w, r)
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=31536000")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// clientIP is the peer's address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
