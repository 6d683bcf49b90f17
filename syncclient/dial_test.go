package syncclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/courierapp/courier/internal/silent"
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
		{"a certificate of an unknown CA", untrusted.URL, []string{"the certificate of " + strings.TrimPrefix(untrusted.URL, "https://") + " is not signed by a CA this computer trusts", "extra CA file"}},
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

// A server that accepts the connection and never answers: sync says the
// server did not answer in time, naming it, and what to do.
func TestEngineSaysWhenTheServerDoesNotAnswer(t *testing.T) {
	ln := silent.Listen(t, "127.0.0.1:0") // takes connections, answers nothing
	addr := ln.Addr().String()
	e, err := syncclient.NewEngine(syncclient.EngineConfig{
		ServerURL: "https://" + addr, Proxy: "direct", Token: "t", Key: vault.NewAccountKey(), DeviceID: "d", Store: openStore(t),
		DialTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Once(context.Background())
	want := addr + " did not answer in time; check that the server is running and reachable, then try again"
	if !errors.Is(err, model.ErrUnavailable) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "time-out") {
		t.Fatalf("Once = %q, want it to say %q", err, want)
	}
}
