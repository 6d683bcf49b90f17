package syncclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// FuzzOpenServerFrame feeds arbitrary server frames to the engine's
// decoding and opening: it never panics, and whatever opens is JSON; a
// value that does not open is errOpen and model.ErrInvalid.
func FuzzOpenServerFrame(f *testing.F) {
	key := vault.AccountKey{1, 2, 3}
	e := &Engine{sealer: vault.NewSealer(key)}
	op := model.Op{OpID: "op1", Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": json.RawMessage(`"a"`), "_deleted": json.RawMessage(`true`)}}
	sealed, err := e.sealOp(op)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := syncproto.EncodeFrame(&syncproto.Changes{Changes: []model.Change{{Seq: 1, Kind: op.Kind, ID: op.ID, Fields: sealed.Fields, OpID: op.OpID}}, CaughtUp: true})
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"r1"`), []byte(`"r2"`), 1))
	f.Add([]byte(`{"type":"changes","changes":[{"seq":1,"kind":"request","id":"x","fields":{"name":"AAAA"}}],"caught_up":false}`))
	f.Add([]byte(`{"type":"ack","op_ids":["a"]}`))
	f.Add([]byte(`{"type":"error","code":"unauthorized","message":"no"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := syncproto.DecodeServerFrame(b)
		ch, ok := fr.(*syncproto.Changes)
		if err != nil || !ok {
			return
		}
		for _, c := range ch.Changes {
			o, err := e.openChange(c)
			if err != nil {
				if !errors.Is(err, errOpen) || !errors.Is(err, model.ErrInvalid) {
					t.Fatalf("openChange error %v is not errOpen and ErrInvalid", err)
				}
				continue
			}
			for name, v := range o.Fields {
				if !json.Valid(v) {
					t.Fatalf("field %s opened to non-JSON %q", name, v)
				}
			}
		}
	})
}
