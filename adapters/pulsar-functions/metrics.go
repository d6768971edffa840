package pulsarfunctions

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricPrefix starts every metric name, as in a Java or Go SDK instance.
const metricPrefix = "pulsar_function_"

// latencyObjectives are the quantiles of the latency summaries (a Java
// instance's).
var latencyObjectives = map[float64]float64{0.5: 0.01, 0.9: 0.01, 0.99: 0.01, 0.999: 0.01}

// metrics is the instance's Prometheus registry, its own rather than the
// global one so that nothing else linked into the binary shows up in what
// the worker scrapes. Counters read the stats, so they agree with the
// InstanceControl answers.
type metrics struct {
	reg    *prometheus.Registry
	stats  *stats
	minute *minuteSummary
}

// metricLabels are the labels of every metric, as a Java instance sets them.
func metricLabels(c *InstanceConfig) prometheus.Labels {
	return prometheus.Labels{
		"tenant":      c.Tenant,
		"namespace":   c.Tenant + "/" + c.Namespace,
		"name":        c.Name,
		"instance_id": strconv.Itoa(c.ShardID),
		"cluster":     c.ClusterName,
		"fqfn":        c.FQFN(),
	}
}

func newMetrics(s *stats, labels prometheus.Labels) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), stats: s}
	total := prometheus.NewSummary(prometheus.SummaryOpts{
		Name: metricPrefix + "process_latency_ms", Help: "Process latency in milliseconds.",
		ConstLabels: labels, Objectives: latencyObjectives,
	})
	m.minute = newMinuteSummary(prometheus.SummaryOpts{
		Name: metricPrefix + "process_latency_ms_1min", Help: "Process latency in milliseconds in the last minute.",
		ConstLabels: labels, Objectives: latencyObjectives,
	})
	s.latency = func(ms float64) {
		total.Observe(ms)
		m.minute.observe(ms)
	}
	m.reg.MustRegister(total, m.minute)
	counter := func(name, help string, get func(total, minute counts) int64, minute bool) {
		opts := prometheus.Opts{Name: metricPrefix + name, Help: help, ConstLabels: labels}
		read := func() float64 {
			t, mi, _ := s.snapshot(false)
			return float64(get(t, mi))
		}
		if minute {
			// It restarts every minute: a gauge, not a counter.
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts), read))
			return
		}
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts(opts), read))
	}
	counter("received_total", "Total number of messages received.", func(t, _ counts) int64 { return t.received }, false)
	counter("processed_successfully_total", "Total number of messages processed successfully.", func(t, _ counts) int64 { return t.processed }, false)
	counter("system_exceptions_total", "Total number of system exceptions.", func(t, _ counts) int64 { return t.systemExceptions }, false)
	counter("user_exceptions_total", "Total number of user exceptions.", func(t, _ counts) int64 { return t.userExceptions }, false)
	counter("received_total_1min", "Number of messages received in the last minute.", func(_, mi counts) int64 { return mi.received }, true)
	counter("processed_successfully_total_1min", "Number of messages processed successfully in the last minute.", func(_, mi counts) int64 { return mi.processed }, true)
	counter("system_exceptions_total_1min", "Number of system exceptions in the last minute.", func(_, mi counts) int64 { return mi.systemExceptions }, true)
	counter("user_exceptions_total_1min", "Number of user exceptions in the last minute.", func(_, mi counts) int64 { return mi.userExceptions }, true)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: metricPrefix + "last_invocation", Help: "The timestamp of the last invocation of the function, in milliseconds since the epoch.",
		ConstLabels: labels,
	}, func() float64 {
		_, _, last := s.snapshot(false)
		if last.IsZero() {
			return 0
		}
		return float64(last.UnixMilli())
	}))
	return m
}

// resetMinute starts a new minute for the 1-minute metrics and returns the
// counters as they were.
func (m *metrics) resetMinute() (total, minute counts) {
	total, minute, _ = m.stats.snapshot(true)
	m.minute.reset()
	return total, minute
}

// handler serves the registry at / and /metrics: the worker scrapes the
// root path.
func (m *metrics) handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /metrics", h)
	return mux
}

// minuteSummary is a summary that starts afresh every minute: a
// prometheus.Summary cannot be reset, so it is replaced.
type minuteSummary struct {
	opts prometheus.SummaryOpts
	mu   sync.Mutex
	cur  prometheus.Summary
}

func newMinuteSummary(opts prometheus.SummaryOpts) *minuteSummary {
	return &minuteSummary{opts: opts, cur: prometheus.NewSummary(opts)}
}

func (m *minuteSummary) current() prometheus.Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

func (m *minuteSummary) observe(v float64)                   { m.current().Observe(v) }
func (m *minuteSummary) Describe(ch chan<- *prometheus.Desc) { m.current().Describe(ch) }
func (m *minuteSummary) Collect(ch chan<- prometheus.Metric) { m.current().Collect(ch) }

func (m *minuteSummary) reset() {
	s := prometheus.NewSummary(m.opts)
	m.mu.Lock()
	m.cur = s
	m.mu.Unlock()
}
