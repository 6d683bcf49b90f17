package syncserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's own Prometheus registry (no global state).
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	mail      *prometheus.CounterVec
	throttled *prometheus.CounterVec
}

func newMetrics(store Storage, extra []prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "courier_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_mail_total", Help: "Emails by kind and result (sent, failed, dropped).",
		}, []string{"kind", "result"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_rate_limited_total", Help: "Requests refused by a rate limit, by route.",
		}, []string{"route"}),
	}
	stat := func(pick func(Stats) int) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, err := store.Stats(ctx)
			if err != nil {
				return -1
			}
			return float64(pick(st))
		}
	}
	m.reg.MustRegister(m.requests, m.latency, m.mail, m.throttled,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "courier_accounts", Help: "Stored accounts."}, stat(func(s Stats) int { return s.Accounts })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "courier_sessions", Help: "Live sessions."}, stat(func(s Stats) int { return s.Sessions })),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.reg.MustRegister(extra...)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.latency.WithLabelValues(route, code).Observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		m.throttled.WithLabelValues(route).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
