package store

import (
	"bytes"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestCodecRoundTrips(t *testing.T) {
	for _, f := range []model.Fields{
		{},
		{"name": json.RawMessage(`"x"`)},
		{"name": json.RawMessage(`""`), "body": json.RawMessage(`{"raw":"` + string(bytes.Repeat([]byte("é"), 1000)) + `"}`), "_deleted": json.RawMessage(`true`)},
	} {
		got, err := decodeFields(encodeFields(f))
		if err != nil || len(got) != len(f) {
			t.Fatalf("fields %v: got %v, %v", f, got, err)
		}
		for k, v := range f {
			if !bytes.Equal(got[k], v) {
				t.Errorf("field %s = %s; want %s", k, got[k], v)
			}
		}
		op := model.Op{OpID: model.NewID(), Kind: model.KindRequest, ID: "id-1", Fields: f}
		back, err := decodeOp(encodeOp(op))
		if err != nil || back.OpID != op.OpID || back.Kind != op.Kind || back.ID != op.ID || len(back.Fields) != len(f) {
			t.Errorf("op %+v: got %+v, %v", op, back, err)
		}
	}
}

// FuzzDecode feeds damaged stored bytes to the decoders: they must fail
// cleanly, and whatever decodes must survive another round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(encodeFields(model.Fields{"name": json.RawMessage(`"x"`), "url": json.RawMessage(`"u"`)}))
	f.Add(encodeOp(model.Op{OpID: "o", Kind: model.KindHistory, ID: "i", Fields: model.Fields{"error": json.RawMessage(`"e"`)}}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	sec, err := newSealer(bytes.Repeat([]byte{7}, SecretKeySize))
	if err != nil {
		f.Fatal(err)
	}
	var n atomic.Int64
	secret := model.Fields{"value": json.RawMessage(`"v"`), "secret": json.RawMessage("true")}
	f.Add(sec.encodeRecord(model.KindVariable, "v1", secret, &n))
	f.Add(sec.encodeOp(model.Op{OpID: "o", Kind: model.KindVariable, ID: "v1", Fields: secret}, &n))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Sealed values that do not open fail cleanly too.
		if fs, err := sec.decodeRecord([]byte("variable/v1"), b); err == nil && isSealed(fs["value"]) {
			t.Fatalf("decodeRecord returned a sealed value: %q", fs["value"])
		}
		if op, err := sec.decodeOp(b); err == nil && op.Kind == model.KindVariable && isSealed(op.Fields["value"]) {
			t.Fatalf("decodeOp returned a sealed value: %q", op.Fields["value"])
		}
		if fs, err := decodeFields(b); err == nil {
			again, err := decodeFields(encodeFields(fs))
			if err != nil || len(again) != len(fs) {
				t.Fatalf("re-decoding %v: %v, %v", fs, again, err)
			}
			for k, v := range fs {
				if !bytes.Equal(again[k], v) {
					t.Fatalf("field %q changed: %q -> %q", k, v, again[k])
				}
			}
		}
		if op, err := decodeOp(b); err == nil {
			again, err := decodeOp(encodeOp(op))
			if err != nil || again.OpID != op.OpID || again.Kind != op.Kind || again.ID != op.ID || len(again.Fields) != len(op.Fields) {
				t.Fatalf("re-decoding op %+v: %+v, %v", op, again, err)
			}
		}
	})
}
