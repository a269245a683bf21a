package realtime

import (
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Ack answers an event the client sent with an acknowledgement callback.
type Ack func(args ...any)

// Handler handles one client event. args are JSON values (map[string]any,
// []any, string, float64, bool, nil) and []byte for binary attachments.
// ack is nil when the client did not ask for an acknowledgement.
type Handler func(args []any, ack Ack)

// Socket is one client's connection to one namespace.
type Socket struct {
	s  *socketio.Socket
	ev *eventTable // its namespace's
}

// wrap returns the Socket of s: made the first time, the same one after.
func wrap(s *socketio.Socket, ev *eventTable) *Socket {
	return s.Handle(func(s *socketio.Socket) any { return &Socket{s: s, ev: ev} }).(*Socket)
}

// ID is the socket's id, unique in the cluster; it is also a room holding
// just this socket.
func (s *Socket) ID() string { return s.s.ID() }

// Namespace is the name of the namespace the socket joined.
func (s *Socket) Namespace() string { return s.s.Namespace().Name() }

// Transport is the transport in use now: "websocket" or "polling".
func (s *Socket) Transport() string { return s.s.Transport() }

// Protocol is the Engine.IO protocol revision: 3 (socket.io-client 2.x) or 4.
func (s *Socket) Protocol() int { return s.s.Conn().Protocol() }

// Auth is the payload the client sent when joining the namespace: the auth
// option of socket.io-client 3.x and later. socket.io-client 2.x (Protocol 3)
// has no auth payload and sends its query option instead, so for it Auth
// holds those query parameters as strings (a []any of strings when repeated):
// in "/" those of the connection URL less Engine.IO's own (EIO, transport,
// t, sid, b64, j), in other namespaces those sent when joining it.
func (s *Socket) Auth() map[string]any { return s.s.Auth() }

// Recovered reports whether the socket came back with its state after a
// short disconnection (Options.Recovery): same id, rooms and data, and the
// events it missed delivered. Handlers of its own (Socket.On) must be
// registered again, the namespace's (Namespace.On) apply as they are; its
// rooms need not be joined again.
func (s *Socket) Recovered() bool { return s.s.Recovered() }

// Kept reports, in OnDisconnect, whether the socket is kept for connection
// state recovery (Options.Recovery, a socket.io-client 3.x or later, and a
// disconnect the client recovers from: "transport close", "transport
// error", "ping timeout", "forced close"). Its client may come back with it
// within Options.MaxDisconnection (then OnConnection sees it Recovered);
// otherwise the namespace's OnRecoveryExpired handler runs for it.
func (s *Socket) Kept() bool { return s.s.Kept() }

// RemoteAddr is the client's IP address as seen by this process.
func (s *Socket) RemoteAddr() string { return s.s.Handshake().Address }

// SetData attaches application state to the socket; Data reads it back.
// A recovered socket has the data it had before.
func (s *Socket) SetData(v any) { s.s.SetData(v) }

// Data returns what SetData stored, or nil.
func (s *Socket) Data() any { return s.s.Data() }

// On registers the handler for a client event, for this socket alone.
// Register it inside Namespace.OnConnection so no event is missed. It
// comes before a handler of the namespace (Namespace.On) for the same
// event; those cost a socket nothing, where each of its own costs a
// closure or two.
func (s *Socket) On(event string, h Handler) {
	c := s.ev.counter(event)
	s.s.On(event, func(args []any, ack socketio.AckFunc) {
		c.received.Add(1)
		h(args, ackOf(ack))
	})
}

// OnUnknown registers the handler for events that have no On handler,
// neither the socket's nor the namespace's.
func (s *Socket) OnUnknown(h func(event string, args []any, ack Ack)) {
	s.s.OnAny(func(event string, args []any, ack socketio.AckFunc) {
		s.ev.other.received.Add(1)
		h(event, args, ackOf(ack))
	})
}

func ackOf(a socketio.AckFunc) Ack {
	if a == nil {
		return nil
	}
	return func(out ...any) { a(outgoing(out)...) }
}

// OnDisconnect registers the handler run once the socket has left the
// namespace, with Socket.IO's reason ("transport close", "ping timeout",
// "client namespace disconnect", ...). The socket has left its rooms by then.
func (s *Socket) OnDisconnect(fn func(reason string)) { s.s.OnDisconnect(fn) }

// Emit sends an event to this socket alone.
func (s *Socket) Emit(event string, args ...any) {
	s.ev.counter(event).sent.Add(1)
	_ = s.s.Emit(event, outgoing(args)...)
}

// EmitWithAck sends an event to this socket alone and calls onAck with the
// arguments of the client's acknowledgement, or with an error when none
// comes within timeout (or the socket disconnects first).
func (s *Socket) EmitWithAck(timeout time.Duration, onAck func(args []any, err error), event string, args ...any) {
	s.ev.counter(event).sent.Add(1)
	_ = s.s.EmitWithAck(timeout, onAck, event, outgoing(args)...)
}

// To targets the sockets in room, except this one.
func (s *Socket) To(room string) *Broadcast { return &Broadcast{op: s.s.To(room), ev: s.ev} }

// Join adds the socket to room.
func (s *Socket) Join(room string) { s.s.Join(room) }

// Leave removes the socket from room.
func (s *Socket) Leave(room string) { s.s.Leave(room) }

// InRoom reports whether the socket is in room.
func (s *Socket) InRoom(room string) bool { return s.s.InRoom(room) }

// Disconnect removes the socket from its namespace and tells the client so
// ("io server disconnect": socket.io.js will not reconnect by itself).
func (s *Socket) Disconnect() { s.s.Disconnect(false) }

// Close closes the whole underlying connection, as a network failure would:
// socket.io.js reconnects by itself. The sockets of the connection see the
// reason "forced close".
func (s *Socket) Close() { s.s.Conn().Close() }

// outgoing exists so that a nil args slice still encodes as an empty list.
func outgoing(args []any) []any {
	if args == nil {
		return []any{}
	}
	return args
}
