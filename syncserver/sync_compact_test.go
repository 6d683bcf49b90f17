package syncserver_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

// rewrite pushes n ops that each rewrite the name of request r1, in
// full pushes, and returns the head after them.
func rewrite(t *testing.T, c *client, n int) {
	t.Helper()
	for i := 0; i < n; i += syncproto.MaxPushOps {
		var ops []model.Op
		for range min(syncproto.MaxPushOps, n-i) {
			ops = append(ops, newOp("r1", 16))
		}
		c.send(&syncproto.Push{Ops: ops})
	}
}

// waitLog waits until the account's log holds n entries (a hello's
// compaction runs beside its connection) and returns the usage.
func (e *syncEnv) waitLog(t *testing.T, acct string, n int64) syncserver.Usage {
	t.Helper()
	var u syncserver.Usage
	var err error
	poll(t, 10*time.Second, fmt.Sprintf("a log of %d entries", n), func() bool {
		u, err = e.store.SyncUsage(context.Background(), acct)
		return err == nil && u.Log == n
	})
	return u
}

// TestHelloCompactsTheLog rewrites one value 300 times from one device:
// the log holds an entry per op until the device reports, in its next
// hello, that it has applied them all; then only the live one is left,
// and a new device reads just that.
func TestHelloCompactsTheLog(t *testing.T) {
	e := newSyncEnv(t, nil)
	ctx := context.Background()
	acct, token := e.account(true)
	other := e.session(acct) // a device that never connects holds nothing back
	c, _ := e.connect(token, 0)
	rewrite(t, c, 300)
	if n := c.countUntil(300); n != 300 {
		t.Fatalf("read %d changes, want 300", n)
	}
	if u, err := e.store.SyncUsage(ctx, acct); err != nil || u.Log != 300 {
		t.Fatalf("usage before the device reports = %+v, %v; want 300 log entries", u, err)
	}
	c.ws.Close(1000, "")
	c2, w := e.connect(token, 300)
	if w.Head != 300 {
		t.Fatalf("welcome head = %d, want 300", w.Head)
	}
	if u := e.waitLog(t, acct, 1); u.Records != 1 {
		t.Fatalf("usage once the device reported 300 = %+v; want 1 record", u)
	}
	if m := e.metrics(t); !strings.Contains(m, "courier_sync_log_entries_dropped_total 299\n") || !strings.Contains(m, "courier_sync_compaction_seconds_count 2\n") {
		t.Errorf("metrics do not show two compactions dropping 299 entries:\n%s", m)
	}
	c3, _ := e.connect(other, 0)
	ch := c3.changesUntil(0)
	if len(ch) != 1 || ch[0].Seq != 300 || ch[0].ID != "r1" {
		t.Fatalf("a new device read %+v, want the one live change at 300", ch)
	}
	// The new device's first record is the head (300): it holds back
	// what comes after until it reports, the first one's further
	// rewrites included.
	rewrite(t, c2, 10)
	c2.changesUntil(310)
	c3.changesUntil(310)
	c2.ws.Close(1000, "")
	e.connect(token, 310)
	e.waitLog(t, acct, 10) // 301 to 310
}

// TestLaggingConnectionsAreAskedToReport fills half of a small log bound
// while two devices stay connected: the push that crosses it closes both
// with 1001, they reconnect reporting their cursors, and the log shrinks
// to the live entry; no push is refused.
func TestLaggingConnectionsAreAskedToReport(t *testing.T) {
	e := newSyncEnv(t, func(cfg *syncserver.Config) {
		cfg.Sync.Quota = syncserver.Quota{Records: 100, Bytes: 1 << 30, Log: 4096}
	})
	ctx := context.Background()
	acct, token := e.account(true)
	reader := e.session(acct)
	c1, _ := e.connect(token, 0)
	c2, _ := e.connect(reader, 0)
	rewrite(t, c1, 2100)
	for _, c := range []*client{c1, c2} {
		code, ef := c.waitClose(10 * time.Second)
		if code != 1001 || ef == nil || !strings.Contains(ef.Message, "reconnect") {
			t.Fatalf("a lagging connection closed with %d, %+v; want 1001 asking it to reconnect", code, ef)
		}
	}
	h, err := e.store.Head(ctx, acct)
	if err != nil || h < 2048 {
		t.Fatalf("head = %d, %v; want the pushes up to half the bound applied", h, err)
	}
	e.connect(token, h)
	e.connect(reader, h)
	e.waitLog(t, acct, 1)
}

// TestLogQuotaClosesWithAdvice pushes past a log bound that compaction
// cannot help with (the devices have not reported): 4413, saying what
// to do.
func TestLogQuotaClosesWithAdvice(t *testing.T) {
	e := newSyncEnv(t, func(cfg *syncserver.Config) {
		cfg.Sync.Quota = syncserver.Quota{Records: 100, Bytes: 1 << 30, Log: 8}
	})
	_, token := e.account(true)
	c, _ := e.connect(token, 0)
	rewrite(t, c, 12)
	ef := c.wantCloseWith(syncproto.CloseTooLarge, syncproto.CodeQuotaExceeded)
	if !strings.Contains(ef.Message, "log of changes would hold 12 entries") || !strings.Contains(ef.Message, "other devices connect and catch up") {
		t.Fatalf("close message %q does not say what filled up and what to do", ef.Message)
	}
}

// TestRewritesDoNotGrowTheFile rewrites one value 81,920 times from a
// device that reconnects every 2,048 ops, as the app does when it goes
// offline and back, or is asked to report: the log keeps the live entry
// and the last round's, and the bbolt file stops growing once its free
// pages cover a round.
func TestRewritesDoNotGrowTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("81,920 pushes")
	}
	e := newSyncEnv(t, nil)
	acct, token := e.account(true)
	const rounds, per = 40, 2048
	size := func() int64 {
		fi, err := os.Stat(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var cursor uint64
	var warm int64
	for r := range rounds {
		c, _ := e.connect(token, cursor)
		rewrite(t, c, per)
		c.changesUntil(cursor + per)
		cursor += per
		c.ws.Close(1000, "")
		if r == 4 {
			warm = size()
		}
	}
	e.connect(token, cursor)
	e.waitLog(t, acct, 1) // the live entry
	end := size()
	t.Logf("server.db: %d KiB after 5 rounds, %d KiB after %d (%d ops)", warm>>10, end>>10, rounds, rounds*per)
	if end-warm > 2<<20 {
		t.Fatalf("server.db grew from %d to %d KiB over %d more rewrites", warm>>10, end>>10, (rounds-5)*per)
	}
}
