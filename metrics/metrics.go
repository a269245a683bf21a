// Package metrics exports the server's numbers in the Prometheus format:
// the Socket.IO server's counters (read from realtime.Server.Stats at each
// scrape, so the serving path only bumps atomics), the history store's
// latency, and the Go runtime and process collectors.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/realtime"
)

// Metrics is the registry a server's /metrics serves.
type Metrics struct {
	reg     *prometheus.Registry
	history *prometheus.HistogramVec
}

// New returns the registry with the Go runtime's and the process's
// collectors and the history's latency; Register adds a Socket.IO server.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		history: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chat_history_operation_seconds",
			Help:    "Time taken by history store operations (append: until the message is durable).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.history,
	)
	return m
}

// Register adds rt's counters.
func (m *Metrics) Register(rt *realtime.Server) { m.reg.MustRegister(&collector{rt: rt}) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var (
	descSessions     = prometheus.NewDesc("socketio_engine_sessions", "Engine.IO sessions open now, by current transport and protocol version.", []string{"transport", "protocol"}, nil)
	descHandshakes   = prometheus.NewDesc("socketio_engine_handshakes_total", "Engine.IO sessions opened, by the transport they opened on and protocol version.", []string{"transport", "protocol"}, nil)
	descUpgrades     = prometheus.NewDesc("socketio_engine_upgrades_total", "Polling sessions upgraded to WebSocket.", nil, nil)
	descErrors       = prometheus.NewDesc("socketio_engine_request_errors_total", "Engine.IO error answers (handshakes refused included), by Engine.IO error code and HTTP status.", []string{"code", "status"}, nil)
	descCloses       = prometheus.NewDesc("socketio_engine_closes_total", "Engine.IO sessions closed, by reason (slow_client: its write queue went over its cap).", []string{"reason"}, nil)
	descReceived     = prometheus.NewDesc("socketio_engine_received_bytes_total", "Bytes received from clients (WebSocket reads, polling request bodies).", nil, nil)
	descSent         = prometheus.NewDesc("socketio_engine_sent_bytes_total", "Bytes sent to clients (WebSocket writes, polling response bodies).", nil, nil)
	descPacketsIn    = prometheus.NewDesc("socketio_engine_received_packets_total", "Engine.IO packets received from clients, of every type (pings and pongs included).", nil, nil)
	descPacketsOut   = prometheus.NewDesc("socketio_engine_sent_packets_total", "Engine.IO packets handed to a transport to send, of every type.", nil, nil)
	descVolatile     = prometheus.NewDesc("socketio_engine_volatile_dropped_total", "Volatile packets not sent to a client that was behind.", nil, nil)
	descPending      = prometheus.NewDesc("socketio_pending_connections", "Connections that have not joined a namespace yet.", nil, nil)
	descSockets      = prometheus.NewDesc("socketio_namespace_sockets", "Sockets connected to a namespace on this node.", []string{"namespace"}, nil)
	descConnects     = prometheus.NewDesc("socketio_namespace_connections_total", "Sockets that joined a namespace on this node (recovered ones included).", []string{"namespace"}, nil)
	descRooms        = prometheus.NewDesc("socketio_rooms", "Rooms with a member on this node (a socket's own room left out).", []string{"namespace"}, nil)
	descMembers      = prometheus.NewDesc("socketio_room_members", "Room memberships of this node's sockets.", []string{"namespace"}, nil)
	descAckTimeouts  = prometheus.NewDesc("socketio_ack_timeouts_total", "Acknowledgements the server asked of clients that did not come in time.", []string{"namespace"}, nil)
	descEventsIn     = prometheus.NewDesc("socketio_events_received_total", "Events received from clients, by name (events without a handler as \"(other)\").", []string{"namespace", "event"}, nil)
	descEventsOut    = prometheus.NewDesc("socketio_events_sent_total", "Events emitted to clients, by name (an emission to a room counts once).", []string{"namespace", "event"}, nil)
	descRedisPub     = prometheus.NewDesc("socketio_redis_published_total", "Messages the Redis adapter published.", []string{"namespace"}, nil)
	descRedisPubFail = prometheus.NewDesc("socketio_redis_publish_errors_total", "Publishes of the Redis adapter that failed.", []string{"namespace"}, nil)
	descRedisRecv    = prometheus.NewDesc("socketio_redis_received_total", "Messages the Redis adapter received.", []string{"namespace"}, nil)
)

// collector turns one realtime.Stats snapshot per scrape into metrics.
type collector struct{ rt *realtime.Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descHandshakes, descUpgrades, descErrors, descCloses,
		descReceived, descSent, descPacketsIn, descPacketsOut, descVolatile, descPending, descSockets, descConnects, descRooms, descMembers,
		descAckTimeouts, descEventsIn, descEventsOut, descRedisPub, descRedisPubFail, descRedisRecv} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.rt.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, s := range st.Sessions {
		p := strconv.Itoa(s.Protocol)
		gauge(descSessions, float64(s.Open), s.Transport, p)
		counter(descHandshakes, s.Handshakes, s.Transport, p)
	}
	counter(descUpgrades, st.Upgrades)
	for _, e := range st.Errors {
		counter(descErrors, e.Count, strconv.Itoa(e.Code), strconv.Itoa(e.Status))
	}
	for reason, n := range st.Closes {
		counter(descCloses, n, reason)
	}
	counter(descReceived, st.BytesReceived)
	counter(descSent, st.BytesSent)
	counter(descPacketsIn, st.PacketsReceived)
	counter(descPacketsOut, st.PacketsSent)
	counter(descVolatile, st.VolatileDropped)
	gauge(descPending, float64(st.Pending))
	for _, n := range st.Namespaces {
		gauge(descSockets, float64(n.Sockets), n.Name)
		counter(descConnects, n.Connects, n.Name)
		gauge(descRooms, float64(n.Rooms), n.Name)
		gauge(descMembers, float64(n.Members), n.Name)
		counter(descAckTimeouts, n.AckTimeouts, n.Name)
		for _, e := range n.Events {
			counter(descEventsIn, e.Received, n.Name, e.Name)
			counter(descEventsOut, e.Sent, n.Name, e.Name)
		}
		if r := n.Redis; r != nil {
			counter(descRedisPub, r.Published, n.Name)
			counter(descRedisPubFail, r.PublishFailed, n.Name)
			counter(descRedisRecv, r.Received, n.Name)
		}
	}
}

// History wraps h so that its operations are timed in
// chat_history_operation_seconds. A StagedHistory stays one: its write is
// what the append's time measures.
func (m *Metrics) History(h chat.History) chat.History {
	t := timedHistory{h: h, hist: m.history}
	if sh, ok := h.(chat.StagedHistory); ok {
		return timedStaged{timedHistory: t, sh: sh}
	}
	return t
}

type timedHistory struct {
	h    chat.History
	hist *prometheus.HistogramVec
}

func (t timedHistory) observe(op string, start time.Time) {
	t.hist.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (t timedHistory) Append(ctx context.Context, msg chat.Message) (chat.Message, error) {
	defer t.observe("append", time.Now())
	return t.h.Append(ctx, msg)
}

func (t timedHistory) Recent(ctx context.Context, room string, limit int) ([]chat.Message, error) {
	defer t.observe("recent", time.Now())
	return t.h.Recent(ctx, room, limit)
}

func (t timedHistory) Before(ctx context.Context, room string, beforeID int64, limit int) ([]chat.Message, error) {
	defer t.observe("before", time.Now())
	return t.h.Before(ctx, room, beforeID, limit)
}

func (t timedHistory) Close() error { return t.h.Close() }

type timedStaged struct {
	timedHistory
	sh chat.StagedHistory
}

func (t timedStaged) Stage(ctx context.Context, msg chat.Message) (chat.Message, func(context.Context) error, error) {
	start := time.Now()
	msg, write, err := t.sh.Stage(ctx, msg)
	if err != nil {
		return msg, write, err
	}
	return msg, func(ctx context.Context) error {
		defer t.observe("append", start)
		return write(ctx)
	}, nil
}
