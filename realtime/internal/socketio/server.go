package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// DefaultConnectTimeout is how long a client has to join a namespace after
// its Engine.IO handshake, as in Node.
const DefaultConnectTimeout = 45 * time.Second

// Options configures a Server.
type Options struct {
	// Engine configures the transport. OnConnection is the Server's own.
	Engine engineio.Options
	// ConnectTimeout closes a connection that joined no namespace in time.
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one packet.
	MaxAttachments int
	// NewAdapter makes each namespace's adapter; default NewMemoryAdapter.
	NewAdapter func(*Namespace) Adapter
	// Recovery, when set, turns on connection state recovery (recovery.go).
	Recovery *RecoveryOptions
	// MaxPending bounds the connections that have done the Engine.IO
	// handshake but joined no namespace yet (each for at most
	// ConnectTimeout); a handshake over it gets 503 {"code":4} with
	// Retry-After. Zero or negative: no limit.
	MaxPending int
	// MaxNamespaces bounds the namespaces one connection may be in at
	// once; a CONNECT beyond it gets a CONNECT_ERROR. Default
	// DefaultMaxNamespaces.
	MaxNamespaces int
}

// DefaultMaxNamespaces is the default of Options.MaxNamespaces.
const DefaultMaxNamespaces = 10

// maxRefusedConnects is how many refused CONNECTs (unknown namespace,
// refused by middleware, over MaxNamespaces) one connection may send; the
// next closes it. A client does not retry a refused CONNECT by itself, so
// only a loop reaches it.
const maxRefusedConnects = 32

// ErrTooManyPending refuses a handshake while MaxPending connections wait
// to join a namespace.
var ErrTooManyPending = &engineio.Refusal{Status: http.StatusServiceUnavailable, Message: "Too many connections waiting to join a namespace", RetryAfter: "1"}

// Server is a Socket.IO server: namespaces of sockets over one Engine.IO
// server.
type Server struct {
	opts   Options
	engine *engineio.Server

	mu   sync.RWMutex
	nsps map[string]*Namespace

	pending atomic.Int64 // connections that joined no namespace yet
	monitor atomic.Pointer[monitorState]
}

// NewServer returns a server; create namespaces with Of before serving.
func NewServer(opts Options) *Server {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxAttachments <= 0 {
		opts.MaxAttachments = DefaultMaxAttachments
	}
	if opts.NewAdapter == nil {
		opts.NewAdapter = NewMemoryAdapter
	}
	if opts.MaxNamespaces <= 0 {
		opts.MaxNamespaces = DefaultMaxNamespaces
	}
	s := &Server{opts: opts, nsps: map[string]*Namespace{}}
	eo := opts.Engine
	eo.OnConnection = s.onEngineConnection
	if allow := eo.AllowRequest; opts.MaxPending > 0 || allow != nil {
		eo.AllowRequest = func(r *http.Request) error {
			if opts.MaxPending > 0 && s.pending.Load() >= int64(opts.MaxPending) {
				return ErrTooManyPending
			}
			if allow != nil {
				return allow(r)
			}
			return nil
		}
	}
	s.engine = engineio.NewServer(eo)
	s.Of("/") // the main namespace always exists, as in Node
	return s
}

// ServeHTTP serves Engine.IO requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine is the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Close closes every connection as a restart would look to clients (they
// reconnect by themselves) and waits, at most until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.engine.Close(ctx)
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.RUnlock()
	for _, n := range nsps {
		if n.rec != nil {
			n.rec.drain()
		}
	}
	return err
}

// Of returns the namespace with the name, creating it. Clients can only
// join namespaces that exist.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.RLock()
	n := s.nsps[name]
	s.mu.RUnlock()
	if n != nil {
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n = s.nsps[name]; n == nil {
		n = newNamespace(s, name)
		s.nsps[name] = n
	}
	return n
}

func (s *Server) namespace(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps[name]
}

// Pending is the number of connections that have joined no namespace yet.
func (s *Server) Pending() int { return int(s.pending.Load()) }

func (s *Server) onEngineConnection(es *engineio.Session, r *http.Request) {
	c := newClient(s, es, r)
	es.SetHandler(c)
	if c.proto == 4 {
		// Protocol 4 (socket.io-client 2.x) joins "/" without asking.
		c.connect("/", nil, r.URL.Query())
	}
}

// newID returns 20 random URL-safe characters, like Node's socket ids.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
