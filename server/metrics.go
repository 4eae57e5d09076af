package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/internal/logctx"
	"github.com/onecse/onecse/internal/version"
	"github.com/onecse/onecse/notify"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// metrics are the Prometheus metrics of one Server, in its own registry
// (no global state: two servers in one process have two sets).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commit   *prometheus.HistogramVec
	groupTxs prometheus.Histogram
	fsync    *prometheus.HistogramVec
	update   *prometheus.HistogramVec
	// types maps the content key of each resource type ("m2m:ae") to its
	// label ("ae"), so that only known types become label values.
	types map[string]string
}

// requestBuckets span the cached RETRIEVE (tens of µs) to a CREATE waiting
// for an fsync on a slow disk and a forwarded request.
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), types: map[string]string{}}
	for _, ty := range resource.Supported() {
		k := resource.Key(ty)
		m.types[k] = strings.TrimPrefix(k, "m2m:")
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onecse_requests_total",
		Help: "Requests handled by the core, by operation, resource type (of the CREATE, or of the resource in the answer; empty when neither), binding and oneM2M response status code.",
	}, []string{"operation", "resource_type", "binding", "rsc"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onecse_request_duration_seconds",
		Help:    "Time the core took to answer a request (from the binding handing it over to the response), by operation and binding.",
		Buckets: requestBuckets,
	}, []string{"operation", "binding"})
	m.commit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onecse_store_commit_duration_seconds",
		Help:    "Time of one group commit of the embedded store, from the start of its SQL transaction to its commit, without the fsync.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 12),
	}, []string{"result"})
	m.groupTxs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "onecse_store_commit_transactions",
		Help:    "Transactions carried by one group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.fsync = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onecse_store_fsync_duration_seconds",
		Help:    "Time of one fsync of the write-ahead log (sync=full).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
	}, []string{"result"})
	m.update = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onecse_store_transaction_duration_seconds",
		Help:    "Time of one read-write transaction of the store as its caller sees it: waiting for its group, the commit and the fsync.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
	}, []string{"result"})
	v := version.Get()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "onecse_build_info",
		Help:        "Version and commit of the running onecse (always 1).",
		ConstLabels: prometheus.Labels{"version": v.Version, "commit": v.Commit, "goversion": v.Go},
	})
	info.Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.commit, m.groupTxs, m.fsync, m.update, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func result(ok bool) string {
	if ok {
		return "ok"
	}
	return "error"
}

// The store's Observer.

func (m *metrics) Commit(txs int, d time.Duration, ok bool) {
	m.commit.WithLabelValues(result(ok)).Observe(d.Seconds())
	m.groupTxs.Observe(float64(txs))
}

func (m *metrics) Sync(d time.Duration, err error) {
	m.fsync.WithLabelValues(result(err == nil)).Observe(d.Seconds())
}

func (m *metrics) Update(d time.Duration, err error) {
	m.update.WithLabelValues(result(err == nil)).Observe(d.Seconds())
}

// watch adds the gauges and counters read at scrape time: registered AEs and
// CSEs (counted in the store, so right after a restart), the notification
// queue and the delivery counters.
func (m *metrics) watch(st inspectableStore, core *cse.CSE, n *notify.Service, log *slog.Logger) {
	base := core.CSEBase().RI
	count := func(ty int) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := st.CountChildren(ctx, base, ty)
			if err != nil {
				log.Debug("metrics: counting resources", "ty", ty, "err", err)
				return -1
			}
			return float64(c)
		}
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecse_registered_aes", Help: "AEs registered with this CSE (-1 when the store cannot be read)."}, count(resource.TyAE)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecse_registered_cses", Help: "<remoteCSE> resources under the CSEBase: the CSEs registered with this CSE and, on an MN- or ASN-CSE, its registrar (-1 when the store cannot be read)."}, count(resource.TyRemoteCSE)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecse_notification_outbox_entries", Help: "Changes in the durable outbox whose notifications are not all delivered or dropped yet (-1 when the store cannot be read)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := st.OutboxLen(ctx)
			if err != nil {
				return -1
			}
			return float64(c)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecse_notifications_pending", Help: "Notifications read from the outbox and waiting for delivery (in memory)."}, func() float64 { return float64(n.Stats().Pending) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecse_notification_requests_total", Help: "NOTIFY requests sent to notification targets (each attempt; a batch counts once)."}, func() float64 { return float64(n.Stats().Sent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecse_notification_request_failures_total", Help: "NOTIFY requests that got no answer or an unsuccessful one."}, func() float64 { return float64(n.Stats().FailedAttempts) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecse_notifications_delivered_total", Help: "Notifications delivered (answered with success)."}, func() float64 { return float64(n.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecse_notifications_dropped_total", Help: "Notifications dropped after their last failed attempt."}, func() float64 { return float64(n.Stats().Dropped) }),
	)
}

// resourceType is the label of the resource type a request is about: the
// type of a CREATE, or of the resource its answer carries.
func (m *metrics) resourceType(req *primitive.Request, resp *primitive.Response) string {
	if req.Op == primitive.OpCreate && req.Ty != 0 {
		return m.types[resource.Key(req.Ty)]
	}
	if len(resp.PC) == 1 {
		for k := range resp.PC {
			return m.types[k]
		}
	}
	return ""
}

func operation(op primitive.Operation) string {
	if op < primitive.OpCreate || op > primitive.OpNotify {
		return "invalid"
	}
	return strings.ToLower(op.String())
}

// instrumented is the core as each binding sees it: the one place every
// request passes, whatever binding it came through. It counts and times the
// request and puts its identifier and originator into the context, so that
// every line logged while it is handled carries them.
type instrumented struct {
	core    *cse.CSE
	binding string
	m       *metrics
	log     *slog.Logger
}

func (h *instrumented) Handle(ctx context.Context, req *primitive.Request) *primitive.Response {
	start := time.Now()
	ctx = logctx.WithAttrs(ctx, slog.String("rqi", req.RQI), slog.String("originator", req.From), slog.String("binding", h.binding))
	resp := h.core.Handle(ctx, req)
	d := time.Since(start)
	op := operation(req.Op)
	h.m.requests.WithLabelValues(op, h.m.resourceType(req, resp), h.binding, strconv.Itoa(int(resp.RSC))).Inc()
	h.m.latency.WithLabelValues(op, h.binding).Observe(d.Seconds())
	if h.log.Enabled(ctx, slog.LevelDebug) { // spares making the arguments
		h.log.DebugContext(ctx, "request", "op", op, "to", req.To, "rsc", int(resp.RSC), "duration", d)
	}
	return resp
}

// health serves /healthz, /readyz and /metrics on the HTTP listener in
// front of next (the oneM2M bindings). These paths are no oneM2M addresses:
// CSE-relative addresses start with the CSEBase's name or a resource ID,
// which onecse never makes "metrics", "healthz" or "readyz".
type health struct {
	next    http.Handler
	metrics http.Handler // nil when metrics are off
	ready   func(context.Context) error
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.next.ServeHTTP(w, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	case "/readyz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := h.ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	case "/metrics":
		if h.metrics == nil {
			h.next.ServeHTTP(w, r)
			return
		}
		h.metrics.ServeHTTP(w, r)
	default:
		h.next.ServeHTTP(w, r)
	}
}

// readiness: the listeners serve (between Start and Shutdown) and the store
// answers a query.
type readiness struct {
	state atomic.Int32 // 0 not started, 1 serving, 2 stopping
}

var (
	errStarting = errors.New("starting")
	errStopping = errors.New("shutting down")
)

func (s *Server) ready(ctx context.Context) error {
	switch s.readiness.state.Load() {
	case 0:
		return errStarting
	case 2:
		return errStopping
	}
	if err := s.st.Ping(ctx); err != nil {
		return errors.New("store: " + err.Error())
	}
	return nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
