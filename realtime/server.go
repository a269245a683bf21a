package realtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Defaults used when an Options field is left zero. They match Socket.IO's.
const (
	DefaultPath           = "/socket.io"
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultConnectTimeout = 45 * time.Second
	DefaultMaxPayload     = 1 << 20 // 1 MiB per HTTP request or WebSocket message
)

// ErrShuttingDown is the reason given to handshakes refused while draining.
var ErrShuttingDown = errors.New("server is shutting down")

// Options configures a Server.
type Options struct {
	// Path is where the server is mounted; default "/socket.io".
	Path string
	// PingInterval and PingTimeout drive Engine.IO's heartbeat.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// ConnectTimeout is how long a client may take to join a namespace after
	// the Engine.IO handshake before it is disconnected.
	ConnectTimeout time.Duration
	// MaxPayload bounds one WebSocket message or one polling request body, in
	// bytes. Larger ones close the connection (WebSocket) or get HTTP 413.
	MaxPayload int64
	// AllowedOrigins lists the browser origins (scheme://host[:port]) allowed
	// to connect besides the server's own. Empty means same origin only;
	// "*" allows any origin.
	AllowedOrigins []string
	// Redis, when set, shares rooms and broadcasts with the other nodes on
	// the same Redis through the Socket.IO Redis adapter protocol (the wire
	// format of Node's @socket.io/redis-adapter and @socket.io/redis-emitter).
	// The caller owns the client.
	Redis goredis.UniversalClient
	// RedisKey is the adapter's channel prefix; default "socket.io", as in
	// Node, so Go and Node nodes can share a cluster.
	RedisKey string
	// RejectEIO3 refuses Engine.IO v3 (socket.io-client 2.x) with HTTP 400
	// "Unsupported protocol version". Off by default: legacy pages need v3.
	RejectEIO3 bool
	// ClientFiles, when set, is served at Path/<name> for GET requests whose
	// name is a regular file in it (socket.io.js, socket.io.min.js, ...).
	ClientFiles fs.FS

	// adapter, when set (by tests), replaces the adapter Redis selects.
	adapter socket.AdapterConstructor
}

func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	o.Path = "/" + strings.Trim(o.Path, "/")
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
}

func (o *Options) anyOrigin() bool {
	for _, a := range o.AllowedOrigins {
		if a == "*" {
			return true
		}
	}
	return false
}

// Server is a Socket.IO server speaking Engine.IO v4 and v3 (socket.io-client
// 2.x to 4.x) over WebSocket and HTTP long-polling (XHR and JSONP).
type Server struct {
	opts     Options
	io       *socket.Server
	engine   http.Handler
	draining atomic.Bool
	closing  atomic.Bool
	// namespaces holds one *Namespace per name, so that each library
	// namespace gets its admission middleware once.
	namespaces sync.Map
}

// NewServer builds a server; mount it with Mount or serve Handler.
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts}

	so := socket.DefaultServerOptions()
	so.SetPath(opts.Path)
	so.SetAllowEIO3(!opts.RejectEIO3)
	so.SetPingInterval(opts.PingInterval)
	so.SetPingTimeout(opts.PingTimeout)
	so.SetConnectTimeout(opts.ConnectTimeout)
	so.SetMaxHttpBufferSize(opts.MaxPayload)
	so.SetServeClient(false)
	switch {
	case opts.anyOrigin():
		so.SetCors(&types.Cors{Origin: "*"})
	case len(opts.AllowedOrigins) > 0:
		so.SetCors(&types.Cors{Origin: append([]string(nil), opts.AllowedOrigins...), Credentials: true})
	}
	so.SetAllowRequest(s.allowRequest)
	switch {
	case opts.adapter != nil: // tests
		so.SetAdapter(opts.adapter)
	case opts.Redis != nil:
		// Not the library's Redis adapter: see redisadapter.go for why.
		so.SetAdapter(&redisAdapterBuilder{rdb: opts.Redis, key: opts.RedisKey})
	}

	s.io = socket.NewServer(nil, so)
	s.engine = s.io.ServeHandler(nil)
	return s
}

// allowRequest runs for every new Engine.IO session (not for requests of an
// existing one). A refusal answers HTTP 403 with {"code":4,"message":...}.
func (s *Server) allowRequest(ctx *types.HttpContext) error {
	if s.draining.Load() {
		return ErrShuttingDown
	}
	origin := ctx.Headers().Peek("Origin")
	if origin == "" || s.opts.anyOrigin() || sameOrigin(origin, ctx.Request()) {
		return nil
	}
	for _, a := range s.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return nil
		}
	}
	return errors.New("origin not allowed: " + origin)
}

// sameOrigin reports whether the Origin header names the host the request
// was sent to (as seen by this process or a proxy's X-Forwarded-Host).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	fwd := r.Header.Get("X-Forwarded-Host")
	return fwd != "" && strings.EqualFold(u.Host, strings.TrimSpace(strings.Split(fwd, ",")[0]))
}

// Path is the mount path, without a trailing slash.
func (s *Server) Path() string { return s.opts.Path }

// Handler serves every request under Path: the client bundles from
// ClientFiles and everything else through Engine.IO.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveClientFile(w, r) {
			return
		}
		if !s.supportedProtocol(r.URL.Query().Get("EIO")) {
			// The library takes any EIO other than "4" for v3; answer as
			// Node's engine.io does for a version it does not speak.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":5,"message":"Unsupported protocol version"}`))
			return
		}
		s.engine.ServeHTTP(w, r)
	})
}

// supportedProtocol reports whether an EIO query value is one this server
// speaks: "4", "3" unless RejectEIO3, or absent (which Engine.IO reads as 3).
func (s *Server) supportedProtocol(eio string) bool {
	switch eio {
	case "4":
		return true
	case "3", "":
		return !s.opts.RejectEIO3
	}
	return false
}

// Mount registers the server on a Gin engine at Path, with and without the
// trailing slash. Every method is routed to Engine.IO, which answers those it
// does not use with its own error (400 "Bad handshake method").
func (s *Server) Mount(r gin.IRoutes) {
	h := gin.WrapH(s.Handler())
	r.Any(s.opts.Path, h)
	r.Any(s.opts.Path+"/*any", h)
}

func (s *Server) serveClientFile(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ClientFiles == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	name, ok := strings.CutPrefix(r.URL.Path, s.opts.Path+"/")
	if !ok || name == "" || strings.Contains(name, "/") || !fs.ValidPath(name) {
		return false
	}
	st, err := fs.Stat(s.opts.ClientFiles, name)
	if err != nil || st.IsDir() {
		return false
	}
	if path.Ext(name) == ".js" {
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, s.opts.ClientFiles, name)
	return true
}

// Of returns the namespace with the given name ("/" is the main one),
// creating it on first use. Clients may only join namespaces created here.
func (s *Server) Of(name string) *Namespace {
	if n, ok := s.namespaces.Load(name); ok {
		return n.(*Namespace)
	}
	n, loaded := s.namespaces.LoadOrStore(name, &Namespace{nsp: s.io.Of(name, nil), srv: s})
	if !loaded {
		n.(*Namespace).install()
	}
	return n.(*Namespace)
}

// Drain refuses new sessions from now on; existing ones go on.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// closeGrace bounds the orderly close of sessions on shutdown. A polling
// client re-polls as soon as a poll returns, so a session still open after
// this long has been abandoned by its client (and would time out anyway).
const closeGrace = 3 * time.Second

// Close closes every client connection at the transport level, the way a
// process exit would look to clients: socket.io.js sees "transport close"
// and reconnects (elsewhere, or here after a restart). It also drains.
// Sockets see the disconnect reason "server shutting down".
//
// Each Engine.IO session is closed in an orderly way first, so that polling
// clients get a close packet too: the library's own shutdown drops polling
// sessions at once, and a client that is between two poll requests then
// gets "Session ID unknown" on the next one and sees "transport error".
// Close waits for that at most closeGrace or until ctx ends (keep serving
// HTTP meanwhile: a polling client learns of the close from its next
// request, which a live client sends at once); what is left then is
// dropped, and the error says how many sessions that was.
func (s *Server) Close(ctx context.Context) error {
	s.Drain()
	s.closing.Store(true)
	ctx, cancel := context.WithTimeout(ctx, closeGrace)
	defer cancel()
	err := s.closeSessions(ctx)
	done := make(chan struct{})
	s.io.Close(func(error) { close(done) })
	<-done
	return err
}

// closeSessions closes every open Engine.IO session gracefully (buffered
// packets are flushed, then the transport is closed with a close packet) and
// waits until they are closed or ctx ends.
func (s *Server) closeSessions(ctx context.Context) error {
	var sessions []engine.Socket
	s.io.Engine().Clients().Range(func(_ string, c engine.Socket) bool {
		sessions = append(sessions, c)
		return true
	})
	var wg sync.WaitGroup
	for _, c := range sessions {
		if st := c.ReadyState(); st != "open" && st != "closing" {
			continue
		}
		var once sync.Once
		closed := func(...any) { once.Do(wg.Done) }
		wg.Add(1)
		_ = c.Once("close", closed)
		if c.ReadyState() == "closed" { // closed before the listener was in place
			closed()
		}
		c.Close(false)
		kickPendingClose(c)
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait() // sessions still open when ctx ends are closed by s.io.Close
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		// A session that had packets to flush first closed its transport
		// later, and may have hit the race kickPendingClose is about.
		for _, c := range sessions {
			kickPendingClose(c)
		}
		return fmt.Errorf("%d sessions did not close in time: %w", s.io.Engine().ClientsCount(), ctx.Err())
	}
}

// kickPendingClose works around a race in the library's polling transport
// (servers/engine/v3 transports/polling.go, DoClose and onPollRequest): when
// a poll request arrives while DoClose runs, DoClose finds no request to
// answer and leaves the close packet pending, while the request checked for
// a pending close just before there was one. The close packet then waits for
// the next ping, and the client sees nothing for up to PingInterval. A polling
// transport that is closing yet holds a poll request is in that state: give
// it the empty send that carries the pending close packet, as the library
// does itself for a poll request that finds a close pending.
func kickPendingClose(c engine.Socket) {
	t := c.Transport()
	if t == nil || t.Name() != "polling" || t.ReadyState() != "closing" || !t.Writable() {
		return
	}
	t.Send([]*packet.Packet{{Type: packet.NOOP}})
}
