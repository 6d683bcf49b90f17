package syncserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
	"github.com/courierapp/courier/syncserver/servertest"
)

func TestSyncHelloGetsWelcomeAndCaughtUp(t *testing.T) {
	e := newSyncEnv(t, nil)
	id, token := e.account(true)
	c, w := e.connect(token, 0)
	if w.AccountID != id || w.Head != 0 {
		t.Fatalf("welcome = %+v, want account %s head 0", w, id)
	}
	if ch := c.changesUntil(0); len(ch) != 0 {
		t.Fatalf("a new account streamed %+v", ch)
	}
}

func TestSyncPushComesBackAsAckAndReachesOtherConnections(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	b, _ := e.connect(e.session(mustAccountOf(t, e, token)), 0)
	a.changesUntil(0)
	b.changesUntil(0)

	op := newOp("01REQ", 100, "name", "url")
	a.send(&syncproto.Push{Ops: []model.Op{op}})
	for name, c := range map[string]*client{"pusher": a, "other": b} {
		got := c.changesUntil(1)
		if len(got) != 1 || got[0].Seq != 1 || got[0].OpID != op.OpID || got[0].ID != op.ID || got[0].Kind != op.Kind {
			t.Fatalf("%s received %+v, want seq 1 with op_id %s", name, got, op.OpID)
		}
		for f, v := range op.Fields {
			if !bytes.Equal(got[0].Fields[f], v) {
				t.Fatalf("%s: field %s = %s, want %s", name, f, got[0].Fields[f], v)
			}
		}
	}
	// A later connection resumes from its cursor.
	c, w := e.connect(token, 1)
	if w.Head != 1 {
		t.Fatalf("welcome head = %d, want 1", w.Head)
	}
	if got := c.changesUntil(0); len(got) != 0 {
		t.Fatalf("resuming at the head streamed %+v", got)
	}
}

func mustAccountOf(t *testing.T, e *syncEnv, token string) string {
	t.Helper()
	s, err := e.store.SessionByToken(t.Context(), sha([]byte(token)))
	if err != nil {
		t.Fatal(err)
	}
	return s.AccountID
}

func TestSyncDuplicateOpIsAppliedOnceAndAcked(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)
	op := newOp("r1", 50)
	a.send(&syncproto.Push{Ops: []model.Op{op}})
	a.changesUntil(1)

	again := op
	again.Fields = model.Fields{"name": sealedBlob(50)}
	fresh := newOp("r2", 50)
	a.send(&syncproto.Push{Ops: []model.Op{again, fresh}})
	var acked []model.ID
	var changes []model.Change
	for len(acked) == 0 || len(changes) == 0 {
		switch f := a.next().(type) {
		case *syncproto.Ack:
			acked = append(acked, f.OpIDs...)
		case *syncproto.Changes:
			changes = append(changes, f.Changes...)
		}
	}
	if !slices.Equal(acked, []model.ID{op.OpID}) {
		t.Fatalf("ack = %v, want [%s]", acked, op.OpID)
	}
	if len(changes) != 1 || changes[0].OpID != fresh.OpID || changes[0].Seq != 2 {
		t.Fatalf("changes = %+v, want only the fresh op at seq 2", changes)
	}
	b, _ := e.connect(token, 0)
	all := b.changesUntil(2)
	if len(all) != 2 || !bytes.Equal(all[0].Fields["name"], op.Fields["name"]) {
		t.Fatalf("the duplicate changed stored data: %+v", all)
	}
}

func TestSyncPagesEndOnSeqBoundariesAndCatchUpOnce(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PageChanges = 7 })
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)
	const n = 100
	for i := 0; i < n; i += 25 {
		var ops []model.Op
		for j := range 25 {
			ops = append(ops, newOp(fmt.Sprintf("r%d", i+j), 30, "name", "url"))
		}
		a.send(&syncproto.Push{Ops: ops})
	}
	a.changesUntil(n)

	b, _ := e.connect(token, 0)
	frames, caughtUp := 0, 0
	var got []model.Change
	for len(got) < n {
		f := b.next().(*syncproto.Changes)
		frames++
		if f.CaughtUp {
			caughtUp++
		}
		for _, c := range f.Changes {
			if len(c.Fields) != 2 {
				t.Fatalf("change %d carries %d fields: an op was split", c.Seq, len(c.Fields))
			}
		}
		got = append(got, f.Changes...)
		if f.CaughtUp != (len(got) == n) {
			t.Fatalf("frame %d ends at %d of %d with caught_up %v", frames, len(got), n, f.CaughtUp)
		}
	}
	if frames < n/7 || caughtUp != 1 {
		t.Fatalf("%d frames, %d caught up, want >= %d frames and one caught up", frames, caughtUp, n/7)
	}
	for i, c := range got {
		if c.Seq != uint64(i+1) {
			t.Fatalf("change %d has seq %d", i, c.Seq)
		}
	}
}

func TestSyncFramesStayUnderOneMiB(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PageBytes = 8 << 20 })
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)
	// Ten ops of 3 x 200 KiB: a page of all of them must be split.
	for i := range 10 {
		a.send(&syncproto.Push{Ops: []model.Op{newOp(fmt.Sprintf("big%d", i), 200<<10, "body", "headers", "url")}})
	}
	// The client's read limit is MaxFrameSize: a bigger frame would end
	// the connection.
	got := a.changesUntil(10)
	if len(got) != 10 {
		t.Fatalf("got %d changes, want 10", len(got))
	}
	// Each change counts once, whichever frame carried it.
	if m := e.metrics(t); !strings.Contains(m, "courier_sync_changes_sent_total 10\n") {
		t.Errorf("changes sent metric is not 10:\n%s", grepLines(m, "courier_sync_changes_sent_total"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSyncAnswersAPlainRequestWith426: a GET that is no WebSocket
// handshake, over HTTP/1.1 or HTTP/2 (which cannot upgrade), gets 426
// and a JSON error, not a reset stream.
func TestSyncAnswersAPlainRequestWith426(t *testing.T) {
	e := newSyncEnv(t, nil)
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(e.base + syncproto.PathSync)
		if err != nil {
			t.Fatalf("HTTP/2 %v: %v", h2, err)
		}
		var body syncproto.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if wantMajor := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != wantMajor {
			t.Errorf("answered over HTTP/%d, want %d", resp.ProtoMajor, wantMajor)
		}
		if resp.StatusCode != http.StatusUpgradeRequired || err != nil || !strings.Contains(body.Error.Message, "WebSocket") {
			t.Errorf("HTTP/%d: status %d, body %+v (%v); want 426 saying WebSocket", resp.ProtoMajor, resp.StatusCode, body, err)
		}
		tr.CloseIdleConnections()
	}
}

func TestSyncRefusesHandshakes(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	_, unconfirmed := e.account(false)
	tests := []struct {
		name         string
		token        string
		subprotocols []string
		want         syncproto.CloseCode
	}{
		{"a bad token is 4401", "not-a-token", nil, syncproto.CloseUnauthorized},
		{"no token is 4401", "", nil, syncproto.CloseUnauthorized},
		{"an unconfirmed email is 4403", unconfirmed, nil, syncproto.CloseEmailUnconfirmed},
		{"no subprotocol is 4409", token, []string{}, syncproto.CloseUnsupportedVersion},
		{"another version is 4409", token, []string{"courier-sync.v2"}, syncproto.CloseUnsupportedVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(tt.token, tt.subprotocols...)
			c.wantClose(tt.want)
		})
	}
}

func TestSyncRefusesBadFrames(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	badKind := newOp("r", 10)
	badKind.Kind = "password"
	badField := newOp("r", 10, "secret_notes")
	many := make([]model.Op, syncproto.MaxPushOps+1)
	for i := range many {
		many[i] = newOp(fmt.Sprint("r", i), 10)
	}
	push := func(ops ...model.Op) []byte {
		b, _ := json.Marshal(syncproto.Push{Ops: ops})
		return b
	}
	tests := []struct {
		name  string
		hello bool
		frame []byte
		want  syncproto.CloseCode
	}{
		{"an oversize frame is 4413", true, []byte(`{"type":"push","ops":[` + strings.Repeat(" ", syncproto.MaxFrameSize) + `]}`), syncproto.CloseTooLarge},
		{"too many ops is 4413", true, push(many...), syncproto.CloseTooLarge},
		{"an unknown kind is 4400", true, push(badKind), syncproto.CloseInvalidFrame},
		{"an unknown field is 4400", true, push(badField), syncproto.CloseInvalidFrame},
		{"a plaintext value is 4400", true, []byte(`{"type":"push","ops":[{"op_id":"o","kind":"request","id":"r","fields":{"name":"hello"}}]}`), syncproto.CloseInvalidFrame},
		{"a push before hello is 4400", false, push(newOp("r", 10)), syncproto.CloseInvalidFrame},
		{"a second hello is 4400", true, []byte(`{"type":"hello","device_id":"d","cursor":0}`), syncproto.CloseInvalidFrame},
		{"a frame naming an account is 4400", true, []byte(`{"type":"push","account_id":"acct-1","ops":[]}`), syncproto.CloseInvalidFrame},
		{"broken JSON is 4400", true, []byte(`{"type":`), syncproto.CloseInvalidFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *client
			if tt.hello {
				c, _ = e.connect(token, 0)
			} else {
				c = e.dial(token)
			}
			c.sendRaw(tt.frame)
			c.wantClose(tt.want)
		})
	}
}

func TestSyncClosesWithin1sOfRevocation(t *testing.T) {
	e := newSyncEnv(t, nil)
	tests := []struct {
		name   string
		revoke func(t *testing.T, acct, token, other string)
	}{
		{"sign out", func(t *testing.T, _, token, _ string) {
			e.api(t, "POST", syncproto.PathSignOut, token, nil, 200)
		}},
		{"session revoked from another device", func(t *testing.T, acct, token, other string) {
			sess, _ := e.store.SessionByToken(t.Context(), sha([]byte(token)))
			e.api(t, "DELETE", syncproto.PathSessions+"/"+sess.ID, other, nil, 200)
		}},
		{"password changed on another device", func(t *testing.T, acct, token, other string) {
			creds := syncproto.Credentials{KDFSalt: randomBytes(16), KDFParams: syncproto.DefaultKDFParams, AuthKey: randomBytes(32), WrappedAccountKey: randomBytes(72)}
			e.api(t, "POST", syncproto.PathChangePassword, other, syncproto.ChangePasswordRequest{CurrentAuthKey: e.authKey(acct), New: creds}, 200)
		}},
		{"account deleted", func(t *testing.T, acct, token, _ string) {
			e.api(t, "POST", syncproto.PathDeleteAccount, token, syncproto.DeleteAccountRequest{AuthKey: e.authKey(acct)}, 200)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, token := e.account(true)
			other := e.session(acct)
			c, _ := e.connect(token, 0)
			c.changesUntil(0)
			keep, _ := e.connect(other, 0)
			keep.changesUntil(0)
			start := time.Now()
			tt.revoke(t, acct, token, other)
			status, ef := c.waitClose(time.Second)
			if int(status) != int(syncproto.CloseUnauthorized) || ef == nil || ef.Code != syncproto.CodeUnauthorized {
				t.Fatalf("after %v: close %d, error frame %+v; want 4401", time.Since(start), status, ef)
			}
			if tt.name != "account deleted" {
				keep.send(&syncproto.Push{Ops: []model.Op{newOp("r", 10)}})
				if got := keep.changesUntil(1); len(got) != 1 {
					t.Fatalf("the other session's connection: %+v", got)
				}
			}
		})
	}
}

// api sends a request to the account API (body marshalled as JSON when
// not nil) and checks the status.
func (e *syncEnv) api(t *testing.T, method, path, token string, body any, want int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

func TestSyncAccountsAreIsolated(t *testing.T) {
	e := newSyncEnv(t, nil)
	acctA, tokenA := e.account(true)
	acctB, tokenB := e.account(true)
	a, wa := e.connect(tokenA, 0)
	b, wb := e.connect(tokenB, 0)
	if wa.AccountID != acctA || wb.AccountID != acctB {
		t.Fatalf("welcomes %+v %+v", wa, wb)
	}
	a.changesUntil(0)
	b.changesUntil(0)
	opB := newOp("shared-id", 40, "name")
	b.send(&syncproto.Push{Ops: []model.Op{opB}})
	b.changesUntil(1)

	// A writes the same record id and even reuses B's op id: it lands in
	// A's own stream, and B's data and stream are untouched.
	opA := newOp("shared-id", 40, "name")
	opA.OpID = opB.OpID
	a.send(&syncproto.Push{Ops: []model.Op{opA}})
	got := a.changesUntil(1)
	if len(got) != 1 || !bytes.Equal(got[0].Fields["name"], opA.Fields["name"]) {
		t.Fatalf("A's stream = %+v, want its own op only", got)
	}
	// A cursor far past A's head does not reach B's seqs either.
	a2, _ := e.connect(tokenA, 1000)
	if all := a2.changesUntil(1); len(all) != 1 || !bytes.Equal(all[0].Fields["name"], opA.Fields["name"]) {
		t.Fatalf("A from a bogus cursor sees %+v", all)
	}
	b2, _ := e.connect(tokenB, 0)
	if all := b2.changesUntil(1); len(all) != 1 || !bytes.Equal(all[0].Fields["name"], opB.Fields["name"]) {
		t.Fatalf("B's data = %+v, want B's op only", all)
	}
	select {
	case f := <-b.frames:
		t.Fatalf("B received %T after A's push", f)
	default:
	}
}

func TestSyncDataFileHoldsNoPlaintext(t *testing.T) {
	mails := make(chan syncserver.Message, 4)
	e := newSyncEnv(t, func(c *syncserver.Config) {
		c.Mailer = syncserver.MailerFunc(func(_ context.Context, m syncserver.Message) error { mails <- m; return nil })
	})
	// The account API, as a client uses it.
	pw := newPassword("correct horse")
	const username, email = "plainuser", "plain@example.com"
	e.api(t, "POST", syncproto.PathSignUp, "", syncproto.SignUpRequest{Username: username, Email: email, Credentials: pw.creds, RecoveryWrappedKey: randomBytes(72)}, 202)
	var link string
	select {
	case m := <-mails:
		link = m.Links[0]
	case <-time.After(10 * time.Second):
		t.Fatal("no confirmation mail")
	}
	resp, err := e.http.Get(link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirm: %v %v", resp, err)
	}
	resp.Body.Close()
	var in syncproto.SignInResponse
	json.Unmarshal(e.api(t, "POST", syncproto.PathSignIn, "", syncproto.SignInRequest{Identifier: username, AuthKey: pw.creds.AuthKey, DeviceName: "laptop"}, 200), &in)

	// What a client seals: the server only ever sees the sealed blob.
	const marker = "PLAINTEXT-MARKER-7f3a"
	c, _ := e.connect(in.Token, 0)
	c.changesUntil(0)
	op := newOp("r1", 500, "name", "url", "body")
	c.send(&syncproto.Push{Ops: []model.Op{op}})
	c.changesUntil(1)

	// The data file and the push log beside it (where the push is until
	// the next checkpoint).
	var raw []byte
	for _, f := range []string{e.dbPath, e.dbPath + ".log"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	for what, v := range map[string][]byte{
		"the sealed value (control)": op.Fields["url"][1 : len(op.Fields["url"])-1],
		"the username (metadata)":    []byte(username),
		"the email (metadata)":       []byte(email),
	} {
		if !bytes.Contains(raw, v) {
			t.Fatalf("%s is not in the data files: the test reads the wrong ones", what)
		}
	}
	_, confirmToken, _ := strings.Cut(link, "token=")
	for what, v := range map[string][]byte{
		"the marker":             []byte(marker),
		"the auth key":           pw.creds.AuthKey,
		"the auth key in base64": []byte(base64.StdEncoding.EncodeToString(pw.creds.AuthKey)),
		"the session token":      []byte(in.Token),
		"the confirmation token": []byte(confirmToken),
	} {
		if bytes.Contains(raw, v) {
			t.Errorf("%s is in the data files in clear", what)
		}
	}
}

func TestSyncShutdownClosesWith1001(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	var clients []*client
	for range 3 {
		c, _ := e.connect(token, 0)
		c.changesUntil(0)
		clients = append(clients, c)
	}
	start := time.Now()
	e.shutdown()
	for _, c := range clients {
		c.wantClose(syncproto.CloseGoingAway)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}

func TestSyncQuotaClosesWith4413(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.Quota = syncserver.Quota{Records: 3} })
	_, token := e.account(true)
	c, _ := e.connect(token, 0)
	c.changesUntil(0)
	c.send(&syncproto.Push{Ops: []model.Op{newOp("r1", 10), newOp("r2", 10), newOp("r3", 10)}})
	c.changesUntil(3)
	c.send(&syncproto.Push{Ops: []model.Op{newOp("r4", 10)}})
	// Its own code tells the quota from a frame too large.
	ef := c.wantCloseWith(syncproto.CloseTooLarge, syncproto.CodeQuotaExceeded)
	if want := "the account's sync quota is used up: the account would hold 4 records, more than its quota of 3; delete some records"; !strings.HasPrefix(ef.Message, want) {
		t.Fatalf("message %q; want it to start with %q", ef.Message, want)
	}
	if strings.Contains(ef.Message, "push to account") {
		t.Fatalf("message %q names the storage's internals", ef.Message)
	}
}

func TestQuotaErrorSaysTheSizeForPeople(t *testing.T) {
	for _, tc := range []struct {
		would, limit int64
		want         string
	}{
		{600, 512, "600 B of sealed values, more than its quota of 512 B"},
		{4<<30 + 1<<29, 4 << 30, "4.5 GiB of sealed values, more than its quota of 4.0 GiB"},
		{3 << 20, 2 << 20, "3.0 MiB of sealed values, more than its quota of 2.0 MiB"},
	} {
		err := syncserver.Quota{Bytes: tc.limit}.Exceeds(syncserver.Usage{}, syncserver.Usage{Bytes: tc.would})
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !errors.Is(err, syncserver.ErrQuotaExceeded) {
			t.Errorf("Exceeds(%d over %d) = %v; want one ending %q, wrapping ErrQuotaExceeded", tc.would, tc.limit, err, tc.want)
		}
	}
}

func TestSyncDeadLinkIsClosedAfterTwoMissedPongs(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PingInterval = 50 * time.Millisecond })
	_, token := e.account(true)
	// A client that never reads answers no ping.
	ws := e.dialMute(token)
	b, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "mute", Cursor: 0})
	if err := ws.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "server counts the connection", func() bool {
		return strings.Contains(e.metrics(t), "courier_sync_connections 1")
	})
	poll(t, 5*time.Second, "dead link closed", func() bool {
		return strings.Contains(e.metrics(t), "courier_sync_connections 0")
	})
}

func (e *syncEnv) metrics(t *testing.T) string {
	return string(e.api(t, "GET", syncproto.PathMetrics, "", nil, 200))
}

func TestSyncSlowReaderBlocksNobodyAndHoldsNoQueue(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) {
		c.Sync.WriteTimeout, c.Sync.PingInterval = time.Minute, time.Minute // this client pauses on purpose
		c.Sync.PageBytes = 64 << 10
	})
	_, token := e.account(true)
	pusher, _ := e.connect(token, 0)
	pusher.changesUntil(0)
	go func() { // the pusher's own stream is not what this test reads
		for range pusher.frames {
		}
	}()
	fast, _ := e.connect(token, 0)
	fast.changesUntil(0)
	slow := e.dialMute(token)
	hello, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "slow", Cursor: 0})
	if err := slow.Write(t.Context(), websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "three connections", func() bool {
		return strings.Contains(e.metrics(t), "courier_sync_connections 3")
	})

	before := heapAfterGC()
	// 19 MB of sealed values in 6,400 ops; under -race, 10 MB in 800 ops
	// (the race detector slows the ops down more than their bytes). The
	// server's fixed costs (the open transaction, the connections'
	// buffers) come to 1 to 3 MiB whatever the lag, so the lag must be
	// well above that for a queue to show.
	const pushes, perPush, size = 64 / raceScale, 100 / (raceScale * raceScale), 3 << 10 * raceScale * raceScale
	for i := range pushes {
		ops := make([]model.Op, perPush)
		for j := range ops {
			ops[j] = newOp(fmt.Sprintf("r%d-%d", i, j), size, "body")
		}
		pusher.send(&syncproto.Push{Ops: ops})
	}
	const total = pushes * perPush
	if n := fast.countUntil(total); n != total {
		t.Fatalf("the fast reader got %d changes, want %d", n, total)
	}
	grown := int64(heapAfterGC()) - int64(before)
	t.Logf("heap grew %d KiB while a reader lagged %d MiB behind", grown>>10, total*size>>20)
	if grown > total*size/2 {
		t.Fatalf("heap grew %d MiB while a client lagged: the server is queueing", grown>>20)
	}

	// The slow reader now reads, and gets everything in order.
	c := &client{t: t, ws: slow, frames: make(chan syncproto.Frame, 16), ended: make(chan struct{})}
	slow.SetReadLimit(syncproto.MaxFrameSize)
	go c.readLoop()
	if _, ok := c.next().(*syncproto.Welcome); !ok {
		t.Fatal("slow reader: no welcome first")
	}
	if n := c.countUntil(total); n != total {
		t.Fatalf("the slow reader got %d changes, want %d", n, total)
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC() // and the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestSyncNoticesRevocationsMadeElsewhereAtTheNextPing(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PingInterval = 100 * time.Millisecond })
	acct, token := e.account(true)
	c, _ := e.connect(token, 0)
	c.changesUntil(0)
	// Straight in storage, as another replica would: no hub hears of it.
	sess, err := e.store.SessionByToken(t.Context(), sha([]byte(token)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteSession(t.Context(), acct, sess.ID); err != nil {
		t.Fatal(err)
	}
	status, ef := c.waitClose(2 * time.Second)
	if int(status) != int(syncproto.CloseUnauthorized) || ef == nil {
		t.Fatalf("close %d, error frame %+v; want 4401", status, ef)
	}
}

func TestSyncRateLimitsCloseWith4429(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) {
		c.Sync.MaxConnsPerAccount = 2
		c.Sync.PushRate = syncserver.Rate{Burst: 3, Every: time.Hour}
	})
	t.Run("one connection too many", func(t *testing.T) {
		_, token := e.account(true)
		e.connect(token, 0)
		e.connect(token, 0)
		c := e.dial(token)
		c.send(&syncproto.Hello{DeviceID: "third", Cursor: 0})
		c.wantClose(syncproto.CloseRateLimited)
	})
	t.Run("pushes past the rate", func(t *testing.T) {
		_, token := e.account(true)
		c, _ := e.connect(token, 0)
		for i := range 4 {
			c.send(&syncproto.Push{Ops: []model.Op{newOp(fmt.Sprint("r", i), 10)}})
		}
		c.wantClose(syncproto.CloseRateLimited)
	})
}

func TestSyncConcurrentPushersAllReceiveEveryChangeInOrder(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PushRate = syncserver.Rate{Burst: -1} })
	acct, token := e.account(true)
	const conns, pushes = 3, 15
	var cs []*client
	for i := range conns {
		tok := token
		if i > 0 {
			tok = e.session(acct)
		}
		c, _ := e.connect(tok, 0)
		c.changesUntil(0)
		cs = append(cs, c)
	}
	var mu sync.Mutex
	sent := map[model.ID]model.Op{}
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range pushes {
				op := newOp(fmt.Sprintf("r%d-%d", i, j), 50, "name")
				mu.Lock()
				sent[op.OpID] = op
				mu.Unlock()
				b, _ := syncproto.EncodeFrame(&syncproto.Push{Ops: []model.Op{op}})
				if err := c.ws.Write(t.Context(), websocket.MessageText, b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, c := range cs {
		got := c.changesUntil(conns * pushes)
		if len(got) != conns*pushes {
			t.Fatalf("connection %d received %d changes, want %d", i, len(got), conns*pushes)
		}
		for k, ch := range got {
			op, ok := sent[ch.OpID]
			if ch.Seq != uint64(k+1) || !ok || ch.ID != op.ID || !bytes.Equal(ch.Fields["name"], op.Fields["name"]) {
				t.Fatalf("connection %d change %d = seq %d op %s id %s, want seq %d of a pushed op with its fields", i, k, ch.Seq, ch.OpID, ch.ID, k+1)
			}
		}
	}
}

// TestSyncNewDeviceSkipsDeletedRecords checks that a device saying hello
// with cursor 0 hears nothing of the deletions made before it came (but
// the page's last change, which moves its cursor), and no value of the
// deleted records, while a device that synced before gets the deletions.
func TestSyncNewDeviceSkipsDeletedRecords(t *testing.T) {
	e := newSyncEnv(t, nil)
	_, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)
	del := newOp("r1", 4, model.FieldDeleted)
	for _, op := range []model.Op{newOp("r1", 20), newOp("r2", 20), del, newOp("r1", 20), newOp("r3", 20)} {
		a.send(&syncproto.Push{Ops: []model.Op{op}})
	}
	a.changesUntil(5)
	b, _ := e.connect(token, 0)
	var seqs []uint64
	for _, c := range b.changesUntil(5) {
		seqs = append(seqs, c.Seq)
		if _, ok := c.Fields[model.FieldDeleted]; ok || (c.ID == "r1" && len(c.Fields) > 0) {
			t.Fatalf("a new device got r1's change %d with fields %v", c.Seq, c.Fields)
		}
	}
	if !slices.Equal(seqs, []uint64{1, 2, 4, 5}) {
		t.Fatalf("a new device got seqs %v, want [1 2 4 5] (r1's edits without a field)", seqs)
	}
	old, _ := e.connect(token, 1)
	var deleted bool
	for _, c := range old.changesUntil(5) {
		_, del := c.Fields[model.FieldDeleted]
		deleted = deleted || (c.ID == "r1" && c.Seq == 3 && del)
	}
	if !deleted {
		t.Fatal("a device at cursor 1 did not get r1's deletion")
	}
}

// TestSyncBacklogEchoesSupersededEditsBare: a device catching up gets a
// change without a field for each edit a later op overwrote (it echoes an
// op, maybe one still pending there), until the devices that pushed them
// have reported a cursor past them; compaction then drops them.
func TestSyncBacklogEchoesSupersededEditsBare(t *testing.T) {
	e := newSyncEnv(t, func(c *syncserver.Config) { c.Sync.PageChanges = 3 })
	acct, token := e.account(true)
	a, _ := e.connect(token, 0)
	a.changesUntil(0)
	for _, id := range []string{"r1", "r1", "r2", "r2"} { // each edit supersedes the one before
		a.send(&syncproto.Push{Ops: []model.Op{newOp(id, 20)}})
	}
	if got := a.changesUntil(4); len(got) != 4 {
		t.Fatalf("the pushing connection got %d changes, want all 4 (its echoes)", len(got))
	}
	read := func(c *client) (seqs, empty []uint64) {
		for _, ch := range c.changesUntil(4) {
			seqs = append(seqs, ch.Seq)
			if len(ch.Fields) == 0 {
				empty = append(empty, ch.Seq)
			}
		}
		return seqs, empty
	}
	tokenB := e.session(acct)
	b, _ := e.connect(tokenB, 0)
	if seqs, empty := read(b); !slices.Equal(seqs, []uint64{1, 2, 3, 4}) || !slices.Equal(empty, []uint64{1, 3}) {
		t.Fatalf("a new device got seqs %v (without fields: %v), want 1 to 4 (1 and 3)", seqs, empty)
	}
	// Both devices report 4 as they reconnect: 1 and 3 go.
	a.ws.Close(1000, "")
	b.ws.Close(1000, "")
	e.connect(token, 4)
	e.connect(tokenB, 4)
	e.waitLog(t, acct, 2)
	c, _ := e.connect(e.session(acct), 0)
	if seqs, empty := read(c); !slices.Equal(seqs, []uint64{2, 4}) || len(empty) != 0 {
		t.Fatalf("a new device after compaction got seqs %v (without fields: %v), want 2 and 4", seqs, empty)
	}
}

// A client killed mid-sync resets its connection: that is normal life
// for a server, logged at DEBUG, not as an error.
func TestAClientThatResetsItsConnectionIsNoError(t *testing.T) {
	logs := &servertest.Buffer{}
	e := newSyncEnv(t, func(cfg *syncserver.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, token := e.account(true)
	var tcp *net.TCPConn
	opts := e.dialOpts(token)
	opts.HTTPClient = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				tcp = c.(*net.TCPConn)
			}
			return c, err
		},
	}}
	ws, _, err := websocket.Dial(t.Context(), e.wsURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	b, err := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "killed", Cursor: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(t.Context()); err != nil { // the welcome
		t.Fatal(err)
	}
	// As the kernel ends the connections of a killed process that had
	// unread data: a reset.
	if err := tcp.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	tcp.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "connection reset by peer") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "connection reset by peer") {
		t.Fatalf("the server did not log the reset:\n%s", logs)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "connection reset by peer") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("the reset is logged above DEBUG: %s", line)
		}
	}
}
