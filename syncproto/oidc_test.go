package syncproto_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

func TestValidateLoopbackRedirect(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"http://127.0.0.1:8765/callback", true},
		{"http://[::1]:8765/callback", true},
		{"http://127.0.0.1/callback", false},          // no port
		{"http://localhost:8765/callback", false},     // a name, not an IP literal (RFC 8252 8.3)
		{"https://127.0.0.1:8765/callback", false},    // loopback is plain http
		{"http://10.0.0.2:8765/callback", false},      // not loopback
		{"http://127.0.0.1:8765/other", false},        // wrong path
		{"http://127.0.0.1:8765/callback?x=1", false}, // a query
		{"http://127.0.0.1:8765/callback#f", false},   // a fragment
		{"http://u:p@127.0.0.1:8765/callback", false}, // user info
		{"http://127.0.0.1:99999/callback", false},    // bad port
		{"http://127.0.0.1:08765/callback", false},    // a port not in its plain form
		{"HTTP://127.0.0.1:8765/callback", false},     // not as the provider will compare it
		{"http://127.0.0.1:8765/callback" + strings.Repeat("x", 300), false},
		{"", false},
	}
	for _, tt := range tests {
		err := syncproto.ValidateLoopbackRedirect(tt.uri)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, model.ErrInvalid)) {
			t.Errorf("ValidateLoopbackRedirect(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
		}
	}
}

func TestValidateProviderName(t *testing.T) {
	for name, ok := range map[string]bool{"google": true, "corp-sso2": true, "": false, "Google": false, "1corp": false, "a/b": false, strings.Repeat("a", 33): false} {
		if err := syncproto.ValidateProviderName(name); (err == nil) != ok {
			t.Errorf("ValidateProviderName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestOIDCRequestsValidate(t *testing.T) {
	long := strings.Repeat("x", syncproto.MaxOIDCParamLen+1)
	if err := (syncproto.OIDCFinishRequest{State: "s", Code: "c"}).Validate(); err != nil {
		t.Fatalf("good finish: %v", err)
	}
	for _, r := range []syncproto.OIDCFinishRequest{{Code: "c"}, {State: "s"}, {State: long, Code: "c"}, {State: "s", Code: long}} {
		if err := r.Validate(); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("finish %+v: err = %v, want ErrInvalid", r, err)
		}
	}
	if err := (syncproto.OIDCSignUpRequest{Ticket: "t", Username: "ada"}).Validate(); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("sign-up without credentials: err = %v, want ErrInvalid", err)
	}
}

func FuzzValidateLoopbackRedirect(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8765/callback", "http://[::1]:1/callback", "http://127.0.0.1:0/callback", "http://%31/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if syncproto.ValidateLoopbackRedirect(s) == nil && !strings.HasPrefix(s, "http://") {
			t.Fatalf("accepted %q", s)
		}
	})
}
