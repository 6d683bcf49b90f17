package syncclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/courierapp/courier/syncproto"
)

// BenchmarkPrelogin measures one account API call over loopback TLS
// (keep-alive): .../courier through Client, .../baseline the same POST
// and decode with a bare http.Client, so the ratio is the client's
// overhead (validation, error mapping, bounded reads).
func BenchmarkPrelogin(b *testing.B) {
	ca := newTestCA(b, "ca")
	answer := syncproto.PreloginResponse{KDFSalt: make([]byte, 16), KDFParams: syncproto.DefaultKDFParams}
	url := serveTLS(b, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusOK, answer)
	}))
	ctx := context.Background()
	b.Run("courier", func(b *testing.B) {
		c, err := New(url, Options{CAFile: ca.file(b)})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.Prelogin(ctx, "ann@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		body, _ := json.Marshal(syncproto.PreloginRequest{Identifier: "ann@example.com"})
		for b.Loop() {
			resp, err := hc.Post(url+syncproto.PathPrelogin, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var out syncproto.PreloginResponse
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
