package realtime

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// EngineEchoOptions configures EngineEcho.
type EngineEchoOptions struct {
	Path           string // default "/engine.io"
	PingInterval   time.Duration
	PingTimeout    time.Duration
	MaxPayload     int64
	AllowedOrigins []string
	AllowEIO3      bool
}

// EngineEchoServer is the Engine.IO echo server; serve it as an
// http.Handler, through Listener.
type EngineEchoServer struct {
	srv  *engineio.Server
	path string
}

// EngineEcho serves the project's Engine.IO server alone, sending every
// message back to its sender: the server the official Engine.IO compliance
// suite (socketio/engine.io-protocol) and the Engine.IO client tests talk
// to. It is not part of the product's Socket.IO stack.
func EngineEcho(o EngineEchoOptions) *EngineEchoServer {
	path := "/" + strings.Trim(o.Path, "/")
	if o.Path == "" {
		path = "/engine.io"
	}
	srv := engineio.NewServer(engineio.Options{
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		MaxPayload:     o.MaxPayload,
		AllowedOrigins: o.AllowedOrigins,
		AllowEIO3:      o.AllowEIO3,
		OnConnection: func(s *engineio.Session, _ *http.Request) {
			s.SetHandler(echo{})
		},
	})
	return &EngineEchoServer{srv: srv, path: path}
}

func (e *EngineEchoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != e.path && r.URL.Path != e.path+"/" {
		http.NotFound(w, r)
		return
	}
	e.srv.ServeHTTP(w, r)
}

// Listener is Server.Listener for the echo server.
func (e *EngineEchoServer) Listener(ln net.Listener) net.Listener { return e.srv.Listener(ln) }

type echo struct{}

func (echo) OnMessage(s *engineio.Session, data []byte, binary bool) {
	if binary {
		s.Send(engineio.NewBinaryMessage(data))
		return
	}
	s.Send(engineio.NewMessage(data))
}

func (echo) OnClose(*engineio.Session, engineio.Reason, error) {}
