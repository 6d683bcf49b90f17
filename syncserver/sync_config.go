package syncserver

import (
	"time"

	"github.com/courierapp/courier/syncproto"
)

// SyncConfig tunes the sync endpoint (syncproto.PathSync). The zero value
// means the defaults.
type SyncConfig struct {
	// Quota bounds each account's sync data; a zero Quota means
	// DefaultSyncQuota(), and a zero Log with a Bytes bound means
	// Bytes/LogEntryCost. A push past it closes the connection with 4413.
	Quota Quota
	// MaxConnsPerAccount bounds an account's open connections; one more
	// is closed with 4429. 0 means 32.
	MaxConnsPerAccount int
	// PushRate limits the pushes of one connection; past it the
	// connection is closed with 4429. A zero Rate means 200 at once, then
	// one per 5 ms; a negative Burst disables the limit.
	PushRate Rate
	// PageChanges and PageBytes bound one storage read of a sender loop;
	// 0 means 1000 changes and 512 KiB of values.
	PageChanges, PageBytes int
	// PingInterval is how often each connection is pinged;
	// MaxMissedPongs missed in a row close it. 0 means
	// syncproto.PingInterval.
	PingInterval time.Duration
	// WriteTimeout bounds the write of one frame; 0 means
	// syncproto.WriteTimeout. A client that does not read for that long
	// is disconnected.
	WriteTimeout time.Duration
}

// DefaultSyncQuota is generous: a million live records and 4 GiB of
// sealed values per account, and a log of 16 million entries.
func DefaultSyncQuota() Quota {
	return Quota{Records: 1_000_000, Bytes: 4 << 30, Log: (4 << 30) / LogEntryCost}
}

func (c SyncConfig) withDefaults() SyncConfig {
	if c.Quota == (Quota{}) {
		c.Quota = DefaultSyncQuota()
	}
	if c.Quota.Log == 0 && c.Quota.Bytes > 0 {
		// The log may take about as much room as the values.
		c.Quota.Log = max(c.Quota.Bytes/LogEntryCost, 1)
	}
	if c.MaxConnsPerAccount <= 0 {
		c.MaxConnsPerAccount = 32
	}
	if c.PushRate == (Rate{}) {
		c.PushRate = Rate{Burst: 200, Every: 5 * time.Millisecond}
	}
	if c.PageChanges <= 0 {
		c.PageChanges = 1000
	}
	if c.PageBytes <= 0 {
		c.PageBytes = 512 << 10
	}
	if c.PingInterval <= 0 {
		c.PingInterval = syncproto.PingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = syncproto.WriteTimeout
	}
	return c
}

// tokenBucket is one connection's push limiter (not shared: no lock).
type tokenBucket struct {
	rate   Rate
	tokens float64
	at     time.Time
}

func newTokenBucket(r Rate, now time.Time) tokenBucket {
	return tokenBucket{rate: r, tokens: float64(r.Burst), at: now}
}

// take spends a token, or reports false when none is left.
func (b *tokenBucket) take(now time.Time) bool {
	if b.rate.Burst < 0 || b.rate.Every <= 0 {
		return true
	}
	b.tokens = min(float64(b.rate.Burst), b.tokens+float64(now.Sub(b.at))/float64(b.rate.Every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
