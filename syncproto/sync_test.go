package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func sealed(n int) json.RawMessage { return SealedValue(bytes.Repeat([]byte{0x01, 0xfe}, n)[:n]) }

func goodOp() model.Op {
	return model.Op{OpID: "01JOP", Kind: model.KindRequest, ID: "01JREQ", Fields: model.Fields{"name": sealed(60), "_deleted": sealed(42)}}
}

func TestFramesRoundTripWithTheirType(t *testing.T) {
	frames := []Frame{
		&Hello{DeviceID: "laptop-1", Cursor: 42},
		&Push{Ops: []model.Op{goodOp()}},
		&Welcome{AccountID: "acct1", Head: 7},
		&Changes{Changes: []model.Change{{Seq: 3, Kind: model.KindRequest, ID: "r", Fields: model.Fields{"url": sealed(50)}, OpID: "o"}}, CaughtUp: true},
		&Changes{Changes: []model.Change{}, CaughtUp: true},
		&Ack{OpIDs: []model.ID{"o1", "o2"}},
		&ErrorFrame{Code: CodeTooLarge, Message: "quota"},
	}
	for _, f := range frames {
		t.Run(string(f.FrameType()), func(t *testing.T) {
			b, err := EncodeFrame(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(`{"type":"`+string(f.FrameType())+`"`)) {
				t.Fatalf("frame %s does not start with its type", b)
			}
			decode := DecodeServerFrame
			if f.FrameType() == TypeHello || f.FrameType() == TypePush {
				decode = DecodeClientFrame
			}
			got, err := decode(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip of %s: got %#v want %#v", b, got, f)
			}
		})
	}
}

func TestNilChangesEncodeAsEmptyList(t *testing.T) {
	b, err := EncodeFrame(&Changes{CaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"changes","changes":[],"caught_up":true}` {
		t.Fatalf("got %s", b)
	}
}

func pushJSON(ops ...model.Op) string {
	b, _ := json.Marshal(Push{Ops: ops})
	return string(b)
}

func TestDecodeClientFrameRefuses(t *testing.T) {
	op := goodOp()
	unknownKind, unknownField, plainValue, badID := op, op, op, op
	unknownKind.Kind = "secret"
	unknownField.Fields = model.Fields{"password": sealed(10)}
	plainValue.Fields = model.Fields{"name": json.RawMessage(`"hello world"`)}
	badID.ID = "a/b"
	bigValue := op
	bigValue.Fields = model.Fields{"body": sealed(MaxFieldValue + 1)}
	empty := op
	empty.Fields = model.Fields{}
	many := make([]model.Op, MaxPushOps+1)
	for i := range many {
		many[i] = op
	}
	tests := []struct {
		name  string
		frame string
		want  error
	}{
		{"bad JSON is invalid", `{"type":"hello"`, model.ErrInvalid},
		{"unknown type is invalid", `{"type":"welcome","account_id":"a","head":1}`, model.ErrInvalid},
		{"unknown key is invalid", `{"type":"hello","device_id":"d","cursor":1,"x":1}`, model.ErrInvalid},
		{"hello without device id is invalid", `{"type":"hello","cursor":1}`, model.ErrInvalid},
		{"hello with control char is invalid", `{"type":"hello","device_id":"a\u0000"}`, model.ErrInvalid},
		{"hello with ops is invalid", `{"type":"hello","device_id":"d","ops":[]}`, model.ErrInvalid},
		{"negative cursor is invalid", `{"type":"hello","device_id":"d","cursor":-1}`, model.ErrInvalid},
		{"two values are invalid", `{"type":"hello","device_id":"d"} {}`, model.ErrInvalid},
		{"empty push is invalid", `{"type":"push","ops":[]}`, model.ErrInvalid},
		{"push with cursor is invalid", `{"type":"push","cursor":1,"ops":[]}`, model.ErrInvalid},
		{"unknown kind is invalid", pushJSON(unknownKind), model.ErrInvalid},
		{"unknown field is invalid", pushJSON(unknownField), model.ErrInvalid},
		{"unsealed value is invalid", pushJSON(plainValue), model.ErrInvalid},
		{"id with slash is invalid", pushJSON(badID), model.ErrInvalid},
		{"op without fields is invalid", pushJSON(empty), model.ErrInvalid},
		{"value over 256 KiB is too large", pushJSON(bigValue), model.ErrTooLarge},
		{"too many ops is too large", pushJSON(many...), model.ErrTooLarge},
		{"frame over 1 MiB is too large", `{"type":"hello","device_id":"` + strings.Repeat("a", MaxFrameSize) + `"}`, model.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeClientFrame([]byte(tt.frame))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeServerFrameRefuses(t *testing.T) {
	tests := []struct{ name, frame string }{
		{"changes out of order", `{"type":"changes","changes":[{"seq":2,"kind":"folder","id":"f","fields":{}},{"seq":2,"kind":"folder","id":"f","fields":{}}],"caught_up":true}`},
		{"change with seq 0", `{"type":"changes","changes":[{"seq":0,"kind":"folder","id":"f","fields":{}}],"caught_up":true}`},
		{"changes without caught_up", `{"type":"changes","changes":[]}`},
		{"welcome without head", `{"type":"welcome","account_id":"a"}`},
		{"empty ack", `{"type":"ack","op_ids":[]}`},
		{"error without code", `{"type":"error","code":"","message":"m"}`},
		{"client frame", `{"type":"hello","device_id":"d"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeServerFrame([]byte(tt.frame)); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSealedValueRoundTripsAndMeasures(t *testing.T) {
	for _, n := range []int{1, 2, 3, 41, 1000} {
		raw := bytes.Repeat([]byte{0xab}, n)
		v := SealedValue(raw)
		if got, err := SealedLen(v); err != nil || got != n {
			t.Fatalf("SealedLen(%d bytes) = %d, %v", n, got, err)
		}
		back, err := SealedBytes(v)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("SealedBytes = %x, %v", back, err)
		}
	}
	for _, bad := range []string{`""`, `"AB"`, `"A==="`, `"AB=C"`, `"AB\u002f="`, `"a b="`, `123`, `"Zm9v`} {
		if _, err := SealedLen(json.RawMessage(bad)); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("SealedLen(%s) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestCloseCodesMapBothWays(t *testing.T) {
	tests := []struct {
		err  error
		want CloseCode
	}{
		{fmt.Errorf("x: %w", model.ErrTooLarge), CloseTooLarge},
		{fmt.Errorf("x: %w", model.ErrInvalid), CloseInvalidFrame},
		{fmt.Errorf("x: %w", ErrUnsupportedVersion), CloseUnsupportedVersion},
		{fmt.Errorf("x: %w", ErrEmailUnconfirmed), CloseEmailUnconfirmed},
		{fmt.Errorf("x: %w", model.ErrUnauthorized), CloseUnauthorized},
		{fmt.Errorf("x: %w", ErrRateLimited), CloseRateLimited},
		{fmt.Errorf("x: %w", model.ErrUnavailable), CloseGoingAway},
		{errors.New("disk on fire"), CloseInternal},
	}
	for _, tt := range tests {
		got := CloseCodeFor(tt.err)
		if got != tt.want {
			t.Errorf("CloseCodeFor(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if got != CloseInternal && got != CloseGoingAway && !errors.Is(tt.err, got.Err()) {
			t.Errorf("close %d Err() = %v, not what %v wraps", got, got.Err(), tt.err)
		}
		f := &ErrorFrame{Code: got.ErrorCode(), Message: "m"}
		if got != CloseInternal && CloseCodeFor(f.Err()) != got {
			t.Errorf("error frame %s maps back to %d, want %d", f.Code, CloseCodeFor(f.Err()), got)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","device_id":"d","cursor":3}`,
		pushJSON(goodOp()),
		`{"type":"changes","changes":[{"seq":2,"kind":"folder","id":"f","fields":{"name":"AQID"},"op_id":"o"}],"caught_up":true}`,
		`{"type":"ack","op_ids":["a"]}`,
		`{"type":"error","code":"too_large","message":"m"}`,
		`{"type":"welcome","account_id":"a","head":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, decode := range []func([]byte) (Frame, error){DecodeClientFrame, DecodeServerFrame} {
			fr, err := decode(b)
			if err != nil {
				if !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrTooLarge) {
					t.Fatalf("error %v wraps neither ErrInvalid nor ErrTooLarge", err)
				}
				continue
			}
			// What validates re-encodes and decodes to the same frame.
			again, err := EncodeFrame(fr)
			if err != nil {
				t.Fatalf("re-encode %#v: %v", fr, err)
			}
			fr2, err := decode(again)
			if err != nil || !reflect.DeepEqual(fr, fr2) {
				t.Fatalf("re-decode of %s: %v, %#v != %#v", again, err, fr2, fr)
			}
		}
	})
}
