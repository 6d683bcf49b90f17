package servertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/courierapp/courier/syncproto"
)

// CAPool returns a pool of the certificates in caFile (a test server's
// dev CA); a file without one fails t.
func CAPool(t testing.TB, caFile string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return pool
}

// HTTPClient returns an HTTP client that trusts only the CA of caFile; a
// failure fails t.
func HTTPClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: CAPool(t, caFile)}}}
}

// DialSync opens a sync connection, with the protocol's read limit, to
// the server at url (https://HOST) as the session of token, trusting the
// CA of caFile; a failure fails t. The caller closes it; no other
// connection outlives the call (a balancer counts them).
func DialSync(ctx context.Context, t testing.TB, url, caFile, token string) *websocket.Conn {
	t.Helper()
	hc := HTTPClient(t, caFile)
	defer hc.CloseIdleConnections()
	ws, _, err := websocket.Dial(ctx, "wss://"+strings.TrimPrefix(url, "https://")+syncproto.PathSync, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		Subprotocols: []string{syncproto.SyncSubprotocol},
	})
	if err != nil {
		t.Fatalf("open a sync connection to %s: %v", url, err)
	}
	ws.SetReadLimit(syncproto.MaxFrameSize)
	return ws
}
