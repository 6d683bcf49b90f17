package syncserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/syncserver"
)

const benchWorkers = 50

// BenchmarkSignIn measures sign-ins over TLS on loopback with 50
// concurrent clients (authKeys precomputed: the client KDF is excluded),
// beside a bare HTTPS handler answering the same-size JSON in the same
// run. It reports throughput, p50/p99 latency and the process's peak RSS
// during the run (client and server share the process).
func BenchmarkSignIn(b *testing.B) {
	e := newEnv(b, withLimits(syncserver.NoLimits()), withMailer(&discardMailer{}), func(c *syncserver.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) // info level, as in production
	})
	bodies := make([][]byte, benchWorkers)
	for i := range bodies {
		pw := newPassword(fmt.Sprint("pw", i))
		name := fmt.Sprintf("bench%02d", i)
		e.createConfirmed(b, name, name+"@example.com", pw)
		bodies[i], _ = json.Marshal(syncproto.SignInRequest{Identifier: name, AuthKey: pw.creds.AuthKey, DeviceName: "bench"})
	}
	status, _, answer := e.raw("POST", syncproto.PathSignIn, "", bodies[0])
	if status != http.StatusOK {
		b.Fatalf("sign in: %d %s", status, answer)
	}
	baseURL := startBaseline(b, e, len(answer))

	b.Run("courier", func(b *testing.B) { runLoad(b, e.base+syncproto.PathSignIn, bodies, e) })
	b.Run("baseline", func(b *testing.B) { runLoad(b, baseURL, bodies, e) })
}

// startBaseline serves, with the same certificate, a handler that reads
// the body and answers a JSON object of size n.
func startBaseline(b *testing.B, e *env, n int) string {
	payload := []byte(`{"token":"` + strings.Repeat("x", n-len(`{"token":""}`)-1) + `"}` + "\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{
		ErrorLog:  log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{e.cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(payload)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	b.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/"
}

// runLoad sends b.N POSTs from benchWorkers goroutines, each on its own
// keep-alive connection (HTTP/1.1, like separate clients).
func runLoad(b *testing.B, url string, bodies [][]byte, e *env) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pool}, MaxIdleConnsPerHost: benchWorkers,
	}}
	defer client.CloseIdleConnections()
	warmUp(b, client, url, bodies)
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	stopRSS := sampleRSS()
	b.ResetTimer()
	start := time.Now()
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[w]))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	peak := stopRSS()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
}

// warmUp opens every worker's connection (TLS handshake included) before
// the clock starts, so the figures are steady-state.
func warmUp(b *testing.B, client *http.Client, url string, bodies [][]byte) {
	var wg sync.WaitGroup
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[w]))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
}

// sampleRSS polls VmRSS of this process every 10 ms until stopped and
// returns the peak in bytes.
func sampleRSS() (stop func() int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmRSS(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { cancel(); <-done; return peak.Load() }
}

func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
