package syncserver_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// sharedBuckets stands for a storage every replica shares (pgstore's
// courier_take_token): it counts the tokens taken per key.
type sharedBuckets struct {
	mu    sync.Mutex
	taken map[string]int
	keys  [][]byte
	fail  bool
}

func (b *sharedBuckets) TakeToken(_ context.Context, key []byte, r syncserver.Rate) (bool, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return false, 0, errors.New("database down")
	}
	b.keys = append(b.keys, key)
	if b.taken[string(key)] >= r.Burst {
		return false, r.Every, nil
	}
	b.taken[string(key)]++
	return true, 0, nil
}

// withShared is one replica's storage, sharing its rate buckets.
type withShared struct {
	syncserver.Storage
	*sharedBuckets
}

func TestReplicasShareTheSignInLimit(t *testing.T) {
	buckets := &sharedBuckets{taken: map[string]int{}}
	limits := syncserver.NoLimits()
	limits.SignIn.PerIdentifier = syncserver.Rate{Burst: 3, Every: time.Hour}
	shared := func(c *syncserver.Config) { c.Storage = withShared{c.Storage, buckets} }
	replicas := []*env{newEnv(t, withLimits(limits), shared), newEnv(t, withLimits(limits), shared)}
	pw := newPassword("pw")
	for _, e := range replicas {
		e.createConfirmed(t, "ann", "ann@example.com", pw)
	}
	// Each replica alone would allow 3; together they allow 3.
	for i := range 3 {
		if _, err := replicas[i%2].signIn("ann", pw, "dev"); err != nil {
			t.Fatalf("sign-in %d of 3: %v", i+1, err)
		}
	}
	_, err := replicas[1].signIn("ann", pw, "dev")
	wantCode(t, "fourth sign-in, on the replica that took one", err, syncproto.CodeRateLimited)
	if err.RetryAfter < time.Minute {
		t.Fatalf("Retry-After %v, want the shared bucket's wait", err.RetryAfter)
	}
	for _, k := range buckets.keys {
		if string(k) == "ann" || len(k) != 32 {
			t.Fatalf("a bucket key %q is not a hash", k)
		}
	}
	// With the shared storage down, each replica's own limit still holds.
	buckets.fail = true
	_, err = replicas[0].signIn("ann", pw, "dev")
	if err != nil {
		t.Fatalf("a replica with sign-ins left refused one while the shared storage was down: %v", err)
	}
	_, err = replicas[0].signIn("ann", pw, "dev")
	wantCode(t, "the replica's own fourth sign-in", err, syncproto.CodeRateLimited)
}

// TestReplicasShareTheLinkViewLimit views links on two replicas from one
// address: unknown tokens spend the budget too, so a guesser cannot
// multiply it by spreading requests over the replicas.
func TestReplicasShareTheLinkViewLimit(t *testing.T) {
	buckets := &sharedBuckets{taken: map[string]int{}}
	limits := syncserver.NoLimits()
	limits.LinkGet = syncserver.Rate{Burst: 3, Every: time.Hour}
	shared := func(c *syncserver.Config) { c.Storage = withShared{c.Storage, buckets} }
	replicas := []*env{newEnv(t, withLimits(limits), shared), newEnv(t, withLimits(limits), shared)}
	const guess = "/c/AAAAAAAAAAAAAAAAAAAAAA"
	for i := range 3 {
		if status, _, _ := replicas[i%2].get(guess, ""); status != 404 {
			t.Fatalf("view %d of 3: %d, want 404", i+1, status)
		}
	}
	status, hdr, _ := replicas[1].get(guess, "")
	if status != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("fourth view, on the replica that served one: %d (Retry-After %q), want 429", status, hdr.Get("Retry-After"))
	}
}
