package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/courierapp/courier/model"
)

func goodCreds() Credentials {
	return Credentials{
		KDFSalt:           bytes.Repeat([]byte{1}, 16),
		KDFParams:         DefaultKDFParams,
		AuthKey:           bytes.Repeat([]byte{2}, 32),
		WrappedAccountKey: bytes.Repeat([]byte{3}, 72),
	}
}

func TestSignUpRequestJSONIsFlatWithBase64Keys(t *testing.T) {
	r := SignUpRequest{Username: "ann", Email: "ann@example.com", Credentials: goodCreds(), RecoveryWrappedKey: []byte{4}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"username", "email", "kdf_salt", "kdf_params", "auth_key", "wrapped_account_key", "recovery_wrapped_key"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	if string(m["recovery_wrapped_key"]) != `"BA=="` {
		t.Errorf("recovery_wrapped_key = %s, want base64", m["recovery_wrapped_key"])
	}
	if string(m["kdf_params"]) != `{"t":3,"m":65536,"p":4}` {
		t.Errorf("kdf_params = %s", m["kdf_params"])
	}
}

func TestValidation(t *testing.T) {
	c := goodCreds()
	weak := c
	weak.KDFParams = KDFParams{T: 1, M: 65536, P: 4}
	shortKey := c
	shortKey.AuthKey = []byte{1}
	tests := []struct {
		name string
		err  error
	}{
		{"good sign-up passes", SignUpRequest{Username: "ann_1", Email: "a@b.co", Credentials: c, RecoveryWrappedKey: c.WrappedAccountKey}.Validate()},
		{"weak kdf params are refused", weak.Validate()},
		{"short auth key is refused", shortKey.Validate()},
		{"username with space is refused", ValidateUsername("an n")},
		{"username starting with dot is refused", ValidateUsername(".ann")},
		{"email without domain dot is refused", ValidateEmail("a@b")},
		{"email with CRLF is refused", ValidateEmail("a@b.co\r\nBcc: x@y.z")},
		{"device name with control char is refused", ValidateDeviceName("a\x00")},
		{"reset without recovery key when erasing is refused", ResetPasswordRequest{Email: "a@b.co", Code: "ABCDE-FGHJK", New: c, Erase: true}.Validate()},
		{"code of wrong length is refused", ValidateCode("ABC")},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOK := i == 0
			if wantOK && tt.err != nil {
				t.Fatalf("unexpected error %v", tt.err)
			}
			if !wantOK && !errors.Is(tt.err, model.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", tt.err)
			}
		})
	}
}

func TestNormalizeCodeReadsLookAlikes(t *testing.T) {
	if got := NormalizeCode(" abcde-fghio "); got != "ABCDEFGH10" {
		t.Fatalf("NormalizeCode = %q", got)
	}
	if err := ValidateCode("7kq2m-xd93f"); err != nil {
		t.Fatal(err)
	}
}

func TestErrorCodesRoundTrip(t *testing.T) {
	for _, c := range ErrorCodes {
		if c == CodeMethodNotAllowed || c == CodeUnsupportedMediaType || c == CodeInternal {
			continue // these map onto broader model errors
		}
		if got := CodeFor(&Error{Code: c}); got != c {
			t.Errorf("CodeFor(Error{%s}) = %s", c, got)
		}
	}
	if CodeRateLimited.HTTPStatus() != http.StatusTooManyRequests || CodeEmailUnconfirmed.HTTPStatus() != http.StatusForbidden {
		t.Fatal("wrong status")
	}
	var e error = &Error{Code: CodeEmailUnconfirmed, Message: "confirm first"}
	if !errors.Is(e, model.ErrUnauthorized) || !errors.Is(e, ErrEmailUnconfirmed) {
		t.Fatal("email_unconfirmed does not unwrap to ErrUnauthorized")
	}
	b, _ := json.Marshal(ErrorBody{Error: Error{Code: CodeNotFound, Message: "x", Status: 404}})
	if string(b) != `{"error":{"code":"not_found","message":"x"}}` {
		t.Fatalf("body = %s", b)
	}
}
