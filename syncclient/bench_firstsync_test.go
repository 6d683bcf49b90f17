package syncclient_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.etcd.io/bbolt"

	"github.com/courierapp/courier/app"
	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/store"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver/servertest"
	"github.com/courierapp/courier/vault"
)

// firstSyncOps is an account's content: 10,000 history entries, 5,000
// requests and 1,000 variables, of ordinary sizes.
func firstSyncOps() []model.Op {
	ops := make([]model.Op, 0, 16_000)
	add := func(kind model.Kind, f model.Fields) {
		ops = append(ops, model.Op{OpID: model.NewID(), Kind: kind, ID: model.NewID(), Fields: f})
	}
	for i := range 5_000 {
		add(model.KindRequest, model.Fields{
			"name":    json.RawMessage(fmt.Sprintf(`"request %d"`, i)),
			"method":  json.RawMessage(`"GET"`),
			"url":     json.RawMessage(fmt.Sprintf(`"https://api.example.com/v1/things/%d?expand=owner"`, i)),
			"headers": json.RawMessage(`[{"key":"Accept","value":"application/json"},{"key":"Authorization","value":"Bearer {{token}}"}]`),
			"parent":  json.RawMessage(`"folder-1"`),
			"order":   json.RawMessage(fmt.Sprintf(`"a%05d"`, i)),
		})
	}
	for i := range 1_000 {
		add(model.KindVariable, model.Fields{
			"owner": json.RawMessage(`"env-1"`), "name": json.RawMessage(fmt.Sprintf(`"var%d"`, i)),
			"value": json.RawMessage(fmt.Sprintf(`"value of variable %d"`, i)), "enabled": json.RawMessage("true"),
		})
	}
	for i := range 10_000 {
		sent := time.Unix(1_800_000_000+int64(i), 0).UTC().Format(time.RFC3339)
		add(model.KindHistory, model.Fields{
			"sent_at": json.RawMessage(fmt.Sprintf("%q", sent)),
			"request": json.RawMessage(fmt.Sprintf(`{"method":"GET","url":"https://api.example.com/v1/things/%d","headers":[{"key":"Accept","value":"application/json"}]}`, i)),
			"response": json.RawMessage(fmt.Sprintf(`{"status":200,"headers":[{"key":"Content-Type","value":"application/json"}],"time_ms":42,"size":96,`+
				`"body":"{\"id\":%d,\"name\":\"thing %d\",\"owner\":{\"id\":7,\"name\":\"Ann\"},\"tags\":[\"a\",\"b\"]}"}`, i, i)),
		})
	}
	return ops
}

// BenchmarkFirstSync measures the first sync of a new device of an
// account holding 10,000 history entries, 5,000 requests and 1,000
// variables, in records/s:
//   - .../courier pulls them through the real server on loopback TLS
//     (the server reads its log, the client reads the frames, opens the
//     sealed fields and commits each page to a real store file);
//   - .../device is the same new device fed the frames the server sent
//     in .../courier, recorded once and replayed by a bare WebSocket
//     server on loopback TLS: the device's own throughput (frames, TLS,
//     opening the values, the store's commits), which in a deployment
//     does not share its cores with the server;
//   - .../store commits the same plaintext changes in pages of 1,000 with
//     ApplyServerChanges to a fresh store file, without network or
//     decryption: the store's share of the first sync;
//   - .../baseline writes the same records in pages of 1,000 into one
//     bucket of a fresh bare bbolt file (one Put per record of its fields
//     as JSON, one fsync'd transaction per page): the floor any store on
//     this disk pays, which no change to Courier moves, so the ratio of
//     courier (or store) to it compares runs made at different loads.
func BenchmarkFirstSync(b *testing.B) {
	ctx := context.Background()
	srv := servertest.Start(b, servertest.Options{})
	acct := srv.NewAccount(b, "first")
	src := newDevice(b, acct, "src")
	ops := firstSyncOps()
	if err := src.db.Apply(ctx, ops...); err != nil {
		b.Fatal(err)
	}
	if sum, err := src.sync.Once(ctx); err != nil || sum.Pushed != len(ops) {
		b.Fatalf("pushing the account's content: %+v, %v", sum, err)
	}
	token := acct.Login(b)
	b.Run("courier", func(b *testing.B) {
		benchNewDevice(b, srv.URL, srv.CAFile, token, acct.Key, len(ops))
	})
	b.Run("device", func(b *testing.B) {
		replay := startReplay(b, recordFirstSync(b, srv, token))
		benchNewDevice(b, replay.URL, replayCA(b, replay), token, acct.Key, len(ops))
	})
	changes := make([]model.Change, len(ops))
	for i, op := range ops {
		changes[i] = model.Change{Seq: uint64(i + 1), Kind: op.Kind, ID: op.ID, Fields: op.Fields, OpID: op.OpID}
	}
	b.Run("store", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			db := joinedStore(b)
			b.StartTimer()
			for lo := 0; lo < len(changes); lo += firstSyncPage {
				hi := min(lo+firstSyncPage, len(changes))
				if err := db.ApplyServerChanges(ctx, changes[lo:hi], uint64(hi)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			db.Close()
		}
		b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			bdb, err := bbolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := bareWrite(bdb, changes); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := bdb.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// benchNewDevice times the first sync of b.N new devices from the server
// at url, each into a fresh store, and reports records/s; every device
// must reach a cursor of at least records.
func benchNewDevice(b *testing.B, url, caFile, token string, key vault.AccountKey, records int) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := joinedStore(b)
		e, err := syncclient.NewEngine(syncclient.EngineConfig{
			ServerURL: url, CAFile: caFile, Proxy: "direct", Token: token, Key: key,
			DeviceID: fmt.Sprintf("new-%d", i), Store: db,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := e.Once(ctx)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := db.Cursor(ctx); n < uint64(records) {
			b.Fatalf("cursor %d after the first sync (%+v), want >= %d", n, sum, records)
		}
		db.Close()
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// firstSyncPage is the page size of the store and baseline runs.
const firstSyncPage = 1000

// bareWrite stores each change's fields as JSON under kind/id in one
// bucket, one transaction per page of firstSyncPage.
func bareWrite(bdb *bbolt.DB, changes []model.Change) error {
	for lo := 0; lo < len(changes); lo += firstSyncPage {
		hi := min(lo+firstSyncPage, len(changes))
		err := bdb.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("records"))
			if err != nil {
				return err
			}
			for _, c := range changes[lo:hi] {
				v, err := json.Marshal(c.Fields)
				if err != nil {
					return err
				}
				if err := bk.Put([]byte(string(c.Kind)+"/"+string(c.ID)), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// joinedStore is a fresh store file (with fsync, as the app opens it)
// signed in to the account, sync on.
func joinedStore(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(context.Background(), b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app.JoinAccount(context.Background(), db, "acct", false); err != nil {
		b.Fatal(err)
	}
	return db
}

// recordFirstSync returns the frames srv sends a new device of token's
// account, from welcome to the page that catches up.
func recordFirstSync(b *testing.B, srv *servertest.Server, token string) [][]byte {
	b.Helper()
	ctx := context.Background()
	ws := servertest.DialSync(ctx, b, srv.URL, srv.CAFile, token)
	defer ws.CloseNow()
	hello, _ := syncproto.EncodeFrame(&syncproto.Hello{DeviceID: "recorder", Cursor: 0})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	for {
		_, m, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, m)
		f, err := syncproto.DecodeServerFrame(m)
		if err != nil {
			b.Fatal(err)
		}
		if ch, ok := f.(*syncproto.Changes); ok && ch.CaughtUp {
			return frames
		}
	}
}

// startReplay serves frames to every sync connection after its hello,
// then waits for the client to close.
func startReplay(b *testing.B, frames [][]byte) *httptest.Server {
	b.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{syncproto.SyncSubprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ws.SetReadLimit(syncproto.MaxFrameSize)
		if _, _, err := ws.Read(r.Context()); err != nil {
			return
		}
		for _, f := range frames {
			if err := ws.Write(r.Context(), websocket.MessageText, f); err != nil {
				return
			}
		}
		for {
			if _, _, err := ws.Read(r.Context()); err != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// replayCA writes srv's certificate to a PEM file the engine can trust.
func replayCA(b *testing.B, srv *httptest.Server) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "replay-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
