package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/courierapp/courier/model"
)

// Themes a user may choose.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Defaults of Settings.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 10
	// MaxTimeout bounds the request timeout a user may set.
	MaxTimeout = 24 * time.Hour
	// RedirectsLimit bounds the redirects a user may allow.
	RedirectsLimit = 100
)

// settingsKey is the Store setting that holds Settings as one JSON object.
const settingsKey = "app.settings"

// Settings are the local (never synced) preferences of a profile.
type Settings struct {
	// Timeout bounds one whole exchange; default 30s.
	Timeout time.Duration `json:"timeout"`
	// VerifyTLS checks server certificates; default true.
	VerifyTLS bool `json:"verify_tls"`
	// FollowRedirects follows 3xx responses up to MaxRedirects; default true.
	FollowRedirects bool `json:"follow_redirects"`
	MaxRedirects    int  `json:"max_redirects"`
	// Proxy is an http(s) proxy URL; empty uses the environment's.
	Proxy string `json:"proxy"`
	// CAFile is a PEM file of CA certificates that requests trust beside
	// the system's (an internal CA); empty for none.
	CAFile string `json:"ca_file,omitempty"`
	// HistoryLimit is how many history entries are kept: 1..model.MaxHistoryLimit.
	HistoryLimit int `json:"history_limit"`
	// Theme is ThemeSystem, ThemeLight or ThemeDark.
	Theme string `json:"theme"`
	// WelcomeDone is true once the welcome prompt was dismissed.
	WelcomeDone bool `json:"welcome_done"`
	// ActiveEnvironment is the environment whose variables requests use;
	// empty for none.
	ActiveEnvironment model.ID `json:"active_environment"`
}

// DefaultSettings returns the settings of a new profile.
func DefaultSettings() Settings {
	return Settings{
		Timeout: DefaultTimeout, VerifyTLS: true, FollowRedirects: true,
		MaxRedirects: DefaultMaxRedirects, HistoryLimit: model.DefaultHistoryLimit, Theme: ThemeSystem,
	}
}

// Validate checks s, naming the first bad field; the error wraps
// model.ErrInvalid.
func (s Settings) Validate() error {
	switch {
	case s.Timeout <= 0 || s.Timeout > MaxTimeout:
		return fmt.Errorf("timeout %v must be positive and at most %v: %w", s.Timeout, MaxTimeout, model.ErrInvalid)
	case s.MaxRedirects < 0 || s.MaxRedirects > RedirectsLimit:
		return fmt.Errorf("max redirects %d must be between 0 and %d: %w", s.MaxRedirects, RedirectsLimit, model.ErrInvalid)
	case s.HistoryLimit < 1 || s.HistoryLimit > model.MaxHistoryLimit:
		return fmt.Errorf("history limit %d must be between 1 and %d: %w", s.HistoryLimit, model.MaxHistoryLimit, model.ErrInvalid)
	case s.Theme != ThemeSystem && s.Theme != ThemeLight && s.Theme != ThemeDark:
		return fmt.Errorf("theme %q must be system, light or dark: %w", s.Theme, model.ErrInvalid)
	}
	return ValidateProxy(s.Proxy)
}

// ValidateProxy accepts "" (the environment's proxy), "direct", or an
// http, https or socks5 URL with a host (no scheme means http), as httprun
// does.
func ValidateProxy(p string) error {
	p = strings.TrimSpace(p)
	if p == "" || p == "direct" {
		return nil
	}
	raw := p
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("proxy %q is not a URL like http://host:port: %w", p, model.ErrInvalid)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return nil
	}
	return fmt.Errorf("proxy %q: the scheme must be http, https or socks5: %w", p, model.ErrInvalid)
}

// Settings returns the profile's settings, defaults filled in for anything
// never saved. A stored value that no longer validates (written by another
// version) is replaced by its default, field by field.
func (a *App) Settings(ctx context.Context) (Settings, error) {
	s := DefaultSettings()
	if err := a.store.Setting(ctx, settingsKey, &s); err != nil && !isNotFound(err) {
		return DefaultSettings(), fmt.Errorf("read settings: %w", err)
	}
	return sanitize(s), nil
}

func sanitize(s Settings) Settings {
	d := DefaultSettings()
	if s.Timeout <= 0 || s.Timeout > MaxTimeout {
		s.Timeout = d.Timeout
	}
	if s.MaxRedirects < 0 || s.MaxRedirects > RedirectsLimit {
		s.MaxRedirects = d.MaxRedirects
	}
	if s.HistoryLimit < 1 || s.HistoryLimit > model.MaxHistoryLimit {
		s.HistoryLimit = d.HistoryLimit
	}
	if s.Theme != ThemeSystem && s.Theme != ThemeLight && s.Theme != ThemeDark {
		s.Theme = d.Theme
	}
	if ValidateProxy(s.Proxy) != nil {
		s.Proxy = d.Proxy
	}
	return s
}

// SaveSettings validates and stores s whole. A zero Timeout, HistoryLimit
// or Theme means the default. Errors wrap model.ErrInvalid (naming the
// field) or the store's error.
func (a *App) SaveSettings(ctx context.Context, s Settings) error {
	a.settingsMu.Lock()
	defer a.settingsMu.Unlock()
	return a.saveSettingsLocked(ctx, s)
}

func (a *App) saveSettingsLocked(ctx context.Context, s Settings) error {
	d := DefaultSettings()
	if s.Timeout == 0 {
		s.Timeout = d.Timeout
	}
	if s.HistoryLimit == 0 {
		s.HistoryLimit = d.HistoryLimit
	}
	if s.Theme == "" {
		s.Theme = d.Theme
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if err := a.store.SetSetting(ctx, settingsKey, s); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// updateSettings reads, changes and saves the settings atomically with
// respect to other App calls.
func (a *App) updateSettings(ctx context.Context, change func(*Settings)) error {
	a.settingsMu.Lock()
	defer a.settingsMu.Unlock()
	s, err := a.Settings(ctx)
	if err != nil {
		return err
	}
	change(&s)
	return a.saveSettingsLocked(ctx, s)
}
