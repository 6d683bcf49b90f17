package vault

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/courierapp/courier/model"
)

const (
	katKind  = "request"
	katID    = "01HZY0000000000000000000AB"
	katField = "url"
)

func TestSealMatchesKnownAnswer(t *testing.T) {
	// computed outside Go (Python cryptography, HChaCha20 by hand)
	const want = "01404142434445464748494a4b4c4d4e4f5051525354555657" +
		"d36407802b83ce75d4770fb29bdef1301c241d032a25be585e2bf4bedca812940f8ef4e815de79"
	key := AccountKey(seq(0x80, 32))
	pt := []byte(`"https://example.com/a"`)
	got, err := NewSealer(key).sealWithNonce(seq(0x40, 24), katKind, katID, katField, pt)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "sealed", got, want)
	if cap(got) != len(got) {
		t.Errorf("sealed value has spare capacity %d: appending to it would overwrite nothing but is surprising", cap(got)-len(got))
	}
	back, err := Open(key, katKind, katID, katField, got)
	if err != nil || !bytes.Equal(back, pt) {
		t.Errorf("Open = %q, %v", back, err)
	}
}

func TestSealRoundTrips(t *testing.T) {
	s := NewSealer(NewAccountKey())
	for _, pt := range [][]byte{nil, []byte(`""`), []byte(`{"a":[1,2,3]}`), bytes.Repeat([]byte("x"), 1<<16)} {
		sealed, err := s.Seal(katKind, katID, katField, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+Overhead {
			t.Errorf("sealed %d bytes into %d, want %d", len(pt), len(sealed), len(pt)+Overhead)
		}
		got, err := s.Open(katKind, katID, katField, sealed)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Open(Seal(%.20q)) = %.20q, %v", pt, got, err)
		}
	}
}

func TestOpenRefusesMovedTamperedAndForeignValues(t *testing.T) {
	key := NewAccountKey()
	sealed, err := Seal(key, katKind, katID, katField, []byte(`"https://example.com"`))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { c := bytes.Clone(sealed); c[i] ^= 0x80; return c }
	tests := []struct {
		name            string
		key             AccountKey
		kind, id, field string
		sealed          []byte
		wantInMessage   string
	}{
		{"another field", key, katKind, katID, "name", sealed, "tampered or moved"},
		{"another record", key, katKind, "01HZY0000000000000000000AC", katField, sealed, "tampered or moved"},
		{"another kind", key, "folder", katID, katField, sealed, "tampered or moved"},
		{"shifted separator", key, katKind, katID + "\x01", katField[1:], sealed, "tampered or moved"},
		{"another account key", NewAccountKey(), katKind, katID, katField, sealed, "tampered or moved"},
		{"flipped nonce bit", key, katKind, katID, katField, flip(3), "tampered or moved"},
		{"flipped ciphertext bit", key, katKind, katID, katField, flip(Overhead - 16 + 2), "tampered or moved"},
		{"flipped tag bit", key, katKind, katID, katField, flip(len(sealed) - 1), "tampered or moved"},
		{"truncated by one byte", key, katKind, katID, katField, sealed[:len(sealed)-1], "tampered or moved"},
		{"truncated below the overhead", key, katKind, katID, katField, sealed[:Overhead-1], "truncated"},
		{"empty", key, katKind, katID, katField, nil, "truncated"},
		{"unknown version", key, katKind, katID, katField, append([]byte{2}, sealed[1:]...), "unknown format version 0x02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.key, tt.kind, tt.id, tt.field, tt.sealed)
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want model.ErrInvalid", err)
			}
			if got != nil {
				t.Errorf("a failed Open returned %q", got)
			}
			msg := err.Error()
			for _, want := range []string{tt.kind, tt.id, "field " + tt.field, tt.wantInMessage} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			got, err = NewSealer(tt.key).OpenInPlace(tt.kind, tt.id, tt.field, bytes.Clone(tt.sealed))
			if !errors.Is(err, model.ErrInvalid) || got != nil || !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("OpenInPlace = %q, %v; want model.ErrInvalid saying %q", got, err, tt.wantInMessage)
			}
		})
	}
}

func TestOpenInPlaceOpensWhatSealSealed(t *testing.T) {
	s := NewSealer(NewAccountKey())
	for _, room := range []int{0, 1, 64} {
		for _, pt := range [][]byte{[]byte(`""`), []byte(`{"a":[1,2,3]}`), bytes.Repeat([]byte("x"), 70_000)} {
			sealed, err := s.Seal(katKind, katID, katField, pt)
			if err != nil {
				t.Fatal(err)
			}
			buf := append(make([]byte, 0, len(sealed)+room), sealed...)
			got, err := s.OpenInPlace(katKind, katID, katField, buf)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("room %d: OpenInPlace(Seal(%.20q)) = %.20q, %v", room, pt, got, err)
			}
		}
	}
}

func TestSealRejectsAmbiguousLabels(t *testing.T) {
	key := NewAccountKey()
	for _, l := range [][3]string{{"", katID, katField}, {katKind, "", katField}, {katKind, katID, ""}, {"req\x00uest", katID, katField}, {katKind, katID, "u\x00rl"}} {
		if _, err := Seal(key, l[0], l[1], l[2], []byte("1")); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Seal(%q) err = %v, want model.ErrInvalid", l, err)
		}
		if _, err := Open(key, l[0], l[1], l[2], make([]byte, 64)); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Open(%q) err = %v, want model.ErrInvalid", l, err)
		}
	}
}

func TestSealerIsSafeForConcurrentUse(t *testing.T) {
	s := NewSealer(NewAccountKey())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			pt := bytes.Repeat([]byte{byte('a' + g)}, 100+g)
			for range 200 {
				sealed, err := s.Seal(katKind, katID, katField, pt)
				if err == nil {
					var got []byte
					got, err = s.Open(katKind, katID, katField, sealed)
					if err == nil && !bytes.Equal(got, pt) {
						err = errors.New("round trip changed the value")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzOpen(f *testing.F) {
	key := AccountKey(seq(0x80, 32))
	s := NewSealer(key)
	// a fixed nonce: fuzz workers rebuild this and must get the same bytes
	good, _ := s.sealWithNonce(seq(0x40, 24), katKind, katID, katField, []byte(`"v"`))
	f.Add(good, []byte(`"v"`), katField)
	f.Add([]byte{}, []byte{}, "x")
	f.Add([]byte{1, 2, 3}, []byte(`{"a":1}`), "headers")
	f.Add(bytes.Repeat([]byte{1}, Overhead), []byte(nil), "body")
	f.Fuzz(func(t *testing.T, sealed, plaintext []byte, field string) {
		// arbitrary input never opens and never panics
		if got, err := s.Open(katKind, katID, field, sealed); err == nil && !bytes.Equal(sealed, good) {
			t.Fatalf("Open accepted forged value %x as %q", sealed, got)
		} else if err != nil && !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("err = %v, want model.ErrInvalid", err)
		}
		// and what Seal makes, Open reads back
		out, err := s.Seal(katKind, katID, field, plaintext)
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("Seal err = %v", err)
			}
			return
		}
		back, err := s.Open(katKind, katID, field, out)
		if err != nil || !bytes.Equal(back, plaintext) {
			t.Fatalf("round trip of %q: %q, %v", plaintext, back, err)
		}
	})
}
