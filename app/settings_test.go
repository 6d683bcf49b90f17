package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
)

func TestSettingsDefaultsAndValidation(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, app.Options{})
	s, err := a.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s != app.DefaultSettings() {
		t.Fatalf("fresh settings = %+v, want defaults", s)
	}
	if s.Timeout != 30*time.Second || s.HistoryLimit != model.DefaultHistoryLimit || !s.VerifyTLS {
		t.Fatalf("defaults = %+v", s)
	}
	tests := []struct {
		name    string
		change  func(*app.Settings)
		wantErr bool
	}{
		{"history limit zero means the default", func(s *app.Settings) { s.HistoryLimit = 0 }, false},
		{"history limit at the maximum is kept", func(s *app.Settings) { s.HistoryLimit = model.MaxHistoryLimit }, false},
		{"history limit over the maximum is refused", func(s *app.Settings) { s.HistoryLimit = model.MaxHistoryLimit + 1 }, true},
		{"negative history limit is refused", func(s *app.Settings) { s.HistoryLimit = -1 }, true},
		{"unknown theme is refused", func(s *app.Settings) { s.Theme = "pink" }, true},
		{"dark theme is kept", func(s *app.Settings) { s.Theme = app.ThemeDark }, false},
		{"zero timeout means the default", func(s *app.Settings) { s.Timeout = 0 }, false},
		{"negative timeout is refused", func(s *app.Settings) { s.Timeout = -time.Second }, true},
		{"negative redirects are refused", func(s *app.Settings) { s.MaxRedirects = -1 }, true},
		{"a proxy without a scheme is kept", func(s *app.Settings) { s.Proxy = "proxy.local:3128" }, false},
		{"a socks5 proxy is kept", func(s *app.Settings) { s.Proxy = "socks5://127.0.0.1:1080" }, false},
		{"direct is kept", func(s *app.Settings) { s.Proxy = "direct" }, false},
		{"a proxy of another scheme is refused", func(s *app.Settings) { s.Proxy = "ftp://proxy:21" }, true},
		{"a proxy without a host is refused", func(s *app.Settings) { s.Proxy = "http://" }, true},
		{"every field round-trips", func(s *app.Settings) {
			*s = app.Settings{Timeout: time.Second, VerifyTLS: false, FollowRedirects: false, MaxRedirects: 3,
				Proxy: "http://proxy:8080", CAFile: "/etc/ssl/internal-ca.pem", HistoryLimit: 5, Theme: app.ThemeLight, WelcomeDone: true}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := app.DefaultSettings()
			tt.change(&s)
			err := a.SaveSettings(ctx, s)
			if tt.wantErr {
				if !errors.Is(err, model.ErrInvalid) {
					t.Fatalf("SaveSettings = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.HistoryLimit == 0 {
				s.HistoryLimit = model.DefaultHistoryLimit
			}
			if s.Timeout == 0 {
				s.Timeout = app.DefaultTimeout
			}
			if got != s {
				t.Fatalf("read back %+v, want %+v", got, s)
			}
		})
	}
}

func TestWelcomeIsRemembered(t *testing.T) {
	ctx := context.Background()
	a, db := newApp(t, app.Options{})
	if !a.NeedsWelcome(ctx) {
		t.Fatal("a new profile must show the welcome")
	}
	if err := a.SkipWelcome(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := app.New(db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.NeedsWelcome(ctx) {
		t.Fatal("welcome shown again after Skip")
	}
	if a.AccountsAvailable() {
		t.Fatal("accounts are not available yet")
	}
}

// A profile signed in from the command line never showed the prompt, and
// must not offer to sign in when the app first opens it.
func TestWelcomeIsNotShownToAProfileWithAnAccount(t *testing.T) {
	ctx := context.Background()
	a, db := newApp(t, app.Options{})
	if err := db.SetSetting(ctx, "app.account", app.Account{AccountID: "acct-1", Username: "ann", SignedIn: true}); err != nil {
		t.Fatal(err)
	}
	if a.NeedsWelcome(ctx) {
		t.Fatal("welcome shown to a profile signed in to an account")
	}
}

func TestProfileDir(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "COURIER_PROFILE" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, flag, env, want string
	}{
		{"flag wins over the environment", "/tmp/a", "/tmp/b", "/tmp/a"},
		{"environment when no flag", "", "/tmp/b", "/tmp/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := app.ProfileDirFrom(tt.flag, env(tt.env))
			if err != nil || got != tt.want {
				t.Fatalf("ProfileDirFrom = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("user config dir by default", func(t *testing.T) {
		t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg")
		got, err := app.ProfileDirFrom("", env(""))
		if err != nil || got != "/tmp/cfg/courier" {
			t.Fatalf("ProfileDirFrom = %q, %v", got, err)
		}
	})
}
