// Package metrics exports reprise's handshake outcomes and a Config's
// counters in the Prometheus text format, with the Prometheus client
// library. The reprise package keeps its own lock-free counters and does
// not import this one; a Collector reads them when it is scraped.
//
//	m := metrics.New(cfg)        // before the Config is used
//	prometheus.MustRegister(m)   // or m.Handler() on its own
//	http.Handle("/metrics", m.Handler())
package metrics

import (
	"errors"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/reprise-tls/reprise"
)

// Collector is a prometheus.Collector for one reprise Config.
type Collector struct {
	counters *reprise.Counters

	handshakes *prometheus.CounterVec
	failures   *prometheus.CounterVec
	latency    *prometheus.HistogramVec

	regOnce sync.Once
	reg     *prometheus.Registry
}

// New returns a Collector for cfg and installs it as cfg.OnHandshake,
// calling any hook already there too. Call it before cfg is first used.
func New(cfg *reprise.Config) *Collector {
	m := &Collector{
		counters: cfg.Counters(),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reprise_handshakes_total",
			Help: "Completed TLS handshakes by role, protocol version and how they resumed (none, session-id, ticket, psk).",
		}, []string{"role", "version", "resumption"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reprise_handshake_failures_total",
			Help: "Failed TLS handshakes by role and the alert that ended them (none when the transport failed first).",
		}, []string{"role", "alert"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reprise_handshake_duration_seconds",
			Help:    "Duration of completed TLS handshakes, from the first message to the last, by role, version and resumption.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"role", "version", "resumption"}),
	}
	prev := cfg.OnHandshake
	cfg.OnHandshake = func(r reprise.HandshakeResult) {
		m.Observe(r)
		if prev != nil {
			prev(r)
		}
	}
	return m
}

// Observe records one handshake's outcome. New installs it as the Config's
// OnHandshake; call it directly to feed a Collector from another hook.
func (m *Collector) Observe(r reprise.HandshakeResult) {
	role := "server"
	if r.Client {
		role = "client"
	}
	if r.Err != nil {
		alert := "none"
		var ae *reprise.AlertError
		if errors.As(r.Err, &ae) {
			alert = ae.Alert.String()
		}
		m.failures.WithLabelValues(role, alert).Inc()
		return
	}
	version := reprise.VersionName(r.State.Version)
	resumption := string(r.State.Resumption)
	if resumption == "" {
		resumption = string(reprise.ResumedNone)
	}
	m.handshakes.WithLabelValues(role, version, resumption).Inc()
	m.latency.WithLabelValues(role, version, resumption).Observe(r.Duration.Seconds())
}

// counterDescs describe the Config's counters, read at each scrape.
var (
	descAccept       = prometheus.NewDesc("reprise_server_handshakes_started_total", "Server handshakes started (OpenSSL's accept).", nil, nil)
	descAcceptGood   = prometheus.NewDesc("reprise_server_handshakes_completed_total", "Server handshakes completed (accept_good).", nil, nil)
	descHits         = prometheus.NewDesc("reprise_server_resumptions_total", "Sessions the server resumed, by any means (hits).", nil, nil)
	descResumedBy    = prometheus.NewDesc("reprise_server_resumptions_by_kind_total", "Server resumptions by TLS 1.2 ticket or TLS 1.3 PSK.", []string{"kind"}, nil)
	descMisses       = prometheus.NewDesc("reprise_session_cache_misses_total", "Offered session IDs the session cache did not hold.", nil, nil)
	descTimeouts     = prometheus.NewDesc("reprise_session_cache_expired_total", "Offered sessions found but past their lifetime (timeouts).", nil, nil)
	descCacheFull    = prometheus.NewDesc("reprise_session_cache_evictions_total", "Sessions evicted because the cache was full (cache_full).", nil, nil)
	descCallbackHits = prometheus.NewDesc("reprise_session_cache_callback_hits_total", "Sessions found by the GetSession callback (cb_hits).", nil, nil)
	descRefusals     = prometheus.NewDesc("reprise_resumption_refusals_total", "Offered sessions not resumed, by reason (store outages included, under their own reasons).", []string{"reason"}, nil)
	descStore        = prometheus.NewDesc("reprise_session_store_failures_total", "SessionStore calls that failed, by kind (error, timeout); each costs a full handshake or a session not kept.", []string{"kind"}, nil)
	descIssued       = prometheus.NewDesc("reprise_tickets_issued_total", "Session tickets issued (TLS 1.2 and TLS 1.3).", nil, nil)
	descOpened       = prometheus.NewDesc("reprise_tickets_opened_total", "Tickets opened, by the age of the key that opened them: current, or older (then reissued).", []string{"key"}, nil)
	descConnect      = prometheus.NewDesc("reprise_client_handshakes_started_total", "Client handshakes started (connect).", nil, nil)
	descConnectGood  = prometheus.NewDesc("reprise_client_handshakes_completed_total", "Client handshakes completed (connect_good).", nil, nil)
	descConnectRes   = prometheus.NewDesc("reprise_client_resumptions_total", "Client handshakes that resumed (connect_resumed).", nil, nil)
	descEarly        = prometheus.NewDesc("reprise_early_data_total", "TLS 1.3 0-RTT early data offered to the server, by outcome: accepted, or the reason it was rejected (replayed: the anti-replay register had seen the ClientHello).", []string{"outcome"}, nil)
	descPHA          = prometheus.NewDesc("reprise_post_handshake_auths_total", "Client certificates asked for after the handshake and answered (TLS 1.2 renegotiation, TLS 1.3 post-handshake auth).", nil, nil)
	descRenegRefused = prometheus.NewDesc("reprise_renegotiations_refused_total", "TLS 1.2 renegotiations refused with a no_renegotiation warning (client-initiated on a server).", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	m.handshakes.Describe(ch)
	m.failures.Describe(ch)
	m.latency.Describe(ch)
	for _, d := range []*prometheus.Desc{descAccept, descAcceptGood, descHits, descResumedBy, descMisses, descTimeouts,
		descCacheFull, descCallbackHits, descRefusals, descStore, descIssued, descOpened, descConnect, descConnectGood, descConnectRes, descEarly,
		descPHA, descRenegRefused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the handshake metrics, and a
// snapshot of the Config's counters.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	m.handshakes.Collect(ch)
	m.failures.Collect(ch)
	m.latency.Collect(ch)
	s := m.counters.Snapshot()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descAccept, s.Accept)
	counter(descAcceptGood, s.AcceptGood)
	counter(descHits, s.Hits)
	counter(descResumedBy, s.TicketResumed, "ticket")
	counter(descResumedBy, s.PSKResumed, "psk")
	counter(descMisses, s.Misses)
	counter(descTimeouts, s.Timeouts)
	counter(descCacheFull, s.CacheFull)
	counter(descCallbackHits, s.CallbackHits)
	for _, reason := range s.RefusalNames() {
		counter(descRefusals, s.Refusals[reason], reason)
	}
	counter(descStore, s.StoreErrors, "error")
	counter(descStore, s.StoreTimeouts, "timeout")
	counter(descIssued, s.TicketsIssued)
	counter(descOpened, s.TicketsOpened, "current")
	counter(descOpened, s.TicketsStale, "older")
	counter(descConnect, s.Connect)
	counter(descConnectGood, s.ConnectGood)
	counter(descConnectRes, s.ConnectResumed)
	counter(descEarly, s.EarlyDataAccepted, "accepted")
	for reason, n := range s.EarlyDataRejected {
		counter(descEarly, n, reason)
	}
	counter(descPHA, s.PostHandshakeAuths)
	counter(descRenegRefused, s.RenegotiationsRefused)
}

// Handler serves the Collector alone (with Go runtime and process metrics)
// in the Prometheus text format.
func (m *Collector) Handler() http.Handler {
	m.regOnce.Do(func() {
		m.reg = prometheus.NewRegistry()
		m.reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	})
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
