package syncserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// discardMailer counts messages without sending them.
type discardMailer struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *discardMailer) Send(_ context.Context, m syncserver.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[m.Kind]++
	return nil
}

func (d *discardMailer) count(kind string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[kind]
}

// timed sends one request and returns its status, body and duration.
func (e *env) timed(path string, body any) (int, []byte, time.Duration) {
	b, _ := json.Marshal(body)
	start := time.Now()
	status, _, out := e.raw("POST", path, "", b)
	return status, out, time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestKnownAndUnknownAccountsLookAlike sends 1,000 requests for a known
// and 1,000 for an unknown account, interleaved, to prelogin and to
// forgot-password: the bodies must match and the medians be within 5 ms.
func TestKnownAndUnknownAccountsLookAlike(t *testing.T) {
	mailer := &discardMailer{}
	e := newEnv(t, withLimits(syncserver.NoLimits()), withMailer(mailer))
	pw := newPassword("pw")
	pw.creds.KDFParams = syncproto.DefaultKDFParams
	e.createConfirmed(t, "known", "known@example.com", pw)

	const n = 1000
	tests := []struct {
		name           string
		path           string
		known, unknown any
		// sameBytes: the bodies are byte-identical; otherwise (prelogin,
		// whose salt differs by design) they have the same length and
		// params and are stable across requests.
		sameBytes bool
	}{
		{"prelogin", syncproto.PathPrelogin, syncproto.PreloginRequest{Identifier: "known@example.com"}, syncproto.PreloginRequest{Identifier: "ghost@example.com"}, false},
		{"prelogin by username", syncproto.PathPrelogin, syncproto.PreloginRequest{Identifier: "known"}, syncproto.PreloginRequest{Identifier: "ghost"}, false},
		{"forgot password", syncproto.PathForgotPassword, syncproto.ForgotPasswordRequest{Email: "known@example.com"}, syncproto.ForgotPasswordRequest{Email: "ghost@example.com"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dk, du []time.Duration
			var firstK, firstU []byte
			for i := range n {
				sk, bk, tk := e.timed(tt.path, tt.known)
				su, bu, tu := e.timed(tt.path, tt.unknown)
				if sk != su || sk >= 300 {
					t.Fatalf("request %d: status known %d, unknown %d", i, sk, su)
				}
				if i == 0 {
					firstK, firstU = bk, bu
				}
				if !bytes.Equal(bk, firstK) || !bytes.Equal(bu, firstU) {
					t.Fatalf("request %d: answer changed between requests", i)
				}
				dk, du = append(dk, tk), append(du, tu)
			}
			if tt.sameBytes && !bytes.Equal(firstK, firstU) {
				t.Fatalf("bodies differ: known %q, unknown %q", firstK, firstU)
			}
			if !tt.sameBytes {
				var pk, pu syncproto.PreloginResponse
				json.Unmarshal(firstK, &pk)
				json.Unmarshal(firstU, &pu)
				if len(firstK) != len(firstU) || pk.KDFParams != pu.KDFParams || len(pk.KDFSalt) != len(pu.KDFSalt) {
					t.Fatalf("prelogin answers differ in shape: known %q, unknown %q", firstK, firstU)
				}
			}
			mk, mu := median(dk), median(du)
			t.Logf("%s: median known %v, unknown %v over %d each", tt.name, mk, mu, n)
			if diff := (mk - mu).Abs(); diff > 5*time.Millisecond {
				t.Fatalf("medians differ by %v: known %v, unknown %v", diff, mk, mu)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for mailer.count("reset") < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := mailer.count("reset"); got != n {
		t.Fatalf("known account got %d reset mails, want %d (and the unknown none)", got, n)
	}
}

// createConfirmed stores a confirmed account directly (no mail round trip).
func (e *env) createConfirmed(t testing.TB, username, email string, pw password) syncserver.Account {
	t.Helper()
	a := syncserver.Account{
		ID: "id-" + username, Username: username, Email: email, EmailConfirmed: true, CreatedAt: e.clock.Now(),
		Secrets: syncserver.AccountSecrets{KDFSalt: pw.creds.KDFSalt, KDFParams: pw.creds.KDFParams,
			AuthHash: sha(pw.creds.AuthKey), WrappedAccountKey: pw.creds.WrappedAccountKey, RecoveryWrappedKey: randomBytes(72)},
	}
	if err := e.store.CreateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSignInBurstIsRateLimitedAndHealthStaysUp(t *testing.T) {
	e := newEnv(t)
	pw := newPassword("pw")
	e.createConfirmed(t, "hal", "hal@example.com", pw)
	var wg sync.WaitGroup
	results := make([]*syncproto.Error, 100)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = e.signIn("hal", pw, "burst")
		}()
	}
	status, _, body := e.raw("GET", syncproto.PathHealth, "", nil)
	wg.Wait()
	if status != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("healthz during the burst: %d %q", status, body)
	}
	ok, limited := 0, 0
	for _, r := range results {
		switch {
		case r == nil:
			ok++
		case r.Code == syncproto.CodeRateLimited && r.Status == http.StatusTooManyRequests && r.RetryAfter >= time.Second:
			limited++
		default:
			t.Fatalf("unexpected answer %v (status %d)", r, r.Status)
		}
	}
	if ok == 0 || limited < 80 {
		t.Fatalf("%d signed in, %d limited; want a few and at least 80", ok, limited)
	}
	if status, _, _ := e.raw("GET", syncproto.PathHealth, "", nil); status != http.StatusOK {
		t.Fatalf("healthz after the burst: %d", status)
	}
}

func TestForgotPasswordIsLimitedPerIdentifier(t *testing.T) {
	e := newEnv(t)
	limits := syncserver.DefaultLimits()
	var last *syncproto.Error
	for range limits.Mail.PerIdentifier.Burst + 1 {
		_, last = call[syncproto.StatusResponse](e, "POST", syncproto.PathForgotPassword, "", syncproto.ForgotPasswordRequest{Email: "who@example.com"})
	}
	wantCode(t, "forgot password past the burst", last, syncproto.CodeRateLimited)
	if last.RetryAfter < time.Minute {
		t.Fatalf("Retry-After %v, want about 10 minutes / burst", last.RetryAfter)
	}
}
