package main

import (
	"io"
	"strings"
	"testing"

	"github.com/courierapp/courier/syncserver"
)

func TestOIDCFlagsAreRepeatableAndReadFromTheEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    []string // provider names
		wantErr string
	}{
		{"two flags", []string{"--oidc", "google=id,sec", "--oidc", "corp=https://id.corp.example,cid,csec"}, "", []string{"google", "corp"}, ""},
		{"env entries separated by ;", nil, "google=,id,sec; corp=https://id.corp.example,cid,csec", []string{"google", "corp"}, ""},
		{"flag beats env", []string{"--oidc", "google=id,sec"}, "corp=https://id.corp.example,cid,csec", []string{"google"}, ""},
		{"a missing secret is refused", []string{"--oidc", "corp=https://id.corp.example,cid"}, "", nil, "NAME=ISSUER"},
		{"a bad env entry is refused", nil, "corp=http://id.corp.example,cid,csec", nil, "COURIER_OIDC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Main{Stderr: io.Discard}
			err := m.ParseFlags(tt.args, func(k string) string {
				if k == "COURIER_OIDC" {
					return tt.env
				}
				return ""
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range m.OIDC {
				got = append(got, p.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("providers = %v, want %v", got, tt.want)
			}
			if m.OIDC[0].Name == "google" && m.OIDC[0].Issuer != syncserver.GoogleIssuer {
				t.Fatalf("google preset issuer = %q", m.OIDC[0].Issuer)
			}
		})
	}
}
