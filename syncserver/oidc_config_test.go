package syncserver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncserver"
)

func TestParseOIDCFlag(t *testing.T) {
	tests := []struct {
		name, in        string
		issuer, id, sec string
		bad             bool
	}{
		{"google preset with two fields", "google=ID,s3kr1t", syncserver.GoogleIssuer, "ID", "s3kr1t", false},
		{"google preset with an empty issuer", "google=,ID,s3kr1t", syncserver.GoogleIssuer, "ID", "s3kr1t", false},
		{"any provider with its issuer", "corp=https://login.corp.example/realm,ID,s3kr1t", "https://login.corp.example/realm", "ID", "s3kr1t", false},
		{"plain http on loopback", "dev=http://127.0.0.1:5556,ID,s3kr1t", "http://127.0.0.1:5556", "ID", "s3kr1t", false},
		{"plain http elsewhere is refused", "corp=http://login.corp.example,ID,s3kr1t", "", "", "", true},
		{"two fields need the google preset", "corp=ID,s3kr1t", "", "", "", true},
		{"an empty issuer needs the google preset", "corp=,ID,s3kr1t", "", "", "", true},
		{"no name is refused", "ID,s3kr1t", "", "", "", true},
		{"a bad name is refused", "Corp_1=https://x.example,ID,s3kr1t", "", "", "", true},
		{"an empty secret is refused", "google=ID,", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := syncserver.ParseOIDCFlag(tt.in)
			if tt.bad {
				if !errors.Is(err, model.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				if strings.Contains(err.Error(), "s3kr1t") {
					t.Fatalf("error %q shows the secret", err)
				}
				return
			}
			if err != nil || p.Issuer != tt.issuer || p.ClientID != tt.id || p.ClientSecret != tt.sec {
				t.Fatalf("ParseOIDCFlag(%q) = %+v, %v", tt.in, p, err)
			}
		})
	}
}

func FuzzParseOIDCFlag(f *testing.F) {
	for _, s := range []string{"google=ID,s3kr1t", "corp=https://x.example,ID,s3kr1t", "=,,", "a=b=c,d,e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := syncserver.ParseOIDCFlag(s)
		if err == nil && (p.ClientID == "" || p.ClientSecret == "" || p.Issuer == "") {
			t.Fatalf("accepted %q as %+v", s, p)
		}
	})
}
