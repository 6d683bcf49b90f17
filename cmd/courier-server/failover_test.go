package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/syncserver/pgstore/pgtest"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/syncserver/smtptest"
)

// fleet is two courier-server processes on one database behind a load
// balancer, an account, and two devices of it, device a on one replica
// and device b on the other.
type fleet struct {
	lb       *balancer
	replicas []*replicaProc
	acct     *servertest.Account
	a, b     *profile
	// onA and onB are the balancer's indexes of a's and b's replicas.
	onA, onB int
}

// startFleet starts the replicas on db, signs an account up through the
// balancer and connects its two devices, one to each replica.
func startFleet(t *testing.T, db string) *fleet {
	t.Helper()
	bin := buildServerOnce(t)
	p := newPKI(t)
	smtp := smtptest.Start(t, p.cert, true)
	f := &fleet{lb: startBalancer(t)}
	for i := range 2 {
		r := startReplicaProc(t, fmt.Sprintf("replica %d", i+1), bin, db, f.lb.url(), p, smtp)
		f.replicas = append(f.replicas, r)
		f.lb.add(r.addr)
	}
	f.acct = signUpThrough(t, f.lb.url(), p.caFile, smtp, "ann")
	f.a, f.b = newProfile(t, f.acct, "a", newOpLedger()), newProfile(t, f.acct, "b", newOpLedger())
	f.spread(t)
	return f
}

// spread connects device a, then device b, which the balancer sends to
// the other replica; should anything else have come between, b connects
// again until it is there.
func (f *fleet) spread(t *testing.T) {
	t.Helper()
	pollUntil(t, 10*time.Second, "no connection through the balancer", func() bool { return sum(f.lb.open()) == 0 })
	f.a.start()
	pollUntil(t, 20*time.Second, "device a is IN SYNC", func() bool { return f.a.inSync() && sum(f.lb.open()) == 1 })
	f.onA = indexOf(f.lb.open(), 1)
	f.b.start()
	for try := 0; ; try++ {
		pollUntil(t, 20*time.Second, "device b is IN SYNC", func() bool { return f.b.inSync() && sum(f.lb.open()) == 2 })
		if open := f.lb.open(); open[f.onA] == 1 {
			f.onB = 1 - f.onA
			return
		}
		if try == 3 {
			t.Fatalf("device b never reached the replica device a is not on: %v", f.lb.open())
		}
		f.b.sync.Stop()
		f.b.start()
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func indexOf(xs []int, v int) int {
	for i, x := range xs {
		if x == v {
			return i
		}
	}
	return -1
}

// propagates checks that an edit on each device shows on the other.
func (f *fleet) propagates(t *testing.T, tag string) {
	t.Helper()
	f.a.edit("req-from-a-"+tag, "a wrote "+tag)
	pollUntil(t, 10*time.Second, "an edit on device a ("+tag+") shows on device b", func() bool { return f.b.requestName("req-from-a-"+tag) == "a wrote "+tag })
	f.b.edit("req-from-b-"+tag, "b wrote "+tag)
	pollUntil(t, 10*time.Second, "an edit on device b ("+tag+") shows on device a", func() bool { return f.a.requestName("req-from-b-"+tag) == "b wrote "+tag })
}

// typeEdits makes n edits, alternating devices, on a small pool of requests
// so that the devices overwrite each other's fields; after each it
// calls each, when not nil.
func (f *fleet) typeEdits(n int, tag string, each func()) {
	for i := range n {
		d := f.a
		if i%2 == 1 {
			d = f.b
		}
		d.edit(fmt.Sprintf("req-%d", i%13), fmt.Sprintf("%s %s %d", d.name, tag, i))
		if each != nil {
			each()
		}
		time.Sleep(2 * time.Millisecond) // typing pace: the engines push between edits
	}
}

func (f *fleet) acked() int { return f.a.ledger.len() + f.b.ledger.len() }

// TestReplicaKilledMidStreamDevicesFailOverThroughTheBalancer runs two
// courier-server processes on one PostgreSQL database behind a TCP load
// balancer, device a on replica 1 and device b on replica 2. Edits
// propagate both ways; then, while both devices push, a's replica gets
// SIGKILL. Device a must reconnect through the balancer to the other
// replica, both devices must converge to the server's state, and every
// op either made must be applied on the server, at one seq. Then the killed
// replica starts again and takes its share of the devices back.
func TestReplicaKilledMidStreamDevicesFailOverThroughTheBalancer(t *testing.T) {
	f := startFleet(t, pgtest.URL(t))
	f.propagates(t, "before")

	f.typeEdits(120, "warm", nil)
	pollUntil(t, 20*time.Second, "ops acknowledged before the kill", func() bool { return f.acked() > 60 })
	f.typeEdits(40, "in flight", nil)
	for i := range 10 { // a burst the killed replica cannot all acknowledge
		f.a.edit(fmt.Sprintf("req-%d", i), fmt.Sprintf("a burst %d", i))
	}
	killed, survivor := f.replicas[f.onA], f.onB
	killed.kill()
	killedAt := time.Now()
	if st := f.a.sync.Status(); st.Pending == 0 {
		t.Fatalf("device a had nothing in flight when its replica died (%s): the kill came too late to test anything", st)
	} else {
		t.Logf("device a had %d ops unacknowledged when its replica died", st.Pending)
	}
	reconnected := make(chan time.Duration, 1)
	go func() { // when both devices hold a connection to the survivor
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if open := f.lb.open(); open[survivor] >= 2 && open[f.onA] == 0 {
				reconnected <- time.Since(killedAt)
				return
			}
		}
		close(reconnected)
	}()
	f.typeEdits(120, "after the kill", nil)
	typed := time.Now()
	converged(t, 30*time.Second, f.a, f.b)
	convergedIn := time.Since(killedAt)
	reconnectIn, ok := <-reconnected
	if !ok {
		t.Fatalf("device a did not reconnect to the surviving replica within 30 s: connections per replica %v", f.lb.open())
	}
	f.propagates(t, "after")
	checkNothingLost(t, f.acct, f.a, f.b)
	if !f.replicas[survivor].alive() {
		t.Fatal("the surviving replica exited")
	}
	t.Logf("device a reconnected %v after the kill; the devices converged %v after the kill (%v after the last edit); %d ops made",
		reconnectIn.Round(time.Millisecond), convergedIn.Round(time.Millisecond), time.Since(typed).Round(time.Millisecond), len(f.a.ops)+len(f.b.ops))

	// The killed replica comes back on its address and serves again.
	killed.start()
	f.a.sync.Stop()
	f.b.sync.Stop()
	f.spread(t)
	f.propagates(t, "restarted")
	f.typeEdits(40, "after the restart", nil)
	converged(t, 30*time.Second, f.a, f.b)
	checkNothingLost(t, f.acct, f.a, f.b)
}

// TestPostgresRestartedUnderLoadDevicesKeepTheirOutboxAndConverge runs
// the same fleet on a private PostgreSQL cluster and restarts the
// PostgreSQL server process while both devices push. The replicas stay
// up and say 503 on /healthz; the devices show a retryable state
// (offline, connecting), never "action needed" or an error, and keep
// every op made during the outage in their outbox; once PostgreSQL is
// back, everything converges and every op is applied, at one seq.
// The server goes down by a fast shutdown (an administrator's restart)
// and by a crash (an immediate shutdown, recovered from the WAL).
func TestPostgresRestartedUnderLoadDevicesKeepTheirOutboxAndConverge(t *testing.T) {
	for _, tt := range []struct {
		name string
		down func(*pgtest.Cluster)
	}{
		{"FastShutdown", (*pgtest.Cluster).Stop},
		{"Crash", (*pgtest.Cluster).Crash},
	} {
		t.Run(tt.name, func(t *testing.T) { restartUnderDevices(t, tt.down) })
	}
}

func restartUnderDevices(t *testing.T, stop func(*pgtest.Cluster)) {
	pg := pgtest.StartCluster(t)
	f := startFleet(t, pg.URL())
	f.propagates(t, "before")
	f.typeEdits(100, "warm", nil)
	pollUntil(t, 20*time.Second, "ops acknowledged before the restart", func() bool { return f.acked() > 50 })

	stop(pg)
	stoppedAt := time.Now()
	seen := map[app.SyncState]bool{}
	offline := map[string]bool{}
	why := map[string]string{} // the last error a device showed while offline
	watch := func() {
		for _, d := range []*profile{f.a, f.b} {
			st := d.sync.Status()
			seen[st.State] = true
			if st.State == app.SyncOffline {
				offline[d.name] = true
				why[d.name] = st.LastError
				if len(why[d.name]) > 100 {
					why[d.name] = why[d.name][:100] + "..."
				}
			}
			if st.State == app.SyncActionNeeded || st.State == app.SyncFailed {
				t.Fatalf("device %s during the database outage: %s (%s), want a state it retries from", d.name, st, st.LastError)
			}
		}
	}
	opsBefore := map[string]int{"a": len(f.a.ops), "b": len(f.b.ops)}
	f.typeEdits(80, "while PostgreSQL is down", watch)
	pollUntil(t, 20*time.Second, "both devices go offline while PostgreSQL is down", func() bool { watch(); return offline["a"] && offline["b"] })
	for _, r := range f.replicas {
		if got := r.health(); got != http.StatusServiceUnavailable {
			t.Errorf("%s /healthz while PostgreSQL is down = %d, want 503", r.name, got)
		}
	}
	for _, d := range []*profile{f.a, f.b} {
		if st, made := d.sync.Status(), len(d.ops)-opsBefore[d.name]; st.Pending < made {
			t.Errorf("device %s holds %d pending ops after making %d while PostgreSQL is down (%s)", d.name, st.Pending, made, st)
		}
	}

	pg.Start()
	backAt := time.Now()
	downtime := backAt.Sub(stoppedAt)
	f.typeEdits(40, "after the restart", nil)
	converged(t, 30*time.Second, f.a, f.b)
	convergedIn := time.Since(backAt)
	f.propagates(t, "after")
	checkNothingLost(t, f.acct, f.a, f.b)
	for _, r := range f.replicas {
		if !r.alive() {
			t.Fatalf("%s exited during the database outage", r.name)
		}
		if got := r.health(); got != http.StatusOK {
			t.Errorf("%s /healthz after the restart = %d", r.name, got)
		}
	}
	t.Logf("PostgreSQL down %v; device states seen meanwhile %v (last errors %q); the devices converged %v after it was back; %d ops made",
		downtime.Round(time.Millisecond), seen, why, convergedIn.Round(time.Millisecond), len(f.a.ops)+len(f.b.ops))
}
