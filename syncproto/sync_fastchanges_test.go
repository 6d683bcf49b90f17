package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

// realChanges returns the JSON of a changes frame as the server sends it.
func realChanges(t testing.TB, caughtUp bool) []byte {
	t.Helper()
	f := &Changes{CaughtUp: caughtUp, Changes: []model.Change{
		{Seq: 1, Kind: model.KindCollection, ID: model.NewID(), OpID: model.NewID(),
			Fields: model.Fields{"name": SealedValue([]byte("col")), "order": SealedValue([]byte("a0"))}},
		{Seq: 7, Kind: model.KindRequest, ID: model.NewID(),
			Fields: model.Fields{"url": SealedValue([]byte("https://x")), "method": SealedValue([]byte("GET")), model.FieldDeleted: SealedValue([]byte{1})}},
		{Seq: 8, Kind: model.KindFolder, ID: "f", OpID: "o", Fields: model.Fields{}},
	}}
	b, err := EncodeFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeChangesFastTakesServerFramesAndNothingOdd(t *testing.T) {
	real := string(realChanges(t, true))
	for _, tc := range []struct {
		name string
		in   string
		fast bool
	}{
		{"server frame", real, true},
		{"empty caught up", `{"type":"changes","changes":[],"caught_up":true}`, true},
		{"bad value still parsed fast, rejected by Validate", `{"type":"changes","changes":[{"seq":1,"kind":"folder","id":"f","fields":{"name":"A"}}],"caught_up":false}`, true},
		{"whitespace", strings.Replace(real, `"changes":[`, `"changes": [`, 1), false},
		{"key order", `{"changes":[],"type":"changes","caught_up":true}`, false},
		{"escape in id", `{"type":"changes","changes":[{"seq":1,"kind":"folder","id":"\u0066","fields":{}}],"caught_up":true}`, false},
		{"duplicate field", `{"type":"changes","changes":[{"seq":1,"kind":"folder","id":"f","fields":{"name":"AQID","name":"AQID"}}],"caught_up":true}`, false},
		{"brace in field name", `{"type":"changes","changes":[{"seq":1,"kind":"folder","id":"f","fields":{"a}":"AQID","name":"AQIDAQID"}}],"caught_up":true}`, false},
		{"leading zero seq", `{"type":"changes","changes":[{"seq":01,"kind":"folder","id":"f","fields":{}}],"caught_up":true}`, false},
		{"twenty digit seq", `{"type":"changes","changes":[{"seq":18446744073709551615,"kind":"folder","id":"f","fields":{}}],"caught_up":true}`, false},
		{"null fields", `{"type":"changes","changes":[{"seq":1,"kind":"folder","id":"f","fields":null}],"caught_up":true}`, false},
		{"trailing space", real + " ", false},
		{"trailing value", real + "{}", false},
		{"unknown key", strings.Replace(real, `"caught_up"`, `"head":1,"caught_up"`, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fast := decodeChangesFast([]byte(tc.in), false)
			if fast != tc.fast {
				t.Fatalf("fast path taken = %v, want %v", fast, tc.fast)
			}
			checkSameAsStrict(t, []byte(tc.in))
		})
	}
}

// checkSameAsStrict fails when DecodeServerFrame and the strict decoder
// disagree on b: different frames, or different error classes.
func checkSameAsStrict(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := DecodeServerFrame(b)
	want, wantErr := decodeServerStrict(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("DecodeServerFrame error %v, strict error %v", gotErr, wantErr)
	}
	for _, class := range []error{model.ErrInvalid, model.ErrTooLarge} {
		if gotErr != nil && errors.Is(gotErr, class) != errors.Is(wantErr, class) {
			t.Fatalf("DecodeServerFrame error %v, strict error %v: classes differ", gotErr, wantErr)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeServerFrame gives %#v, strict %#v", got, want)
	}
	// In place: the same frame; on the fast path, its values are b's own
	// bytes.
	own := bytes.Clone(b)
	inPlace, inPlaceErr := DecodeServerFrameInPlace(own)
	if (inPlaceErr == nil) != (gotErr == nil) || !reflect.DeepEqual(inPlace, got) {
		t.Fatalf("DecodeServerFrameInPlace gives %#v, %v; DecodeServerFrame %#v, %v", inPlace, inPlaceErr, got, gotErr)
	}
	if _, fast := decodeChangesFast(b, false); fast && inPlaceErr == nil {
		clear(own)
		for _, c := range inPlace.(*Changes).Changes {
			for name, v := range c.Fields {
				if len(bytes.Trim(v, "\x00")) != 0 {
					t.Fatalf("value %s of change %d does not alias the frame", name, c.Seq)
				}
			}
		}
	}
}

func FuzzDecodeChangesFast(f *testing.F) {
	f.Add(realChanges(f, true))
	f.Add(realChanges(f, false))
	f.Add([]byte(`{"type":"changes","changes":[],"caught_up":true}`))
	f.Add([]byte(`{"type":"changes","changes":[{"seq":2,"kind":"folder","id":"f","fields":{"name":"AQID"},"op_id":"o"},{"seq":2,"kind":"folder","id":"g","fields":{}}],"caught_up":false}`))
	f.Add([]byte(`{"type":"changes","changes":[{"seq":1,"kind":"nope","id":"a/b","fields":{"bogus":"===="}}],"caught_up":true}`))
	f.Add([]byte(`{"type":"welcome","account_id":"a","head":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSameAsStrict(t, b)
	})
}

func BenchmarkDecodeServerFrameChanges(b *testing.B) {
	cs := make([]model.Change, 500)
	for i := range cs {
		cs[i] = model.Change{Seq: uint64(i + 1), Kind: model.KindRequest, ID: model.NewID(), OpID: model.NewID(), Fields: model.Fields{
			"name": SealedValue(make([]byte, 40)), "url": SealedValue(make([]byte, 80)),
			"method": SealedValue(make([]byte, 20)), "order": SealedValue(make([]byte, 30)),
		}}
	}
	frame, err := json.Marshal(&Changes{Changes: cs})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte) (Frame, error)
	}{{"courier", DecodeServerFrame}, {"baseline", decodeServerStrict}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestChangesWithSeveralBadFieldsNameTheSameOne(t *testing.T) {
	frame := []byte(`{"type":"changes","changes":[{"seq":1,"kind":"request","id":"r1","fields":{"zzz":"AQID","name":"====","url":"AQID"}}],"caught_up":true}`)
	_, first := DecodeServerFrame(frame)
	if first == nil {
		t.Fatal("a change with bad fields was accepted")
	}
	for range 50 {
		if _, err := DecodeServerFrame(frame); err == nil || err.Error() != first.Error() {
			t.Fatalf("the error changed between decodes: %v, then %v", first, err)
		}
		if _, err := decodeServerStrict(frame); err == nil || err.Error() != first.Error() {
			t.Fatalf("the strict decoder says %v, the fast one %v", err, first)
		}
	}
}
