// Command conformance serves exactly the configuration that the official
// Socket.IO and Engine.IO compliance suites (socketio/socket.io-protocol and
// socketio/engine.io-protocol) expect, through the same realtime package and
// Gin mounting the product uses:
//
//	127.0.0.1:3000, path /socket.io/, pingInterval 300ms, pingTimeout 200ms,
//	maxPayload 1e6, connectTimeout 1s, CORS "*";
//	"message" is echoed as "message-back", "message-with-ack" is acked with
//	its arguments, namespace "/custom" exists, and the auth payload is
//	emitted back as "auth" on connect in both namespaces.
//
// Run it with `go run ./cmd/conformance` and point a suite at it.
//
// With -engine it serves the project's Engine.IO server alone, as the echo
// server the socketio/engine.io-protocol suite describes: path /engine.io/,
// the same heartbeat, maxPayload and CORS, and every message sent back.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/realtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	engine := flag.Bool("engine", false, "serve the Engine.IO echo server at /engine.io/ instead")
	eio3 := flag.Bool("eio3", false, "with -engine: accept Engine.IO v3 (socket.io-client 2.x) too")
	pingInterval := flag.Duration("ping-interval", 300*time.Millisecond, "with -engine: heartbeat interval (the suite expects 300ms)")
	pingTimeout := flag.Duration("ping-timeout", 200*time.Millisecond, "with -engine: heartbeat timeout (the suite expects 200ms)")
	flag.Parse()
	if *engine {
		o := engineOptions()
		o.AllowEIO3, o.PingInterval, o.PingTimeout = *eio3, *pingInterval, *pingTimeout
		log.Printf("Engine.IO echo server listening on http://%s/engine.io/", *addr)
		log.Fatal(listenAndServe(*addr, realtime.EngineEcho(o)))
	}
	log.Printf("conformance server listening on http://%s/socket.io/", *addr)
	log.Fatal(listenAndServe(*addr, newHandler()))
}

// listenerWrapper is a handler served through a listener of its own
// (realtime.Server.Listener: polls held without a goroutine).
type listenerWrapper interface {
	http.Handler
	Listener(net.Listener) net.Listener
}

// listenAndServe serves h on addr through its listener, as the product does.
func listenAndServe(addr string, h listenerWrapper) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(h.Listener(ln))
}

// withListener is a Gin engine and the realtime server's Listener.
type withListener struct {
	http.Handler
	rt *realtime.Server
}

func (w withListener) Listener(ln net.Listener) net.Listener { return w.rt.Listener(ln) }

// Options is the configuration the compliance suites expect.
func options() realtime.Options {
	return realtime.Options{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		ConnectTimeout: time.Second,
		MaxPayload:     1e6,
		AllowedOrigins: []string{"*"},
		// The suites test that versions other than 4 are refused.
		RejectEIO3: true,
	}
}

func newHandler() listenerWrapper { return newHandlerWith(options()) }

// newHandlerWith serves the suites' handlers with opts.
func newHandlerWith(opts realtime.Options) listenerWrapper {
	gin.SetMode(gin.ReleaseMode)
	rt := realtime.NewServer(opts)
	for _, name := range []string{"/", "/custom"} {
		rt.Of(name).OnConnection(func(s *realtime.Socket) {
			s.Emit("auth", s.Auth())
			s.On("message", func(args []any, _ realtime.Ack) {
				s.Emit("message-back", args...)
			})
			s.On("message-with-ack", func(args []any, ack realtime.Ack) {
				if ack != nil {
					ack(args...)
				}
			})
			// The server-to-client ack test: emit the arguments back with an
			// ack request, then emit what the client acknowledged with.
			s.On("emit-with-ack", func(args []any, _ realtime.Ack) {
				s.EmitWithAck(5*time.Second, func(reply []any, err error) {
					if err == nil {
						s.Emit("emit-with-ack", reply...)
					}
				}, "emit-with-ack", args...)
			})
		})
	}
	r := gin.New()
	r.Use(gin.Recovery())
	rt.Mount(r)
	return withListener{r, rt}
}

// engineOptions is the configuration the Engine.IO suite expects.
func engineOptions() realtime.EngineEchoOptions {
	return realtime.EngineEchoOptions{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		MaxPayload:     1e6,
		AllowedOrigins: []string{"*"},
	}
}

// newEngineHandler is the Engine.IO echo server with the suite's settings.
func newEngineHandler() listenerWrapper { return realtime.EngineEcho(engineOptions()) }
