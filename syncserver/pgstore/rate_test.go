package pgstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/pgstore"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
)

// TestRateBucketsAreSharedByReplicas opens the database twice, as two
// replicas do: a bucket holds its burst for both together, also when they
// take from it at once, and other buckets are apart.
func TestRateBucketsAreSharedByReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var replicas [2]*pgstore.DB
	for i := range replicas {
		db, err := pgstore.Open(ctx, url, pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		replicas[i] = db
	}
	hour := syncserver.Rate{Burst: 3, Every: time.Hour}
	for i := range 3 {
		if ok, _, err := replicas[i%2].TakeToken(ctx, []byte("ann"), hour); err != nil || !ok {
			t.Fatalf("take %d of a burst of 3: %v, %v", i+1, ok, err)
		}
	}
	ok, wait, err := replicas[1].TakeToken(ctx, []byte("ann"), hour)
	if err != nil || ok || wait < 59*time.Minute || wait > time.Hour {
		t.Fatalf("fourth take: ok %v, wait %v, %v; want refused for about an hour", ok, wait, err)
	}
	if ok, _, err := replicas[1].TakeToken(ctx, []byte("bob"), hour); err != nil || !ok {
		t.Fatalf("another bucket: %v, %v", ok, err)
	}

	var taken atomic.Int64
	var wg sync.WaitGroup
	five := syncserver.Rate{Burst: 5, Every: time.Hour}
	for i := range 20 {
		wg.Go(func() {
			ok, _, err := replicas[i%2].TakeToken(ctx, []byte("race"), five)
			if err != nil {
				t.Error(err)
			}
			if ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 5 {
		t.Fatalf("20 takes at once from a burst of 5 on two replicas took %d", n)
	}
}

func TestRateBucketRefillsWithTime(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, pgstore.Options{})
	fast := syncserver.Rate{Burst: 1, Every: 200 * time.Millisecond}
	if ok, _, err := db.TakeToken(ctx, []byte("k"), fast); err != nil || !ok {
		t.Fatalf("first take: %v, %v", ok, err)
	}
	ok, wait, err := db.TakeToken(ctx, []byte("k"), fast)
	if err != nil || ok || wait <= 0 || wait > 200*time.Millisecond {
		t.Fatalf("second take at once: ok %v, wait %v, %v", ok, wait, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, _, err := db.TakeToken(ctx, []byte("k"), fast)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the bucket did not refill within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
