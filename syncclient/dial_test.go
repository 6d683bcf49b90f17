package syncclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/vault"
)

// A connection that cannot open says why in one line, as courier send
// does, and counts as the server being unavailable (offline, retried).
func TestEngineSaysWhyItCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	cases := []struct {
		name, url string
		want      []string
	}{
		{"nothing listens", "https://" + closed, []string{"cannot connect to " + closed + ": connection refused"}},
		{"a certificate of an unknown CA", untrusted.URL, []string{"TLS: certificate signed by unknown authority", "extra CA file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := syncclient.NewEngine(syncclient.EngineConfig{
				ServerURL: c.url, Proxy: "direct", Token: "t", Key: vault.NewAccountKey(), DeviceID: "d", Store: openStore(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Once(context.Background())
			if !errors.Is(err, model.ErrUnavailable) {
				t.Fatalf("Once = %v, want the server unavailable", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Once = %q, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "WebSocket") || strings.Contains(err.Error(), "wss://") {
				t.Errorf("Once = %q, which speaks of the transport's internals", err)
			}
		})
	}
}
