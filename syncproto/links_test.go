package syncproto

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
)

func TestValidateSnapshot(t *testing.T) {
	tests := []struct {
		name, in string
		want     error // nil: valid
	}{
		{"a v2.1 collection", `{"info":{"name":"Pets","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[]}`, nil},
		{"a collection without schema", ` {"info":{"name":"Pets"},"item":[{"name":"r"}]} `, nil},
		{"an array", `[{"info":{"name":"x"}}]`, model.ErrInvalid},
		{"no info", `{"item":[]}`, model.ErrInvalid},
		{"an empty name", `{"info":{"name":"  "},"item":[]}`, model.ErrInvalid},
		{"a name of another type", `{"info":{"name":7},"item":[]}`, model.ErrInvalid},
		{"items not an array", `{"info":{"name":"x"},"item":{}}`, model.ErrInvalid},
		{"a v1 schema", `{"info":{"name":"x","schema":"https://schema.getpostman.com/json/collection/v1.0.0/collection.json"},"item":[]}`, model.ErrInvalid},
		{"invalid UTF-8", "{\"info\":{\"name\":\"\xff\"},\"item\":[]}", model.ErrInvalid},
		{"two values", `{"info":{"name":"x"},"item":[]} {}`, model.ErrInvalid},
		{"too large", `{"info":{"name":"x"},"item":[],"pad":"` + strings.Repeat("x", MaxLinkSnapshot) + `"}`, model.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := ValidateSnapshot([]byte(tt.in))
			if tt.want == nil && (err != nil || name == "") || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("ValidateSnapshot = %q, %v; want %v", name, err, tt.want)
			}
		})
	}
}

func TestLinkRequestExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := []byte(`{"info":{"name":"x"},"item":[]}`)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, tt := range []struct {
		name string
		r    CreateLinkRequest
		ok   bool
	}{
		{"no expiry", CreateLinkRequest{Collection: snap}, true},
		{"an hour away", CreateLinkRequest{Collection: snap, ExpiresAt: at(time.Hour)}, true},
		{"now", CreateLinkRequest{Collection: snap, ExpiresAt: at(0)}, false},
		{"past the longest", CreateLinkRequest{Collection: snap, ExpiresAt: at(MaxLinkTTL + time.Hour)}, false},
		{"a source with a space", CreateLinkRequest{Collection: snap, Source: "a b"}, false},
	} {
		_, err := tt.r.Validate(now)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		// The message is read by people: no wire field names.
		if err != nil && (strings.Contains(err.Error(), "expires_at") || strings.Contains(err.Error(), "no_expiry")) {
			t.Errorf("%s: %q names a wire field", tt.name, err)
		}
	}
	if _, err := (UpdateLinkRequest{ExpiresAt: at(time.Hour), NoExpiry: true}).Validate(now); !errors.Is(err, model.ErrInvalid) || strings.Contains(err.Error(), "expires_at") {
		t.Errorf("expires_at with no_expiry: %v", err)
	}
}

func TestLinkTokens(t *testing.T) {
	const tok = "AAAAAAAAAAAAAAAAAAAAAA"
	if !ValidLinkToken(tok) || ValidLinkToken(tok+"A") || ValidLinkToken("AAAAAAAAAAAAAAAAAAAA+A") || ValidLinkToken("") {
		t.Fatal("ValidLinkToken accepts or refuses the wrong shapes")
	}
	for in, want := range map[string]string{
		"https://sync.example.com/c/" + tok:            tok,
		"https://sync.example.com/c/" + tok + "?x=1#y": tok,
		"https://sync.example.com/c/short":             "",
		"https://sync.example.com/v1/links/" + tok:     "",
	} {
		if got := LinkTokenFromURL(in); got != want {
			t.Errorf("LinkTokenFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzValidateSnapshot(f *testing.F) {
	f.Add([]byte(`{"info":{"name":"Pets"},"item":[]}`))
	f.Add([]byte(`{"info":{"name":"x","schema":7},"item":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := ValidateSnapshot(b)
		if err == nil && strings.TrimSpace(name) == "" {
			t.Fatalf("valid snapshot %q without a name", b)
		}
		if err != nil && !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrTooLarge) {
			t.Fatalf("error %v outside the vocabulary", err)
		}
	})
}
