package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/boltstore"
)

// Main turns flags into a running server. Tests set the exported fields
// (or call ParseFlags), then Open, Run and Close it in-process.
type Main struct {
	BindAddr  string
	PublicURL string
	DataDir   string
	TLSCert   string
	TLSKey    string
	Dev       bool
	SMTPURL   string
	MailFrom  string
	LogLevel  string
	// DB is a postgres:// URL (--db); empty means the bbolt file in
	// DataDir. DBMaxConns is its pool size (--db-max-conns), a positive
	// number, or empty for the default.
	DB         string
	DBMaxConns string
	// TrustedProxies lists the load balancers whose X-Forwarded-For is
	// believed (--trusted-proxies).
	TrustedProxies string
	// SessionIdle is a Go duration (--session-idle); empty means
	// syncserver.DefaultSessionIdle.
	SessionIdle string
	// QuotaRecords and QuotaBytes bound each account's sync data
	// (--quota-records, a count; --quota-bytes, a size such as 4GiB);
	// empty means syncserver.DefaultSyncQuota's.
	QuotaRecords string
	QuotaBytes   string
	// OIDC lists the sign-in providers (--oidc, repeatable, or
	// COURIER_OIDC with entries separated by ';').
	OIDC []syncserver.OIDCProvider
	// BackupDir receives hot backups of the bbolt file (--backup-dir);
	// BackupEvery (a Go duration) and BackupKeep (a count) are their
	// interval and how many are kept; empty means 24h and 7.
	BackupDir   string
	BackupEvery string
	BackupKeep  string
	// MarkRestored (--mark-restored) readies data put back from a backup
	// and exits instead of serving (see RunMarkRestored).
	MarkRestored bool
	// ShowVersion (--version) prints the version and exits; Version is
	// the one the build was given (empty: a development build).
	ShowVersion bool
	Version     string

	// For tests: a Mailer replaces the dev mailbox or SMTP; SMTPTLS is the
	// TLS config the SMTP mailer uses (trust for a test server); Now is
	// the clock; Limits replace the default rate limits.
	Mailer  syncserver.Mailer
	SMTPTLS *tls.Config
	Now     func() time.Time
	Limits  *syncserver.Limits
	// Stderr receives the logs and --help; nil means os.Stderr.
	Stderr io.Writer

	store   syncserver.Storage
	server  *syncserver.Server
	backups *backups
}

// NewMain returns a Main with nothing set.
func NewMain() *Main { return &Main{} }

// flagSpec ties one flag to its environment variable.
type flagSpec struct {
	name, env, usage string
	str              *string
	boolean          *bool
}

func (m *Main) flagSpecs() []flagSpec {
	return []flagSpec{
		{"addr", "COURIER_ADDR", "`host:port` to listen on (default :8443, or 127.0.0.1:8443 with --dev)", &m.BindAddr, nil},
		{"public-url", "COURIER_PUBLIC_URL", "https:// `URL` users reach the server at; emailed links start with it (default https://localhost:PORT with --dev)", &m.PublicURL, nil},
		{"data", "COURIER_DATA", "`dir`ectory of the database and secrets (default ./courier-data, or ./.courier-dev with --dev)", &m.DataDir, nil},
		{"tls-cert", "COURIER_TLS_CERT", "PEM certificate chain `file` (required without --dev)", &m.TLSCert, nil},
		{"tls-key", "COURIER_TLS_KEY", "PEM private key `file` (required without --dev)", &m.TLSKey, nil},
		{"dev", "COURIER_DEV", "development mode: loopback, a self-made CA in the data dir (ca.pem), email saved to DATA/mail", nil, &m.Dev},
		{"smtp", "COURIER_SMTP", "SMTP submission `URL`: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS); required without --dev", &m.SMTPURL, nil},
		{"mail-from", "COURIER_MAIL_FROM", "From `address` of emails, e.g. \"Courier <noreply@example.com>\"", &m.MailFrom, nil},
		{"log-level", "COURIER_LOG_LEVEL", "`level` of logs: debug, info, warn, error (default info)", &m.LogLevel, nil},
		{"db", "COURIER_DB", "PostgreSQL `URL` (postgres://user:pass@host/db): several replicas may share it; default: a bbolt file in the data dir", &m.DB, nil},
		{"db-max-conns", "COURIER_DB_MAX_CONNS", "most `connections` to PostgreSQL, besides one for LISTEN (default max(8, 2×CPUs))", &m.DBMaxConns, nil},
		{"session-idle", "COURIER_SESSION_IDLE", "how long a signed-in device may stay unused before it must sign in again, e.g. 720h (default 4320h, 180 days)", &m.SessionIdle, nil},
		{"quota-records", "COURIER_QUOTA_RECORDS", "most live `records` an account may sync (deleted ones do not count); a push past it is refused with 4413 (default 1000000)", &m.QuotaRecords, nil},
		{"quota-bytes", "COURIER_QUOTA_BYTES", "most bytes of sealed values an account may sync, a `size` such as 500MiB or 4GiB (default 4GiB)", &m.QuotaBytes, nil},
		{"backup-dir", "COURIER_BACKUP_DIR", "`dir`ectory for hot backups of the bbolt database: a consistent copy written there every --backup-every while the server runs (default: none; with --db, back up PostgreSQL instead)", &m.BackupDir, nil},
		{"backup-every", "COURIER_BACKUP_EVERY", "`interval` of the backups, e.g. 6h (default 24h)", &m.BackupEvery, nil},
		{"backup-keep", "COURIER_BACKUP_KEEP", "how many backup `copies` to keep, the newest (default 7)", &m.BackupKeep, nil},
		{"mark-restored", "COURIER_MARK_RESTORED", "after putting back a backup of the data (a pg_dump, or a plain copy of the bbolt file): ready it so that devices which synced past the backup start over and push again what it lacks, then exit; run once, with every server stopped (the copies of --backup-dir need not)", nil, &m.MarkRestored},
		{"trusted-proxies", "COURIER_TRUSTED_PROXIES", "comma-separated `addresses` and CIDR prefixes of the load balancers in front of the server; the client address (for rate limits and logs) is then read from their X-Forwarded-For (default: none trusted)", &m.TrustedProxies, nil},
	}
}

// ParseFlags reads args, then fills every flag not given from its
// COURIER_* variable (getenv). --help prints the usage and returns
// flag.ErrHelp.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("courier-server", flag.ContinueOnError)
	// A refused flag is told in one line by the caller, not by package
	// flag with the whole usage after it; --help prints the usage.
	fs.SetOutput(io.Discard)
	specs := m.flagSpecs()
	for _, s := range specs {
		usage := s.usage + " [$" + s.env + "]"
		if s.boolean != nil {
			fs.BoolVar(s.boolean, s.name, false, usage)
		} else {
			fs.StringVar(s.str, s.name, "", usage)
		}
	}
	fs.Func("oidc", "sign-in `provider`: NAME=ISSUER,CLIENT_ID,CLIENT_SECRET, or google=CLIENT_ID,CLIENT_SECRET; repeatable [$COURIER_OIDC, entries separated by ';']", func(v string) error {
		p, err := syncserver.ParseOIDCFlag(v)
		m.OIDC = append(m.OIDC, p)
		return err
	})
	fs.BoolVar(&m.ShowVersion, "version", false, "print the version and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(m.stderr())
			fmt.Fprintf(fs.Output(), "Usage: courier-server [flags]\n\nCourier's sync server: the account API over HTTPS.\nEvery flag can also be set by the environment variable in brackets.\n\n")
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if v := getenv("COURIER_OIDC"); v != "" && !given["oidc"] {
		for _, e := range strings.Split(v, ";") {
			p, err := syncserver.ParseOIDCFlag(strings.TrimSpace(e))
			if err != nil {
				return fmt.Errorf("$COURIER_OIDC: %w", err)
			}
			m.OIDC = append(m.OIDC, p)
		}
	}
	for _, s := range specs {
		v := getenv(s.env)
		if given[s.name] || v == "" {
			continue
		}
		if s.boolean == nil {
			*s.str = v
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("$%s=%q: want true or false", s.env, v)
		}
		*s.boolean = b
	}
	return nil
}

func (m *Main) stderr() io.Writer {
	if m.Stderr != nil {
		return m.Stderr
	}
	return os.Stderr
}

func (m *Main) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if m.LogLevel != "" {
		if err := lvl.UnmarshalText([]byte(m.LogLevel)); err != nil {
			return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", m.LogLevel)
		}
	}
	return slog.New(slog.NewTextHandler(m.stderr(), &slog.HandlerOptions{Level: lvl})), nil
}

func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Open checks the settings, opens the database, binds the port and builds
// the server. Addr is valid afterwards.
func (m *Main) Open(ctx context.Context) (err error) {
	log, err := m.logger()
	if err != nil {
		return err
	}
	m.applyDefaults()
	if m.PublicURL != "" {
		if u, err := url.Parse(m.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("--public-url %q: want https://HOST[:PORT], the address users reach the server at", m.PublicURL)
		}
	}
	proxies, err := syncserver.ParseTrustedProxies(m.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	var idle time.Duration
	if m.SessionIdle != "" {
		if idle, err = time.ParseDuration(m.SessionIdle); err != nil || idle < time.Hour {
			return fmt.Errorf("--session-idle %q: want a duration of at least 1h, e.g. 720h", m.SessionIdle)
		}
	}
	quota, err := m.quota()
	if err != nil {
		return err
	}
	backups, err := m.backupConfig()
	if err != nil {
		return err
	}
	cert, err := m.certificate()
	if err != nil {
		return err
	}
	if m.store, err = m.openStore(ctx, log); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if backups != nil {
		backups.db, backups.log = m.store.(*boltstore.DB), log
		m.backups = backups
	}
	ln, err := net.Listen("tcp", m.BindAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.BindAddr, err)
	}
	if m.PublicURL == "" && m.Dev {
		m.PublicURL = "https://localhost:" + portOf(ln.Addr())
	}
	mailer, err := m.mailer(log)
	if err != nil {
		ln.Close()
		return err
	}
	var extra []prometheus.Collector
	if m.backups != nil {
		extra = m.backups.collectors()
	}
	m.server, err = syncserver.New(ctx, syncserver.Config{
		Listener: ln, Addr: m.BindAddr, PublicURL: m.PublicURL,
		TLS:     &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Storage: m.store, Mailer: mailer, Logger: log, Now: m.Now, Limits: m.Limits,
		OIDC: m.OIDC, TrustedProxies: proxies, SessionIdle: idle,
		Sync: syncserver.SyncConfig{Quota: quota}, Collectors: extra,
	})
	if err != nil {
		ln.Close()
		return err
	}
	if m.Dev {
		log.Info("dev mode: trust this CA in the app", "ca", filepath.Join(m.DataDir, syncserver.DevCAFile), "mail_dir", filepath.Join(m.DataDir, "mail"))
	}
	return m.server.Listen()
}

// quota reads --quota-records and --quota-bytes over the defaults.
func (m *Main) quota() (syncserver.Quota, error) {
	q := syncserver.DefaultSyncQuota()
	if m.QuotaRecords != "" {
		n, err := strconv.ParseInt(m.QuotaRecords, 10, 64)
		if err != nil || n < 1 {
			return q, fmt.Errorf("--quota-records %q: want a whole number of records, at least 1", m.QuotaRecords)
		}
		q.Records = n
	}
	if m.QuotaBytes != "" {
		n, err := parseSize(m.QuotaBytes)
		if err != nil {
			return q, fmt.Errorf("--quota-bytes %q: %w", m.QuotaBytes, err)
		}
		q.Bytes, q.Log = n, 0 // the log's bound follows (SyncConfig.Quota)
	}
	return q, nil
}

// parseSize reads a byte count with an optional unit: B, KB, MB, GB, TB
// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), case ignored.
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	mult := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 || n < 1 || n > math.MaxInt64/mult {
		return 0, errors.New("want a size of at least 1 byte, such as 500MiB or 4GiB")
	}
	return n * mult, nil
}

func (m *Main) applyDefaults() {
	if m.Dev {
		m.BindAddr = cmpOr(m.BindAddr, "127.0.0.1:8443")
		m.DataDir = cmpOr(m.DataDir, ".courier-dev")
		m.MailFrom = cmpOr(m.MailFrom, "Courier dev <courier@localhost>")
		return
	}
	m.BindAddr = cmpOr(m.BindAddr, ":8443")
	m.DataDir = cmpOr(m.DataDir, "courier-data")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// certificate loads --tls-cert/--tls-key, or in dev mode the dev CA's.
func (m *Main) certificate() (tls.Certificate, error) {
	if m.TLSCert != "" || m.TLSKey != "" {
		c, err := tls.LoadX509KeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			return c, fmt.Errorf("load --tls-cert %s and --tls-key %s: %w", m.TLSCert, m.TLSKey, err)
		}
		return c, nil
	}
	if !m.Dev {
		return tls.Certificate{}, errors.New("the server speaks HTTPS only: give --tls-cert and --tls-key, or run with --dev")
	}
	return syncserver.DevCertificate(m.DataDir, m.now())
}

func (m *Main) mailer(log *slog.Logger) (syncserver.Mailer, error) {
	switch {
	case m.Mailer != nil:
		return m.Mailer, nil
	case m.SMTPURL != "":
		if m.MailFrom == "" {
			return nil, errors.New("--smtp needs --mail-from")
		}
		return syncserver.NewSMTPMailer(m.SMTPURL, m.MailFrom, m.SMTPTLS, m.Now)
	case m.Dev:
		return &syncserver.DevMailbox{Dir: filepath.Join(m.DataDir, "mail"), From: m.MailFrom, Log: log, Now: m.Now}, nil
	}
	return nil, errors.New("give --smtp and --mail-from so the server can send confirmation and reset emails (or run with --dev)")
}

// Run serves until ctx is done, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	if m.server == nil {
		return errors.New("run before open")
	}
	if m.backups == nil {
		return m.server.Run(ctx)
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.backups.run(bctx) }()
	err := m.server.Run(ctx)
	cancel()
	<-done
	return err
}

// Addr is the bound address, "" before Open.
func (m *Main) Addr() string {
	if m.server == nil {
		return ""
	}
	return m.server.Addr()
}

// Close stops the server and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Close())
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
		m.store = nil
	}
	return errors.Join(errs...)
}
