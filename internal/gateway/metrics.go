package gateway

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatd/chatd/internal/store"
)

// metrics are the gateway's Prometheus series. Labels hold provider and
// configured model names, status codes and client names, all from small
// sets an administrator controls, never a credential. A nil
// *metrics records nothing.
type metrics struct {
	total    *prometheus.CounterVec
	inFlight prometheus.Gauge
	duration *prometheus.HistogramVec
	ttfb     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	m := &metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "chatd", Subsystem: "gateway", Name: "interceptions_total",
			Help: "Model calls through the gateway.",
		}, []string{"provider", "model", "status", "client"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "chatd", Subsystem: "gateway", Name: "in_flight",
			Help: "Gateway requests being served.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "chatd", Subsystem: "gateway", Name: "duration_seconds",
			Help: "Time from request to the end of the response.", Buckets: buckets,
		}, []string{"provider"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "chatd", Subsystem: "gateway", Name: "ttfb_seconds",
			Help: "Time from request to the first response body byte.", Buckets: buckets,
		}, []string{"provider"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "chatd", Subsystem: "gateway", Name: "tokens_total",
			Help: "Tokens by type (input, output, cache_read, cache_write, reasoning).",
		}, []string{"provider", "model", "type"}),
	}
	for _, c := range []prometheus.Collector{m.total, m.inFlight, m.duration, m.ttfb, m.tokens} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

func (m *metrics) end() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// modelOther is the model label of calls to a model with no config.
const modelOther = "other"

// observe counts a finished call. model is its label: a configured
// model's name or modelOther, never the caller's string as such.
func (m *metrics) observe(in *store.Interception, model string, dur time.Duration) {
	if m == nil {
		return
	}
	m.total.WithLabelValues(in.ProviderName, model, strconv.Itoa(in.Status), in.Client).Inc()
	m.duration.WithLabelValues(in.ProviderName).Observe(dur.Seconds())
	if in.TTFB > 0 {
		m.ttfb.WithLabelValues(in.ProviderName).Observe(in.TTFB.Seconds())
	}
	for _, t := range []struct {
		name string
		n    int64
	}{
		{"input", in.Usage.Input}, {"output", in.Usage.Output}, {"cache_read", in.Usage.CacheRead},
		{"cache_write", in.Usage.CacheWrite}, {"reasoning", in.Usage.Reasoning},
	} {
		if t.n > 0 {
			m.tokens.WithLabelValues(in.ProviderName, model, t.name).Add(float64(t.n))
		}
	}
}
