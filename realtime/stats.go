package realtime

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
	"github.com/socketio-go/chatserver/realtime/internal/redisadapter"
)

// Stats is a snapshot of the server's counters, for a metrics exporter
// (package metrics). Counters only grow; Open, Pending, Sockets, Rooms and
// Members are current values.
type Stats struct {
	Sessions        []SessionCount // by transport and protocol
	Upgrades        uint64         // polling sessions moved to WebSocket
	Errors          []ErrorCount   // Engine.IO error answers
	Closes          map[string]uint64
	BytesReceived   uint64
	BytesSent       uint64
	PacketsReceived uint64 // Engine.IO packets, of every type
	PacketsSent     uint64
	VolatileDropped uint64
	Pending         int // connections not yet in a namespace
	Namespaces      []NamespaceStats
}

// SessionCount is the Engine.IO sessions of one transport ("polling",
// "websocket") and protocol (3 or 4).
type SessionCount struct {
	Transport  string
	Protocol   int
	Open       int64  // open now, by the transport they use now
	Handshakes uint64 // opened so far, by the transport they opened on
}

// ErrorCount is how many requests got one Engine.IO error code (0–5) with
// one HTTP status.
type ErrorCount struct {
	Code, Status int
	Count        uint64
}

// NamespaceStats is one namespace on this node.
type NamespaceStats struct {
	Name        string
	Sockets     int
	Connects    uint64
	Rooms       int
	Members     int
	AckTimeouts uint64
	Events      []EventCount // by name: the app's events, and OtherEvent
	// Redis is set in cluster mode: the adapter's messages.
	Redis *RedisStats
}

// OtherEvent is the name under which events from clients that the app has
// no handler for are counted, so that clients cannot add names.
const OtherEvent = "(other)"

// EventCount is the events of one name received from clients and emitted
// to them (an emission to a room counts once).
type EventCount struct {
	Name     string
	Received uint64
	Sent     uint64
}

// RedisStats are a namespace adapter's Redis messages.
type RedisStats struct {
	Published, PublishFailed, Received uint64
}

// closeLabels names engineio's close reasons for monitoring (Socket.IO
// folds a slow client into "transport error"; operators want it apart).
var closeLabels = map[engineio.Reason]string{
	engineio.ReasonTransportClose: "transport_close",
	engineio.ReasonTransportError: "transport_error",
	engineio.ReasonParseError:     "parse_error",
	engineio.ReasonPingTimeout:    "ping_timeout",
	engineio.ReasonForcedClose:    "forced_close",
	engineio.ReasonServerShutdown: "server_shutdown",
	engineio.ReasonSlowClient:     "slow_client",
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	es := s.io.Engine().Stats()
	st := Stats{
		Upgrades: es.Upgrades, BytesReceived: es.BytesReceived, BytesSent: es.BytesSent,
		PacketsReceived: es.PacketsReceived, PacketsSent: es.PacketsSent,
		VolatileDropped: es.VolatileDropped, Pending: s.io.Pending(),
		Closes: make(map[string]uint64, len(closeLabels)),
	}
	for t, transport := range [...]string{engineio.StatsPolling: "polling", engineio.StatsWebSocket: "websocket"} {
		for v, proto := range [...]int{3, 4} {
			st.Sessions = append(st.Sessions, SessionCount{Transport: transport, Protocol: proto,
				Open: es.Sessions[t][v], Handshakes: es.Handshakes[t][v]})
		}
	}
	for _, e := range es.Errors {
		st.Errors = append(st.Errors, ErrorCount{Code: int(e.Code), Status: e.Status, Count: e.Count})
	}
	for r, n := range es.Closes {
		if l, ok := closeLabels[r]; ok {
			st.Closes[l] += n
		}
	}
	s.mu.Lock()
	nsps := make([]*Namespace, 0, len(s.namespaces))
	for _, n := range s.namespaces {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	sort.Slice(nsps, func(i, j int) bool { return nsps[i].Name() < nsps[j].Name() })
	for _, n := range nsps {
		ns := n.nsp.Stats()
		out := NamespaceStats{Name: n.Name(), Sockets: ns.Sockets, Connects: ns.Connects,
			Rooms: ns.Rooms, Members: ns.Members, AckTimeouts: ns.AckTimeouts, Events: n.events.snapshot()}
		if ra, ok := n.nsp.Adapter().(*redisadapter.Adapter); ok {
			p, f, r := ra.Stats()
			out.Redis = &RedisStats{Published: p, PublishFailed: f, Received: r}
		}
		st.Namespaces = append(st.Namespaces, out)
	}
	return st
}

// eventCounter counts one event name.
type eventCounter struct{ received, sent atomic.Uint64 }

// eventTable counts a namespace's events by name. Names come from the
// app's code (On, Emit), never from a client, so the table stays small;
// handlers look their counter up once, when they are registered.
type eventTable struct {
	mu     sync.RWMutex
	byName map[string]*eventCounter
	other  eventCounter
}

func (t *eventTable) counter(name string) *eventCounter {
	t.mu.RLock()
	c := t.byName[name]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c = t.byName[name]; c == nil {
		if t.byName == nil {
			t.byName = map[string]*eventCounter{}
		}
		c = &eventCounter{}
		t.byName[name] = c
	}
	return c
}

func (t *eventTable) snapshot() []EventCount {
	t.mu.RLock()
	out := make([]EventCount, 0, len(t.byName)+1)
	for name, c := range t.byName {
		out = append(out, EventCount{Name: name, Received: c.received.Load(), Sent: c.sent.Load()})
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return append(out, EventCount{Name: OtherEvent, Received: t.other.received.Load()})
}
