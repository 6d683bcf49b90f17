package syncserver

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"
)

// Rate is a token bucket: Burst calls at once, then one more each Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// ActionLimits limits one action per client IP and per identifier (the
// email or username it names).
type ActionLimits struct {
	PerIP         Rate
	PerIdentifier Rate
}

// Limits are the rate limits of the account API. A zero Rate disables that
// limit.
type Limits struct {
	SignIn ActionLimits
	SignUp ActionLimits
	// Mail covers forgot-username, forgot-password and resend-confirmation.
	Mail ActionLimits
	// Code covers the calls that take a reset code (recovery key, reset).
	Code ActionLimits
	// LinkGet limits the public GETs of collection links, per client IP.
	LinkGet Rate
}

// DefaultLimits are the production limits.
func DefaultLimits() Limits {
	return Limits{
		SignIn: ActionLimits{PerIP: Rate{20, 3 * time.Second}, PerIdentifier: Rate{10, 30 * time.Second}},
		SignUp: ActionLimits{PerIP: Rate{5, time.Minute}, PerIdentifier: Rate{3, 10 * time.Minute}},
		Mail:   ActionLimits{PerIP: Rate{5, time.Minute}, PerIdentifier: Rate{3, 10 * time.Minute}},
		Code:   ActionLimits{PerIP: Rate{10, 30 * time.Second}, PerIdentifier: Rate{10, time.Minute}},
		// LinkGet: a page view is one GET (and a download one more).
		LinkGet: Rate{60, time.Second},
	}
}

// NoLimits disables every rate limit (for tests that measure handlers).
func NoLimits() Limits { return Limits{} }

// limiter is a set of token buckets keyed by string. It forgets full
// buckets when it grows past maxKeys, so memory stays bounded.
type limiter struct {
	rate    Rate
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxLimiterKeys = 100_000

func newLimiter(r Rate, now func() time.Time) *limiter {
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key; when none is left it returns false and how
// long until one is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate.Burst <= 0 || l.rate.Every <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiterKeys {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(l.rate.Every))
	return false, wait
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(float64(l.rate.Burst), b.tokens+float64(el)/float64(l.rate.Every))
	}
	b.at = now
}

// sweep drops buckets that have refilled completely; if that frees
// nothing (a flood of fresh keys), it drops them all rather than grow.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.rate.Burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterKeys {
		clear(l.buckets)
	}
}

// RateStorage keeps token buckets that every replica of a deployment
// shares (pgstore). With it the account API's limits hold for the whole
// deployment: N replicas behind a load balancer allow what one does, not
// N times as much.
type RateStorage interface {
	// TakeToken takes a token from the bucket key, of rate r and full at
	// first, refilled by the storage's clock. ok is false, with the wait
	// until a token is back, when the bucket is empty.
	TakeToken(ctx context.Context, key []byte, r Rate) (ok bool, wait time.Duration, err error)
}

// actionLimiter pairs the per-IP and per-identifier buckets of an action:
// this replica's, and the deployment's when shared is set.
type actionLimiter struct {
	name   string
	ip, id *limiter
	shared RateStorage
	log    *slog.Logger
}

func newActionLimiter(name string, a ActionLimits, now func() time.Time, shared RateStorage, log *slog.Logger) actionLimiter {
	return actionLimiter{name: name, ip: newLimiter(a.PerIP, now), id: newLimiter(a.PerIdentifier, now), shared: shared, log: log}
}

// check takes a token from each bucket; identifier may be empty. The
// replica's own buckets come first, so a flood from one client costs the
// shared storage nothing.
func (a actionLimiter) check(ctx context.Context, ip, identifier string) error {
	if ok, wait := a.ip.allow(ip); !ok {
		return &rateLimitedError{RetryAfter: wait}
	}
	if identifier != "" {
		if ok, wait := a.id.allow(identifier); !ok {
			return &rateLimitedError{RetryAfter: wait}
		}
	}
	if err := a.takeShared(ctx, "ip", ip, a.ip.rate); err != nil {
		return err
	}
	if identifier == "" {
		return nil
	}
	return a.takeShared(ctx, "id", identifier, a.id.rate)
}

// takeShared takes a token from the deployment's bucket of (kind, key),
// stored under a hash, so the storage holds no address or identifier.
// When the storage fails, the replica's own limit stands alone.
func (a actionLimiter) takeShared(ctx context.Context, kind, key string, r Rate) error {
	if a.shared == nil || r.Burst <= 0 || r.Every <= 0 {
		return nil
	}
	h := sha256.Sum256([]byte(a.name + "\x00" + kind + "\x00" + key))
	ok, wait, err := a.shared.TakeToken(ctx, h[:], r)
	if err != nil {
		a.log.Warn("shared rate limit unavailable; this replica's own limit applies", "action", a.name, "err", err)
		return nil
	}
	if !ok {
		return &rateLimitedError{RetryAfter: wait}
	}
	return nil
}
