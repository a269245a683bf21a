package engineio

import (
	"net/http"
	"sync/atomic"
)

// The server's counters, for monitoring: plain atomics bumped where the
// event happens (once per session, request, close, packet received, batch
// handed to a transport or socket write, never per receiver of a
// broadcast), read by Stats.

// Transports and protocol versions, as Stats indexes them.
const (
	StatsPolling   = 0
	StatsWebSocket = 1
)

// Stats is a snapshot of the server's counters. Arrays are indexed
// [StatsPolling or StatsWebSocket][0 for Engine.IO v3, 1 for v4].
type Stats struct {
	Sessions   [2][2]int64  // open now, by current transport
	Handshakes [2][2]uint64 // sessions opened, by the transport they opened on
	Upgrades   uint64       // polling sessions moved to WebSocket
	// Errors are the error answers, by Engine.IO code and HTTP status.
	Errors []ErrorCount
	// Closes counts the sessions closed, by Reason.
	Closes          map[Reason]uint64
	BytesReceived   uint64 // from clients: WebSocket bytes read, polling bodies
	BytesSent       uint64 // to clients: WebSocket bytes written, polling bodies
	PacketsReceived uint64 // Engine.IO packets from clients, of every type
	PacketsSent     uint64 // Engine.IO packets handed to a transport to send, of every type
	VolatileDropped uint64 // volatile messages not sent to a client that is behind
}

// ErrorCount is how many answers had one code and status.
type ErrorCount struct {
	Code   ErrorCode
	Status int
	Count  uint64
}

// errorStatuses are the HTTP statuses errors are answered with; an index
// into counters.errors.
var errorStatuses = [...]int{
	http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge,
	http.StatusTooManyRequests, http.StatusServiceUnavailable,
}

const numReasons = int(ReasonSlowClient) + 1

type counters struct {
	sessions   [2][2]atomic.Int64
	handshakes [2][2]atomic.Uint64
	upgrades   atomic.Uint64
	errors     [ErrUnsupportedProtocol + 1][len(errorStatuses)]atomic.Uint64
	closes     [numReasons]atomic.Uint64
	received   atomic.Uint64
	sent       atomic.Uint64
	packetsIn  atomic.Uint64
	packetsOut atomic.Uint64
	volatile   atomic.Uint64
}

func transportIndex(t transportKind) int {
	if t == transportWebSocket {
		return StatsWebSocket
	}
	return StatsPolling
}

func eioIndex(eio uint8) int {
	if eio == 3 {
		return 0
	}
	return 1
}

func (c *counters) error(code ErrorCode, status int) {
	if int(code) >= len(c.errors) {
		return
	}
	for i, st := range errorStatuses {
		if st == status {
			c.errors[code][i].Add(1)
			return
		}
	}
}

// Stats returns the server's counters.
func (srv *Server) Stats() Stats {
	c := &srv.stats
	st := Stats{
		Upgrades:        c.upgrades.Load(),
		Closes:          make(map[Reason]uint64, numReasons),
		BytesReceived:   c.received.Load(),
		BytesSent:       c.sent.Load(),
		PacketsReceived: c.packetsIn.Load(),
		PacketsSent:     c.packetsOut.Load(),
		VolatileDropped: c.volatile.Load(),
	}
	for t := range 2 {
		for v := range 2 {
			st.Sessions[t][v] = c.sessions[t][v].Load()
			st.Handshakes[t][v] = c.handshakes[t][v].Load()
		}
	}
	for code := range c.errors {
		for i, status := range errorStatuses {
			if n := c.errors[code][i].Load(); n > 0 {
				st.Errors = append(st.Errors, ErrorCount{Code: ErrorCode(code), Status: status, Count: n})
			}
		}
	}
	for r := 1; r < numReasons; r++ {
		st.Closes[Reason(r)] = c.closes[r].Load()
	}
	return st
}

// reject answers an Engine.IO error and counts it.
func (srv *Server) reject(w http.ResponseWriter, c ErrorCode, message string) {
	srv.stats.error(c, c.Status())
	writeError(w, c, message)
}
