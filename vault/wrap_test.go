package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
)

func TestWrapMatchesKnownAnswer(t *testing.T) {
	// computed outside Go (Python cryptography, HChaCha20 by hand)
	const want = "01404142434445464748494a4b4c4d4e4f5051525354555657" +
		"b9bc3bcae65cf3cf289ad161cc7ef82cb95439e73fc1a7fa47771b81a9194ab2" +
		"aa890bfb07daaedacc6b394b1786f137"
	wrapKey := seq(0x60, 32)
	got, err := wrapWithNonce(wrapKey, seq(0x40, 24), AccountKey(seq(0x20, 32)))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "wrapped", got, want)
	ak, err := Unwrap(wrapKey, got)
	if err != nil || ak != AccountKey(seq(0x20, 32)) {
		t.Errorf("Unwrap = %x, %v", ak[:], err)
	}
}

func TestWrapRoundTripsWithPasswordAndRecoveryKeys(t *testing.T) {
	ak := NewAccountKey()
	mk := MasterKey(seq(1, 32))
	rk := NewRecoveryKey()
	for name, key := range map[string][]byte{"password": mk.WrapKey(), "recovery": rk.WrapKey()} {
		t.Run(name, func(t *testing.T) {
			w, err := Wrap(key, ak)
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != WrappedSize {
				t.Errorf("wrapped length %d, want %d", len(w), WrappedSize)
			}
			got, err := Unwrap(key, w)
			if err != nil || got != ak {
				t.Errorf("Unwrap = %v (same: %v), %v", got, got == ak, err)
			}
			w2, _ := Wrap(key, ak)
			if bytes.Equal(w, w2) {
				t.Error("two wraps of one key are identical: the nonce is not random")
			}
		})
	}
}

func TestUnwrapRefusesWrongKeyAndTampering(t *testing.T) {
	key := seq(0x60, 32)
	w, err := Wrap(key, NewAccountKey())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { c := bytes.Clone(w); c[i] ^= 1; return c }
	tests := []struct {
		name    string
		key     []byte
		wrapped []byte
		want    error
	}{
		{"wrong key", seq(0x61, 32), w, model.ErrUnauthorized},
		{"recovery key of another account", NewRecoveryKey().WrapKey(), w, model.ErrUnauthorized},
		{"flipped nonce bit", key, flip(5), model.ErrUnauthorized},
		{"flipped ciphertext bit", key, flip(30), model.ErrUnauthorized},
		{"flipped tag bit", key, flip(len(w) - 1), model.ErrUnauthorized},
		{"truncated", key, w[:len(w)-1], model.ErrUnauthorized},
		{"extended", key, append(bytes.Clone(w), 0), model.ErrUnauthorized},
		{"empty", key, nil, model.ErrUnauthorized},
		{"unknown version", key, append([]byte{2}, w[1:]...), model.ErrInvalid},
		{"short key", key[:16], w, model.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ak, err := Unwrap(tt.key, tt.wrapped)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == model.ErrUnauthorized && !strings.Contains(err.Error(), "wrong password or recovery key, or the key was tampered with") {
				t.Errorf("message %q does not explain the failure", err)
			}
			if ak != (AccountKey{}) {
				t.Error("a failed unwrap returned key bytes")
			}
		})
	}
}

func TestWrapRejectsShortKey(t *testing.T) {
	if _, err := Wrap(seq(0, 31), NewAccountKey()); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("err = %v, want model.ErrInvalid", err)
	}
}

func TestAccountKeyBytesRoundTrip(t *testing.T) {
	ak := NewAccountKey()
	got, err := AccountKeyFromBytes(ak.Bytes())
	if err != nil || got != ak {
		t.Errorf("round trip: same=%v err=%v", got == ak, err)
	}
	if ak == NewAccountKey() {
		t.Error("two new account keys are equal")
	}
	if _, err := AccountKeyFromBytes(ak.Bytes()[:31]); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("31 bytes: err = %v, want model.ErrInvalid", err)
	}
}
