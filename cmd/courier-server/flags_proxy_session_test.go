package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
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

func TestQuotaFlagsAreChecked(t *testing.T) {
	for _, tc := range []struct{ records, bytes, flag string }{
		{"none", "", "--quota-records"},
		{"0", "", "--quota-records"},
		{"-5", "", "--quota-records"},
		{"", "lots", "--quota-bytes"},
		{"", "4 parsecs", "--quota-bytes"},
		{"", "0GiB", "--quota-bytes"},
		{"", "99999999999TiB", "--quota-bytes"},
	} {
		m := &Main{Dev: true, DataDir: t.TempDir(), BindAddr: "127.0.0.1:0", Stderr: io.Discard, QuotaRecords: tc.records, QuotaBytes: tc.bytes}
		err := m.Open(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("records %q bytes %q: err = %v, want one naming %s", tc.records, tc.bytes, err, tc.flag)
		}
	}
	for in, want := range map[string]int64{"512": 512, "2KB": 2000, "500MiB": 500 << 20, "4GiB": 4 << 30, "1 tb": 1e12, "7b": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestQuotaRecordsFlagBoundsAnAccount runs the server with
// --quota-records 2: a third live record is refused with 4413, and once
// one is deleted it goes through.
func TestQuotaRecordsFlagBoundsAnAccount(t *testing.T) {
	dir := t.TempDir()
	mail := make(chan syncserver.Message, 8)
	m := &Main{Stderr: io.Discard,
		Mailer: syncserver.MailerFunc(func(_ context.Context, msg syncserver.Message) error { mail <- msg; return nil })}
	args := []string{"--dev", "--data", dir, "--addr", "127.0.0.1:0", "--quota-records", "2"}
	env := map[string]string{"COURIER_QUOTA_BYTES": "1MiB"}
	if err := m.ParseFlags(args, func(k string) string { return env[k] }); err != nil || m.QuotaBytes != "1MiB" {
		t.Fatalf("ParseFlags: %v (--quota-bytes %q)", err, m.QuotaBytes)
	}
	start(t, m)
	caFile := filepath.Join(dir, syncserver.DevCAFile)
	acct := servertest.NewAccountAt(t, "https://"+m.Addr(), caFile, "quota", func(string) string {
		select {
		case msg := <-mail:
			return msg.Links[0]
		case <-time.After(10 * time.Second):
			t.Fatal("no confirmation email")
			return ""
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	push := func(ops ...model.Op) error {
		ws := servertest.DialSync(ctx, t, acct.URL, acct.CAFile, acct.Login(t))
		defer ws.CloseNow()
		send := func(f syncproto.Frame) error {
			b, _ := syncproto.EncodeFrame(f)
			return ws.Write(ctx, websocket.MessageText, b)
		}
		if err := send(&syncproto.Hello{DeviceID: "quota-test"}); err != nil {
			return err
		}
		for pending, caughtUp := map[model.ID]bool{}, false; ; {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return err
			}
			f, err := syncproto.DecodeServerFrame(b)
			if err != nil {
				return err
			}
			if ch, ok := f.(*syncproto.Changes); ok {
				for _, c := range ch.Changes {
					delete(pending, c.OpID)
				}
				if ch.CaughtUp && !caughtUp {
					caughtUp = true
					for _, op := range ops {
						pending[op.OpID] = true
					}
					if err := send(&syncproto.Push{Ops: ops}); err != nil {
						return err
					}
				}
			}
			if caughtUp && len(pending) == 0 {
				return nil
			}
		}
	}
	op := func(id model.ID, field, value string) model.Op {
		sealed, err := vault.Seal(acct.Key, string(model.KindRequest), string(id), field, []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		return model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: id, Fields: model.Fields{field: syncproto.SealedValue(sealed)}}
	}
	a, b, c := model.NewID(), model.NewID(), model.NewID()
	if err := push(op(a, "name", `"a"`), op(b, "name", `"b"`)); err != nil {
		t.Fatalf("two records under a quota of two: %v", err)
	}
	err := push(op(c, "name", `"c"`))
	if code := websocket.CloseStatus(err); code != websocket.StatusCode(syncproto.CloseTooLarge) {
		t.Fatalf("a third record: %v (close code %d), want %d", err, code, syncproto.CloseTooLarge)
	}
	if err := push(op(a, model.FieldDeleted, "true")); err != nil {
		t.Fatalf("a deletion: %v", err)
	}
	if err := push(op(c, "name", `"c"`)); err != nil {
		t.Fatalf("a third record once one is deleted: %v", err)
	}
}
