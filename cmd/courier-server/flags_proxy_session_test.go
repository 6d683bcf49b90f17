package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/syncserver"
)

// TestTrustedProxiesKeyRateLimitsOnTheForwardedClient runs the server as
// behind a load balancer on loopback: with --trusted-proxies the public
// link limit counts each forwarded client apart; without it a client
// cannot escape the limit by sending another X-Forwarded-For.
func TestTrustedProxiesKeyRateLimitsOnTheForwardedClient(t *testing.T) {
	for _, tc := range []struct {
		name, trusted string
		separate      bool
	}{
		{"behind a trusted balancer", "127.0.0.0/8,::1", true},
		{"no trusted proxy", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			limits := syncserver.NoLimits()
			limits.LinkGet = syncserver.Rate{Burst: 1, Every: time.Hour}
			m := &Main{Dev: true, DataDir: dir, BindAddr: "127.0.0.1:0", Stderr: io.Discard, Limits: &limits, TrustedProxies: tc.trusted}
			start(t, m)
			c := trusting(t, filepath.Join(dir, syncserver.DevCAFile))
			get := func(client string) int {
				req, _ := http.NewRequest("GET", "https://"+m.Addr()+"/c/AAAAAAAAAAAAAAAAAAAAAA", nil)
				req.Header.Set("X-Forwarded-For", client)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if s := get("198.51.100.1"); s != http.StatusNotFound {
				t.Fatalf("first GET: %d, want 404", s)
			}
			if s := get("198.51.100.1"); s != http.StatusTooManyRequests {
				t.Fatalf("second GET of the same client: %d, want 429", s)
			}
			want := http.StatusTooManyRequests
			if tc.separate {
				want = http.StatusNotFound
			}
			if s := get("198.51.100.2"); s != want {
				t.Fatalf("another forwarded client: %d, want %d", s, want)
			}
		})
	}
}

func TestBadTrustedProxiesAreRefused(t *testing.T) {
	m := &Main{Stderr: io.Discard}
	if err := m.ParseFlags(nil, func(k string) string {
		return map[string]string{"COURIER_TRUSTED_PROXIES": "10.0.0.0/8"}[k]
	}); err != nil || m.TrustedProxies != "10.0.0.0/8" {
		t.Fatalf("env: %v %q", err, m.TrustedProxies)
	}
	m = &Main{Dev: true, DataDir: t.TempDir(), BindAddr: "127.0.0.1:0", Stderr: io.Discard, TrustedProxies: "10.0.0.0/8,lb.internal"}
	err := m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), "lb.internal") {
		t.Fatalf("err = %v", err)
	}
}

func TestSessionIdleFlag(t *testing.T) {
	for _, bad := range []string{"soon", "5m", "-1h"} {
		m := &Main{Dev: true, DataDir: t.TempDir(), BindAddr: "127.0.0.1:0", Stderr: io.Discard, SessionIdle: bad}
		err := m.Open(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), "--session-idle") {
			t.Errorf("--session-idle %s: err = %v", bad, err)
		}
	}
	m := &Main{Dev: true, DataDir: t.TempDir(), BindAddr: "127.0.0.1:0", Stderr: io.Discard, SessionIdle: "720h"}
	start(t, m)
}
