package syncclient_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver/servertest"
)

// TestServerOnAFullDiskLosesNothingAndRecovers runs the server on a small
// tmpfs and pushes history entries until its disk is full. The pushing
// device gets a clear reason and keeps what the server did not take; the
// server stays up and still serves all it acknowledged; once there is
// room again, the rest goes through and two devices converge.
func TestServerOnAFullDiskLosesNothingAndRecovers(t *testing.T) {
	ctx := context.Background()
	fs := servertest.MountTmpfs(t, "3m")
	logs := &servertest.Buffer{}
	srv := servertest.Start(t, servertest.Options{Dir: fs.Dir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	acct := srv.NewAccount(t, "full")
	a := newDevice(t, acct, "a")
	for i := range 5 {
		a.apply(reqOp(model.NewID(), fmt.Sprintf("early %d", i)))
	}
	if sum, err := a.sync.Once(ctx); err != nil || sum.Pushed != 5 {
		t.Fatalf("pushing the early edits: %+v, %v", sum, err)
	}
	body := strings.Repeat("0123456789abcdef", 12<<10) // 192 KiB a response
	const entries = 30                                 // about 7 MiB sealed
	for range entries {
		id := model.NewID()
		a.apply(model.Op{OpID: model.NewID(), Kind: model.KindHistory, ID: id, Fields: model.Fields{
			"sent_at":  []byte(`"2027-01-15T08:00:00Z"`),
			"request":  []byte(`{"method":"GET","url":"https://big.example/"}`),
			"response": []byte(`{"status":200,"body":"` + body + `"}`),
		}})
	}
	sum, err := a.sync.Once(ctx)
	if err == nil {
		t.Fatalf("%d entries of 192 KiB fit a 3 MiB disk: %+v", entries, sum)
	}
	if !strings.Contains(err.Error(), "try again later") || !errors.Is(err, model.ErrUnavailable) {
		t.Errorf("the sync on a full server failed with %q; want it unavailable, to try again later", err)
	}
	if !strings.Contains(logs.String(), "the server's disk is full") {
		t.Errorf("the server's log does not say its disk is full:\n%s", logs)
	}
	// The ops the server did not acknowledge stay pending (some of them
	// may be applied there: the ack was lost with the connection).
	pending, err := a.db.PendingCount(ctx)
	if err != nil || pending == 0 || pending > entries {
		t.Fatalf("pending after the failed sync: %d, %v; want the entries the server did not acknowledge", pending, err)
	}

	resp, err := servertest.HTTPClient(t, srv.CAFile).Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("health check on a full disk: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health check on a full disk: %d", resp.StatusCode)
	}
	b := newDevice(t, acct, "b")
	if _, err := b.sync.Once(ctx); err != nil {
		t.Fatalf("a new device pulling from a full server: %v", err)
	}
	held, _ := b.db.HistoryCount(ctx)
	if held < entries-pending || held >= entries {
		t.Errorf("the new device has %d history entries; want the %d acknowledged and at most %d", held, entries-pending, entries-1)
	}
	t.Logf("the server took %d entries before its disk was full (%d acknowledged)", held, entries-pending)
	if reqs, _ := b.db.List(ctx, model.KindRequest); len(reqs) != 5 {
		t.Errorf("the new device has %d requests; want the 5 early ones", len(reqs))
	}

	fs.Remount(t, 0, "64m")
	if sum, err := a.sync.Once(ctx); err != nil || sum.Pushed+sum.Pulled != pending {
		t.Fatalf("sync once there is room again: %+v, %v; want the %d pending acknowledged", sum, err, pending)
	}
	if n, err := a.db.PendingCount(ctx); err != nil || n != 0 {
		t.Fatalf("pending once there is room again: %d, %v", n, err)
	}
	if _, err := b.sync.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := b.state(), a.state(); !maps.Equal(got, want) {
		t.Fatalf("the devices differ after the disk had room again:\n%s", servertest.StateDiff(got, want))
	}
}
