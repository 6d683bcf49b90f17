package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// newTestApp returns an App over a fresh store in t.TempDir().
func newTestApp(t *testing.T, opts Options) (*App, Store) {
	t.Helper()
	st := openTestStore(t)
	a, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, st
}

func TestSettingsDefaultsAndValidation(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestApp(t, Options{})
	s, err := a.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s != DefaultSettings() {
		t.Fatalf("fresh settings = %+v, want defaults", s)
	}
	tests := []struct {
		name    string
		change  func(*Settings)
		wantErr bool
	}{
		{"history limit zero means default", func(s *Settings) { s.HistoryLimit = 0 }, false},
		{"history limit at the maximum is kept", func(s *Settings) { s.HistoryLimit = model.MaxHistoryLimit }, false},
		{"history limit over the maximum is refused", func(s *Settings) { s.HistoryLimit = model.MaxHistoryLimit + 1 }, true},
		{"negative history limit is refused", func(s *Settings) { s.HistoryLimit = -1 }, true},
		{"unknown theme is refused", func(s *Settings) { s.Theme = "pink" }, true},
		{"dark theme is kept", func(s *Settings) { s.Theme = ThemeDark }, false},
		{"negative timeout is refused", func(s *Settings) { s.Timeout = -time.Second }, true},
		{"negative redirects are refused", func(s *Settings) { s.MaxRedirects = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
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
			if got != s {
				t.Fatalf("read back %+v, want %+v", got, s)
			}
		})
	}
}

func TestWelcomeIsRemembered(t *testing.T) {
	ctx := context.Background()
	a, st := newTestApp(t, Options{})
	if !a.NeedsWelcome(ctx) {
		t.Fatal("a new profile must show the welcome")
	}
	if err := a.SkipWelcome(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := New(st, Options{})
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
			got, err := ProfileDirFrom(tt.flag, env(tt.env))
			if err != nil || got != tt.want {
				t.Fatalf("ProfileDirFrom = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("user config dir by default", func(t *testing.T) {
		t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg")
		got, err := ProfileDirFrom("", env(""))
		if err != nil || got != "/tmp/cfg/courier" {
			t.Fatalf("ProfileDirFrom = %q, %v", got, err)
		}
	})
}
