package realtime

import (
	"io"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Ack answers an event the client sent with an acknowledgement callback.
type Ack func(args ...any)

// Handler handles one client event. args are JSON values (map[string]any,
// []any, string, float64, bool, nil) and []byte for binary attachments.
// ack is nil when the client did not ask for an acknowledgement.
type Handler func(args []any, ack Ack)

// Socket is one client's connection to one namespace.
type Socket struct {
	s   *socket.Socket
	srv *Server
}

func (srv *Server) wrap(s *socket.Socket) *Socket { return &Socket{s: s, srv: srv} }

// ID is the socket's id, unique in the cluster; it is also a room holding
// just this socket.
func (s *Socket) ID() string { return string(s.s.Id()) }

// Namespace is the name of the namespace the socket joined.
func (s *Socket) Namespace() string { return s.s.Nsp().Name() }

// Transport is the transport in use now: "websocket" or "polling".
func (s *Socket) Transport() string { return s.s.Conn().Transport().Name() }

// Protocol is the Engine.IO protocol revision: 3 (socket.io-client 2.x) or 4.
func (s *Socket) Protocol() int { return s.s.Conn().Protocol() }

// Auth is the payload the client sent when joining the namespace: the auth
// option of socket.io-client 3.x and later. socket.io-client 2.x (Protocol 3)
// has no auth payload and sends its query option instead, so for it Auth
// holds those query parameters as strings (a []any of strings when repeated):
// in "/" those of the connection URL less Engine.IO's own (EIO, transport,
// t, sid, b64, j), in other namespaces those sent when joining it.
func (s *Socket) Auth() map[string]any {
	h := s.s.Handshake()
	if h == nil {
		return map[string]any{}
	}
	if s.Protocol() == 3 {
		// The library passes a 2.x namespace's query as auth, with every
		// value a []string, and nothing for "/".
		if len(h.Auth) == 0 && s.Namespace() == "/" {
			return legacyQuery(h.Query, true)
		}
		return legacyQuery(h.Auth, false)
	}
	if h.Auth != nil {
		return h.Auth
	}
	return map[string]any{}
}

// engineQueryParams are the query parameters Engine.IO itself sends.
var engineQueryParams = map[string]bool{"EIO": true, "transport": true, "t": true, "sid": true, "b64": true, "j": true}

// legacyQuery turns query parameters as the library keeps them (string or
// []string values) into the JSON-like values Auth promises.
func legacyQuery(q map[string]any, dropEngineParams bool) map[string]any {
	out := make(map[string]any, len(q))
	for k, v := range q {
		if dropEngineParams && engineQueryParams[k] {
			continue
		}
		switch t := v.(type) {
		case []string:
			if len(t) == 1 {
				out[k] = t[0]
				continue
			}
			l := make([]any, len(t))
			for i, e := range t {
				l[i] = e
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}

// RemoteAddr is the client's address as seen by this process.
func (s *Socket) RemoteAddr() string {
	if h := s.s.Handshake(); h != nil {
		return h.Address
	}
	return ""
}

// SetData attaches application state to the socket; Data reads it back.
func (s *Socket) SetData(v any) { s.s.SetData(v) }

// Data returns what SetData stored, or nil.
func (s *Socket) Data() any { return s.s.Data() }

// On registers the handler for a client event. Register handlers inside
// Namespace.OnConnection so none is missed.
func (s *Socket) On(event string, h Handler) {
	_ = s.s.On(event, func(args ...any) {
		in, ack := splitAck(args)
		h(in, ack)
	})
}

// OnUnknown registers the handler for events that have no On handler.
func (s *Socket) OnUnknown(h func(event string, args []any, ack Ack)) {
	s.s.OnAny(func(args ...any) {
		if len(args) == 0 {
			return
		}
		ev, _ := args[0].(string)
		if len(s.s.Listeners(ev)) > 0 {
			return
		}
		in, ack := splitAck(args[1:])
		h(ev, in, ack)
	})
}

// OnDisconnect registers the handler run once the socket has left the
// namespace, with Socket.IO's reason ("transport close", "ping timeout",
// "client namespace disconnect", ...). The socket has left its rooms by then.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	_ = s.s.On("disconnect", func(args ...any) {
		reason, _ := firstString(args)
		if reason == "forced close" && s.srv != nil && s.srv.closing.Load() {
			// Server.Close closed the Engine.IO session itself; report it
			// as the library's own shutdown would.
			reason = "server shutting down"
		}
		fn(reason)
	})
}

// Emit sends an event to this socket alone.
func (s *Socket) Emit(event string, args ...any) {
	_ = s.s.Emit(event, outgoing(args)...)
}

// EmitWithAck sends an event to this socket alone and calls onAck with the
// arguments of the client's acknowledgement, or with an error when none
// comes within timeout (or the socket disconnects first).
func (s *Socket) EmitWithAck(timeout time.Duration, onAck func(args []any, err error), event string, args ...any) {
	s.s.Timeout(timeout).EmitWithAck(event, outgoing(args)...)(func(reply []any, err error) {
		for i, a := range reply {
			reply[i] = incoming(a)
		}
		onAck(reply, err)
	})
}

// To targets the sockets in room, except this one.
func (s *Socket) To(room string) *Broadcast {
	return &Broadcast{op: s.s.To(socket.Room(room))}
}

// Join adds the socket to room.
func (s *Socket) Join(room string) { s.s.Join(socket.Room(room)) }

// Leave removes the socket from room.
func (s *Socket) Leave(room string) { s.s.Leave(socket.Room(room)) }

// InRoom reports whether the socket is in room.
func (s *Socket) InRoom(room string) bool { return s.s.Rooms().Has(socket.Room(room)) }

// Disconnect removes the socket from its namespace and tells the client so
// ("io server disconnect": socket.io.js will not reconnect by itself).
func (s *Socket) Disconnect() { s.s.Disconnect(false) }

// Close closes the whole underlying connection, as a network failure would:
// socket.io.js reconnects by itself.
func (s *Socket) Close() { s.s.Disconnect(true) }

func splitAck(args []any) ([]any, Ack) {
	var ack Ack
	if n := len(args); n > 0 {
		if fn, ok := args[n-1].(socket.Ack); ok {
			args = args[:n-1]
			ack = func(out ...any) { fn(outgoing(out), nil) }
		}
	}
	for i, a := range args {
		args[i] = incoming(a)
	}
	return args, ack
}

// incoming turns the library's binary buffers into plain []byte.
func incoming(v any) any {
	switch t := v.(type) {
	case []any:
		for i := range t {
			t[i] = incoming(t[i])
		}
		return t
	case map[string]any:
		for k := range t {
			t[k] = incoming(t[k])
		}
		return t
	case types.BufferInterface:
		b, _ := io.ReadAll(t)
		return b
	}
	return v
}

// outgoing exists so that a nil args slice still encodes as an empty list.
func outgoing(args []any) []any {
	if args == nil {
		return []any{}
	}
	return args
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}
