package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the Options left zero. The heartbeat and payload ones match
// Node's engine.io.
const (
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultMaxPayload     = 1e6
	DefaultMaxQueueBytes  = 1 << 20
	DefaultUpgradeTimeout = 10 * time.Second
	DefaultParkAfter      = 500 * time.Millisecond
)

// Options configures a Server.
type Options struct {
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MaxPayload bounds one WebSocket message and one polling request
	// body, in bytes: a larger WebSocket message closes the connection
	// with 1009, a larger body gets HTTP 413; both close the session.
	MaxPayload int64
	// MaxQueueBytes bounds what may wait in one session's write queue; a
	// session over it is closed as a slow client (ReasonSlowClient).
	MaxQueueBytes int
	// UpgradeTimeout bounds an upgrade from polling to WebSocket.
	UpgradeTimeout time.Duration
	// ParkAfter is how long a WebSocket session's reader waits for the
	// client's next frame before the session parks: its reader goroutine
	// returns and the server's poller watches the socket instead (Linux;
	// park.go). Negative: sessions never park.
	ParkAfter time.Duration
	// AllowedOrigins lists the browser origins (scheme://host[:port])
	// allowed besides the server's own; "*" allows any. A handshake or
	// WebSocket from another origin gets 403 {"code":4}.
	AllowedOrigins []string
	// AllowEIO3 accepts Engine.IO v3 (socket.io-client 2.x). A request
	// without EIO is then v3, as in Node.
	AllowEIO3 bool
	// AllowRequest, when set, is asked before every new session; an error
	// refuses it with 403 {"code":4,"message":<the error>}, or with the
	// status of a *Refusal.
	AllowRequest func(r *http.Request) error
	// MaxSessionsPerAddr bounds the open sessions of one client address;
	// a handshake over it gets 429 {"code":4} with Retry-After. Zero or
	// negative: no limit.
	MaxSessionsPerAddr int
	// TrustedProxies are the peers whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host are believed (proxy.go): for
	// the client address of MaxSessionsPerAddr and for the same-origin
	// test. From anyone else those headers are ignored.
	TrustedProxies []netip.Prefix
	// OnConnection is called for every new session, before it reads
	// anything; it must set the session's handler. r is the handshake
	// request: keep what you need of it, not r itself.
	OnConnection func(s *Session, r *http.Request)
}

func (o *Options) setDefaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if o.ParkAfter == 0 {
		o.ParkAfter = DefaultParkAfter
	}
}

// Server is an Engine.IO server. It serves every request under the path
// it is mounted at; the path itself is the caller's business.
type Server struct {
	opts      Options
	epoch     time.Time
	anyOrigin bool
	origins   map[string]bool // lower-cased, without a trailing slash

	mu       sync.RWMutex
	sessions map[string]*Session
	count    atomic.Int64
	closing  atomic.Bool
	wg       sync.WaitGroup // one per session until finalized
	flushers flushers
	seq      atomic.Uint64 // sessions created, to spread them over the flushers
	parker   parkerOnce
	listener atomic.Pointer[pollListener] // set by Listener: polls are held (heldpoll.go)
	addrs    addrCounts                   // open sessions per client address (admission.go)
	stats    counters                     // stats.go
}

// NewServer returns a server with opts (zero fields take the defaults).
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{
		opts:     opts,
		epoch:    time.Now(),
		origins:  map[string]bool{},
		sessions: map[string]*Session{},
		flushers: newFlushers(),
	}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			s.anyOrigin = true
			continue
		}
		s.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return s
}

// Count is the number of open sessions.
func (srv *Server) Count() int { return int(srv.count.Load()) }

// Session returns the open session with the id, or nil.
func (srv *Server) Session(id string) *Session {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.sessions[id]
}

func (srv *Server) writeTimeout() time.Duration {
	return srv.opts.PingInterval + srv.opts.PingTimeout
}

// ServeHTTP serves Engine.IO: handshakes, polling requests, WebSocket
// connections and upgrades, and CORS preflight.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.setCORS(w, r)
	if r.Method == http.MethodOptions {
		srv.preflight(w, r)
		return
	}
	q := r.URL.Query()
	var eio uint8
	switch v := q.Get("EIO"); {
	case v == "4":
		eio = 4
	case srv.opts.AllowEIO3 && (v == "3" || !q.Has("EIO")):
		eio = 3
	}
	if eio == 0 {
		srv.reject(w, ErrUnsupportedProtocol, "")
		return
	}
	var transport transportKind
	switch q.Get("transport") {
	case "polling":
		transport = transportPolling
	case "websocket":
		transport = transportWebSocket
	default:
		srv.reject(w, ErrTransportUnknown, "")
		return
	}
	isUpgrade := isWebSocketRequest(r)
	if transport == transportWebSocket && !isUpgrade {
		srv.reject(w, ErrBadRequest, "")
		return
	}

	sid := q.Get("sid")
	if sid == "" {
		srv.handshake(w, r, q, eio, transport)
		return
	}
	s := srv.Session(sid)
	if s == nil {
		srv.reject(w, ErrUnknownSID, "")
		return
	}
	if s.eio != eio {
		srv.reject(w, ErrBadRequest, "")
		return
	}
	if transport == transportWebSocket {
		if !srv.originAllowed(r) {
			srv.reject(w, ErrForbidden, originRefused(r))
			return
		}
		s.handleUpgrade(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.handlePoll(w, r)
	case http.MethodPost:
		s.handleData(w, r)
	default:
		srv.reject(w, ErrBadRequest, "")
	}
}

func (srv *Server) handshake(w http.ResponseWriter, r *http.Request, q url.Values, eio uint8, transport transportKind) {
	if r.Method != http.MethodGet {
		srv.reject(w, ErrBadHandshakeMethod, "")
		return
	}
	if srv.closing.Load() {
		srv.reject(w, ErrForbidden, "Server is shutting down")
		return
	}
	if !srv.originAllowed(r) {
		srv.reject(w, ErrForbidden, originRefused(r))
		return
	}
	if f := srv.opts.AllowRequest; f != nil {
		if err := f(r); err != nil {
			srv.refuse(w, err)
			return
		}
	}
	s := &Session{srv: srv, id: newSID(), eio: eio, transport: transport, flusher: srv.flushers.pick(srv.seq.Add(1))}
	if !srv.admit(w, r, s) {
		return
	}
	if transport == transportPolling {
		s.wake = make(chan struct{}, 1)
		s.jsonp = q.Has("j")
		s.jsonpIdx = jsonpIndex(q.Get("j"))
		// v3 clients that can read binary bodies (XHR2) leave out b64.
		s.v3Binary = eio == 3 && !s.jsonp && q.Get("b64") == ""
		srv.openPolling(w, r, s)
		return
	}
	srv.openWebSocket(w, r, s)
}

// openPacket is the session's open packet.
func (srv *Server) openPacket(s *Session) *Message {
	upgrades := []string{}
	if s.transport == transportPolling {
		upgrades = []string{"websocket"}
	}
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}{s.id, upgrades, srv.opts.PingInterval.Milliseconds(), srv.opts.PingTimeout.Milliseconds(), srv.opts.MaxPayload})
	return newText(typeOpen, b)
}

// add puts a new session in the table; it returns false if the server
// began closing meanwhile (the session is then not opened).
func (srv *Server) add(s *Session) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing.Load() {
		return false
	}
	srv.sessions[s.id] = s
	srv.wg.Add(1)
	srv.count.Add(1)
	t, v := transportIndex(s.transport), eioIndex(s.eio)
	srv.stats.sessions[t][v].Add(1)
	srv.stats.handshakes[t][v].Add(1)
	return true
}

// opened tells OnConnection about a session whose open packet is on its
// way, and starts its heartbeat.
func (srv *Server) opened(s *Session, r *http.Request) {
	if f := srv.opts.OnConnection; f != nil {
		f(s, r)
	}
	s.startHeartbeat()
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

// newSID returns 20 random URL-safe characters (120 bits), like Node's.
func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Close closes every session the way a restart looks to clients: queued
// packets are flushed, then WebSocket sessions get a close frame and
// polling sessions a close packet on their next poll, and Socket.IO
// clients reconnect by themselves. New handshakes are refused (403) from
// the start. Close returns once every session is gone, or when ctx ends:
// the sessions left are then dropped and the error says how many.
func (srv *Server) Close(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing.Store(true)
	all := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		all = append(all, s)
	}
	srv.mu.Unlock()
	for _, s := range all {
		s.closeGracefully(ReasonServerShutdown)
	}
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		srv.flushers.close()
		srv.parker.close()
		return nil
	case <-ctx.Done():
	}
	srv.mu.RLock()
	left := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		left = append(left, s)
	}
	srv.mu.RUnlock()
	for _, s := range left {
		s.closeNow(ReasonServerShutdown, nil)
	}
	<-done
	srv.flushers.close()
	srv.parker.close()
	return fmt.Errorf("engineio: %d sessions did not close in time: %w", len(left), ctx.Err())
}

// --- origins and CORS ------------------------------------------------------

// originAllowed applies the origin policy to a handshake or WebSocket: no
// Origin (not a browser), the server's own origin, or a listed one.
func (srv *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || srv.anyOrigin {
		return true
	}
	return srv.sameOrigin(origin, r) || srv.origins[strings.ToLower(strings.TrimRight(origin, "/"))]
}

// originRefused is the message of a 403 for a foreign origin.
func originRefused(r *http.Request) string {
	return "origin not allowed: " + r.Header.Get("Origin")
}

// sameOrigin reports whether origin is scheme://host of the request itself,
// as this process received it or, from a trusted proxy, as the proxy did
// (servedOrigin); forwarding headers from anyone else are not believed.
func (srv *Server) sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme, host := srv.servedOrigin(r)
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, host)
}

// setCORS adds the CORS headers a browser needs to read a polling response
// from another allowed origin.
func (srv *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	if srv.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	if srv.origins[strings.ToLower(strings.TrimRight(origin, "/"))] {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
}

func (srv *Server) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", strconv.Itoa(24*3600))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}
