package realtime

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Namespace is one Socket.IO namespace ("/", "/chat", ...).
type Namespace struct {
	nsp    *socketio.Namespace
	srv    *Server
	events *eventTable
}

// ConnectError refuses a namespace connection. The client receives a
// connect_error whose message is Message and whose data is Data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Name is the namespace's name, such as "/chat".
func (n *Namespace) Name() string { return n.nsp.Name() }

// Use adds a connection middleware: a non-nil error refuses the connection
// with a connect_error (use *ConnectError to attach data). Middlewares run in
// the order they were added, before the client's next packet is read.
func (n *Namespace) Use(fn func(*Socket) error) {
	n.nsp.Use(func(s *socketio.Socket) error {
		err := fn(wrap(s, n.events))
		var ce *ConnectError
		if errors.As(err, &ce) {
			return &socketio.ConnectError{Message: ce.Message, Data: ce.Data}
		}
		return err
	})
}

// OnConnection registers the handler run for each socket that joins the
// namespace. Register the socket's event handlers inside it: the client's
// next packet is read only once the handlers have returned.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.nsp.OnConnection(func(s *socketio.Socket) { fn(wrap(s, n.events)) })
}

// SocketHandler handles one client event for whichever socket of the
// namespace sent it; args and ack are as for Handler.
type SocketHandler func(s *Socket, args []any, ack Ack)

// On registers the handler of a client event for every socket of the
// namespace, present and future. Prefer it to Socket.On: a socket's own
// handlers cost it memory (a closure or two each), these cost it nothing.
// Keep per-socket state in Socket.SetData. A socket's own handler for the
// same event (Socket.On) comes first.
func (n *Namespace) On(event string, h SocketHandler) {
	c := n.events.counter(event)
	ev := n.events
	n.nsp.On(event, func(s *socketio.Socket, args []any, ack socketio.AckFunc) {
		c.received.Add(1)
		h(wrap(s, ev), args, ackOf(ack))
	})
}

// OnUnknown registers the handler, for every socket of the namespace, of
// the events that have no handler (neither On nor the socket's own); a
// socket's own (Socket.OnUnknown) comes first.
func (n *Namespace) OnUnknown(h func(s *Socket, event string, args []any, ack Ack)) {
	ev := n.events
	n.nsp.OnAny(func(s *socketio.Socket, event string, args []any, ack socketio.AckFunc) {
		ev.other.received.Add(1)
		h(wrap(s, ev), event, args, ackOf(ack))
	})
}

// OnDisconnect registers a function run once for each socket that has
// left the namespace, with Socket.IO's reason (see Socket.OnDisconnect),
// after the socket's own OnDisconnect functions.
func (n *Namespace) OnDisconnect(fn func(s *Socket, reason string)) {
	ev := n.events
	n.nsp.OnDisconnect(func(s *socketio.Socket, reason string) { fn(wrap(s, ev), reason) })
}

// OnRecoveryExpired registers the handler run, with Options.Recovery, for
// each socket that disconnected kept for recovery (Socket.Kept) and whose
// client did not come back with it in time: data is what SetData stored.
// The application ends there what it kept for the socket past its
// OnDisconnect. It runs on a goroutine of its own, shortly after the
// window (Options.MaxDisconnection) has passed, at once when the client
// came back too late and got a new socket, and for every kept socket when
// the server closes.
func (n *Namespace) OnRecoveryExpired(fn func(id string, data any)) {
	n.nsp.OnRecoveryExpired(fn)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) {
	n.events.counter(event).sent.Add(1)
	_ = n.nsp.Emit(event, outgoing(args)...)
}

// To targets the sockets in room.
func (n *Namespace) To(room string) *Broadcast { return &Broadcast{op: n.nsp.To(room), ev: n.events} }

// SocketCount is the number of sockets connected to the namespace on this node.
func (n *Namespace) SocketCount() int { return n.nsp.Len() }

// Broadcast is an emission to a set of sockets, built fluently.
type Broadcast struct {
	op *socketio.BroadcastOperator
	ev *eventTable
}

// To adds a room to the target set.
func (b *Broadcast) To(room string) *Broadcast { return &Broadcast{op: b.op.To(room), ev: b.ev} }

// Except leaves out the sockets in room (a socket's ID is also a room).
func (b *Broadcast) Except(room string) *Broadcast {
	return &Broadcast{op: b.op.Except(room), ev: b.ev}
}

// Volatile marks the emission as droppable for clients that cannot take it
// at once (a write in progress, no poll waiting) instead of queueing.
func (b *Broadcast) Volatile() *Broadcast { return &Broadcast{op: b.op.Volatile(), ev: b.ev} }

// Latest makes the emission the newest value for key: at each receiver it
// replaces an emission with the same key still waiting to be written, so
// the last value always arrives and none pile up (cursor positions).
func (b *Broadcast) Latest(key string) *Broadcast { return &Broadcast{op: b.op.Latest(key), ev: b.ev} }

// Emit sends the event; the packet is encoded once for all receivers.
func (b *Broadcast) Emit(event string, args ...any) {
	b.ev.counter(event).sent.Add(1)
	_ = b.op.Emit(event, outgoing(args)...)
}

// logConnections logs every socket that joins n and leaves it.
func (n *Namespace) logConnections(log *slog.Logger) {
	attrs := func(s *socketio.Socket, extra ...slog.Attr) []slog.Attr {
		return append([]slog.Attr{slog.String("sid", s.ID()), slog.String("namespace", n.Name()),
			slog.String("transport", s.Transport()), slog.Int("protocol", s.Conn().Protocol())}, extra...)
	}
	ctx := context.Background()
	n.nsp.OnConnection(func(s *socketio.Socket) {
		log.LogAttrs(ctx, slog.LevelInfo, "socket connected", attrs(s, slog.Bool("recovered", s.Recovered()))...)
	})
	n.nsp.OnDisconnect(func(s *socketio.Socket, reason string) {
		log.LogAttrs(ctx, slog.LevelInfo, "socket disconnected", attrs(s, slog.String("reason", reason),
			slog.Duration("duration", time.Since(s.Joined()).Round(time.Millisecond)))...)
	})
}
