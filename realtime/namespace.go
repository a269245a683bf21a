package realtime

import (
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Namespace is one Socket.IO namespace ("/", "/chat", ...).
type Namespace struct {
	nsp socket.Namespace
	srv *Server
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
// with a connect_error (use *ConnectError to attach data).
func (n *Namespace) Use(fn func(*Socket) error) {
	n.nsp.Use(func(s *socket.Socket, next func(*socket.ExtendedError)) {
		err := fn(n.srv.wrap(s))
		if err == nil {
			next(nil)
			return
		}
		var data any
		if ce, ok := err.(*ConnectError); ok {
			data = ce.Data
		}
		next(socket.NewExtendedError(err.Error(), data))
	})
}

// OnConnection registers the handler run for each socket that joins the
// namespace. Register the socket's event handlers inside it.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.nsp.On("connection", func(args ...any) {
		if s, ok := args[0].(*socket.Socket); ok {
			fn(n.srv.wrap(s))
		}
	})
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) {
	_ = n.nsp.Emit(event, outgoing(args)...)
}

// To targets the sockets in room.
func (n *Namespace) To(room string) *Broadcast {
	return &Broadcast{op: n.nsp.To(socket.Room(room))}
}

// SocketCount is the number of sockets connected to the namespace on this node.
func (n *Namespace) SocketCount() int { return n.nsp.Sockets().Len() }

// Broadcast is an emission to a set of sockets, built fluently.
type Broadcast struct {
	op *socket.BroadcastOperator
}

// To adds a room to the target set.
func (b *Broadcast) To(room string) *Broadcast {
	return &Broadcast{op: b.op.To(socket.Room(room))}
}

// Except leaves out the sockets in room (a socket's ID is also a room).
func (b *Broadcast) Except(room string) *Broadcast {
	return &Broadcast{op: b.op.Except(socket.Room(room))}
}

// Volatile marks the emission as droppable for clients that are not ready
// to receive it (mid-upgrade or with a full buffer) instead of queueing.
func (b *Broadcast) Volatile() *Broadcast {
	return &Broadcast{op: b.op.Volatile()}
}

// Emit sends the event; the packet is encoded once for all receivers.
func (b *Broadcast) Emit(event string, args ...any) {
	_ = b.op.Emit(event, outgoing(args)...)
}
