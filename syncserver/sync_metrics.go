package syncserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncMetrics are the sync endpoint's metrics, on the server's registry.
type syncMetrics struct {
	conns       prometheus.Gauge
	closes      *prometheus.CounterVec
	pushes      prometheus.Counter
	ops         *prometheus.CounterVec
	changes     prometheus.Counter
	pushLatency prometheus.Histogram
	fanout      prometheus.Histogram
	behind      prometheus.Histogram
	compactions prometheus.Histogram
	dropped     prometheus.Counter
}

func newSyncMetrics(reg *prometheus.Registry) *syncMetrics {
	m := &syncMetrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "courier_sync_connections", Help: "Open sync connections (past hello).",
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_sync_closes_total", Help: "Sync connections closed, by close code.",
		}, []string{"code"}),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "courier_sync_pushes_total", Help: "Push frames committed.",
		}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_sync_ops_total", Help: "Pushed ops, applied or duplicate (applied before).",
		}, []string{"result"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "courier_sync_changes_sent_total", Help: "Changes written to sync connections.",
		}),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "courier_sync_push_commit_seconds", Help: "Time to commit a push durably (group commit included).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "courier_sync_lag_seconds", Help: "Time from a push's commit until a connection has written the changes up to it.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5, 30},
		}),
		behind: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "courier_sync_lag_seqs", Help: "How many seqs a connection was behind the head when it read a page.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		compactions: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "courier_sync_compaction_seconds", Help: "Time to record a device's cursor and compact its account's log.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "courier_sync_log_entries_dropped_total", Help: "Log entries (with their op ids) dropped by compactions.",
		}),
	}
	reg.MustRegister(m.conns, m.closes, m.pushes, m.ops, m.changes, m.pushLatency, m.fanout, m.behind, m.compactions, m.dropped)
	return m
}

// compacted counts a compaction that took d.
func (m *syncMetrics) compacted(res CompactResult, d time.Duration) {
	m.compactions.Observe(d.Seconds())
	m.dropped.Add(float64(res.Dropped))
}
