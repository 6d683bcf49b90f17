package syncclient

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

func TestOpenChangeOpensEveryFieldOfAChange(t *testing.T) {
	e := &Engine{sealer: vault.NewSealer(vault.AccountKey{7})}
	op := model.Op{OpID: "op1", Kind: model.KindRequest, ID: "r1", Fields: model.Fields{
		"name": json.RawMessage(`"a"`), "url": json.RawMessage(`"https://example.com/` + strings.Repeat("x", 3000) + `"`),
		"method": json.RawMessage(`"GET"`), "headers": json.RawMessage(`[{"key":"A","value":"b"}]`),
	}}
	sealed, err := e.sealOp(op)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.openChange(model.Change{Seq: 1, Kind: op.Kind, ID: op.ID, OpID: op.OpID, Fields: sealed.Fields})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != len(op.Fields) {
		t.Fatalf("opened %d fields, want %d", len(got.Fields), len(op.Fields))
	}
	for name, want := range op.Fields {
		if string(got.Fields[name]) != string(want) {
			t.Errorf("field %s opened to %.40q, want %.40q", name, got.Fields[name], want)
		}
	}
}

func TestOpenChangeRefusesBadWireValues(t *testing.T) {
	e := &Engine{sealer: vault.NewSealer(vault.AccountKey{7})}
	good, _ := e.sealOp(model.Op{OpID: "op1", Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": json.RawMessage(`"a"`)}})
	v := string(good.Fields["name"])
	for name, bad := range map[string]string{
		"not a string":      `5`,
		"empty":             `""`,
		"unpadded":          v[:len(v)-2] + `"`,
		"line break":        `"` + v[1:5] + "\n" + v[6:],
		"escape":            `"\u0041` + v[2:],
		"url alphabet":      v[:1] + "-" + v[2:6] + "_" + v[7:],
		"padding inside":    `"AA=A` + v[5:],
		"another record":    string(syncproto.SealedValue([]byte("not sealed at all, just bytes of some length"))),
		"too large to open": `"` + strings.Repeat("AAAA", syncproto.MaxFieldValue/3+1) + `"`,
	} {
		_, err := e.openChange(model.Change{Seq: 1, Kind: model.KindRequest, ID: "r1", Fields: model.Fields{"name": json.RawMessage(bad)}})
		if !errors.Is(err, errOpen) || !(errors.Is(err, model.ErrInvalid) || errors.Is(err, model.ErrTooLarge)) {
			t.Errorf("%s: openChange err = %v, want errOpen and ErrInvalid or ErrTooLarge", name, err)
		}
	}
}
