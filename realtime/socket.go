package realtime

import (
	"io"

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
	s *socket.Socket
}

func wrap(s *socket.Socket) *Socket { return &Socket{s: s} }

// ID is the socket's id, unique in the cluster; it is also a room holding
// just this socket.
func (s *Socket) ID() string { return string(s.s.Id()) }

// Namespace is the name of the namespace the socket joined.
func (s *Socket) Namespace() string { return s.s.Nsp().Name() }

// Transport is the transport in use now: "websocket" or "polling".
func (s *Socket) Transport() string { return s.s.Conn().Transport().Name() }

// Protocol is the Engine.IO protocol revision: 3 (socket.io-client 2.x) or 4.
func (s *Socket) Protocol() int { return s.s.Conn().Protocol() }

// Auth is the payload the client sent when joining the namespace
// (socket.io-client 3.x and later; empty for 2.x).
func (s *Socket) Auth() map[string]any {
	if h := s.s.Handshake(); h != nil && h.Auth != nil {
		return h.Auth
	}
	return map[string]any{}
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
		fn(reason)
	})
}

// Emit sends an event to this socket alone.
func (s *Socket) Emit(event string, args ...any) {
	_ = s.s.Emit(event, outgoing(args)...)
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
