package httprun

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/courierapp/courier/model"
)

// tracer measures the phases of an exchange. With redirects, the DNS,
// connect and TLS times add up over the chain and the first byte is the
// final response's.
type tracer struct {
	mu                            sync.Mutex
	start                         time.Time
	dnsStart, connStart, tlsStart time.Time
	dns, connect, tls             time.Duration
	firstByte                     time.Time
}

func newTracer() *tracer { return &tracer{start: time.Now()} }

// with returns ctx carrying the trace hooks.
func (t *tracer) with(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.mark(&t.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { t.add(&t.dns, &t.dnsStart) },
		// Several connects may run at once (IPv6 and IPv4): the phase lasts
		// from the first start to the first success.
		ConnectStart: func(string, string) { t.mark(&t.connStart) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.add(&t.connect, &t.connStart)
			}
		},
		TLSHandshakeStart:    func() { t.mark(&t.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.add(&t.tls, &t.tlsStart) },
		GotFirstResponseByte: func() { t.mu.Lock(); t.firstByte = time.Now(); t.mu.Unlock() },
	})
}

// mark records the start of a phase unless one is running.
func (t *tracer) mark(start *time.Time) {
	t.mu.Lock()
	if start.IsZero() {
		*start = time.Now()
	}
	t.mu.Unlock()
}

// add ends a running phase.
func (t *tracer) add(d *time.Duration, start *time.Time) {
	t.mu.Lock()
	if !start.IsZero() {
		*d += time.Since(*start)
		*start = time.Time{}
	}
	t.mu.Unlock()
}

// timings returns the figures, the total ending now.
func (t *tracer) timings() model.Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	tm := model.Timings{DNS: t.dns, Connect: t.connect, TLS: t.tls, Total: time.Since(t.start)}
	if !t.firstByte.IsZero() {
		tm.FirstByte = t.firstByte.Sub(t.start)
	}
	return tm
}
