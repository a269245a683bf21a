package realtime

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/realtime/internal/admin"
	"github.com/socketio-go/chatserver/realtime/internal/engineio"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Defaults used when an Options field is left zero. The protocol ones are
// the layers' own (Socket.IO's); MaxPayload is the product's choice.
const (
	DefaultPath             = "/socket.io"
	DefaultPingInterval     = engineio.DefaultPingInterval
	DefaultPingTimeout      = engineio.DefaultPingTimeout
	DefaultConnectTimeout   = socketio.DefaultConnectTimeout
	DefaultMaxPayload       = 1 << 20 // 1 MiB per HTTP request or WebSocket message
	DefaultMaxQueueBytes    = engineio.DefaultMaxQueueBytes
	DefaultMaxDisconnection = socketio.DefaultMaxDisconnection
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
	// MaxQueueBytes bounds what may wait to be written to one client; a
	// client that falls further behind is disconnected ("transport error").
	MaxQueueBytes int
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
	// Recovery turns on connection state recovery (socket.io-client 4.6+):
	// a client back within MaxDisconnection gets its socket back, rooms
	// and data included, with the events it missed (Socket.Recovered).
	Recovery bool
	// MaxDisconnection is how long a session stays recoverable; default
	// DefaultMaxDisconnection (2 minutes).
	MaxDisconnection time.Duration
	// ClientFiles, when set, is served at Path/<name> for GET requests whose
	// name is a regular file in it (socket.io.js, socket.io.min.js, ...).
	ClientFiles fs.FS
	// Logger, when set, gets one Info line per socket connected to a
	// namespace and one per disconnection (sid, namespace, transport,
	// protocol, reason, duration); never payloads.
	Logger *slog.Logger
	// MaxSessionsPerAddr bounds the connections of one client address: a
	// handshake over it is answered HTTP 429 {"code":4,"message":"Too
	// many sessions from this address"} with Retry-After. 0: no limit.
	MaxSessionsPerAddr int
	// MaxPending bounds the connections that have done the Engine.IO
	// handshake but joined no namespace yet (each for at most
	// ConnectTimeout): a handshake over it is answered HTTP 503
	// {"code":4} with Retry-After. 0: no limit.
	MaxPending int
	// MaxNamespaces bounds the namespaces one connection may be in; a
	// CONNECT beyond gets CONNECT_ERROR "Too many namespaces on one
	// connection". Default 10.
	MaxNamespaces int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (the
	// client address MaxSessionsPerAddr counts), X-Forwarded-Proto and
	// X-Forwarded-Host (the same-origin test) are believed; from anyone
	// else these headers are ignored.
	TrustedProxies []netip.Prefix
}

func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	o.Path = "/" + strings.Trim(o.Path, "/")
	// Heartbeat and connect timeout left zero take the layers' defaults.
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
}

// Server is a Socket.IO server speaking Engine.IO v4 and v3 (socket.io-client
// 2.x to 4.x) over WebSocket and HTTP long-polling (XHR and JSONP).
type Server struct {
	opts     Options
	io       *socketio.Server
	draining atomic.Bool

	mu         sync.Mutex
	namespaces map[string]*Namespace
	admin      *admin.Admin // nil unless EnableAdmin
}

// NewServer builds a server; mount it with Mount or serve Handler.
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, namespaces: map[string]*Namespace{}}
	so := socketio.Options{
		Engine: engineio.Options{
			PingInterval:   opts.PingInterval,
			PingTimeout:    opts.PingTimeout,
			MaxPayload:     opts.MaxPayload,
			MaxQueueBytes:  opts.MaxQueueBytes,
			AllowedOrigins: opts.AllowedOrigins,
			AllowEIO3:      !opts.RejectEIO3,
			AllowRequest:   s.allowRequest,

			MaxSessionsPerAddr: opts.MaxSessionsPerAddr,
			TrustedProxies:     opts.TrustedProxies,
		},
		ConnectTimeout: opts.ConnectTimeout,
		MaxPending:     opts.MaxPending,
		MaxNamespaces:  opts.MaxNamespaces,
	}
	if opts.Recovery {
		so.Recovery = &socketio.RecoveryOptions{MaxDisconnection: opts.MaxDisconnection}
	}
	if opts.Redis != nil {
		so.NewAdapter = newRedisAdapter(opts.Redis, opts.RedisKey)
	}
	s.io = socketio.NewServer(so)
	return s
}

// allowRequest runs for every new Engine.IO session; a refusal answers
// HTTP 403 with {"code":4,"message":...}.
func (s *Server) allowRequest(*http.Request) error {
	if s.draining.Load() {
		return ErrShuttingDown
	}
	return nil
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
		s.io.ServeHTTP(w, r)
	})
}

// Listener wraps the listener the HTTP server serving s accepts from, so
// that a polling client's waiting GET costs no goroutine: the wait hands the
// connection to the server (it watches the socket), and the answered
// connection comes back to the HTTP server through the listener, kept
// alive. Without it, polling works the same, each waiting GET in its
// goroutine. Linux only; elsewhere it returns a listener that changes
// nothing.
func (s *Server) Listener(ln net.Listener) net.Listener { return s.io.Engine().Listener(ln) }

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
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.namespaces[name]
	if n == nil {
		n = &Namespace{nsp: s.io.Of(name), srv: s, events: &eventTable{}}
		if log := s.opts.Logger; log != nil {
			n.logConnections(log)
		}
		s.namespaces[name] = n
	}
	return n
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
// What is queued for a client is flushed first; WebSocket clients then get
// a close frame, polling clients a close packet on their next poll. Close
// waits for that at most closeGrace or until ctx ends (keep serving HTTP
// meanwhile: a polling client learns of the close from its next request,
// which a live client sends at once); what is left then is dropped, and the
// error says how many sessions that was.
func (s *Server) Close(ctx context.Context) error {
	s.Drain()
	ctx, cancel := context.WithTimeout(ctx, closeGrace)
	defer cancel()
	s.mu.Lock()
	a := s.admin
	s.mu.Unlock()
	if a != nil {
		a.Close() // before the connections go: no reports of their closes
	}
	err := s.io.Close(ctx)
	s.mu.Lock()
	for _, n := range s.namespaces {
		n.nsp.Adapter().Close()
	}
	s.mu.Unlock()
	return err
}
