package realtime

import (
	"sync"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Namespace is one Socket.IO namespace ("/", "/chat", ...).
type Namespace struct {
	nsp socket.Namespace
	srv *Server

	mu          sync.RWMutex
	middlewares []func(*Socket) error
	// admitting maps the id of a socket being connected to a channel closed
	// once the library has recorded it (see admit).
	admitting sync.Map
}

// admitWait bounds how long admit holds a client's packets back; it only
// runs out when the connection dies while being admitted.
const admitWait = 2 * time.Second

// install registers the one library middleware through which every
// connection to the namespace passes.
func (n *Namespace) install() {
	n.nsp.Use(n.admit)
	// Registered before any OnConnection handler: the library emits
	// "connection" once it has recorded the socket.
	n.nsp.On("connection", func(args ...any) {
		if s, ok := args[0].(*socket.Socket); ok {
			if gate, ok := n.admitting.LoadAndDelete(s.Id()); ok {
				close(gate.(chan struct{}))
			}
		}
	})
}

// admit runs the namespace's middlewares, then holds the client's next
// packets until the connection is complete.
//
// The library (servers/socket/v3 namespace.go _doConnect, client.go
// doConnect) sends the CONNECT reply from the socket's task queue before it
// records the socket in the client; a packet the client sends right after
// CONNECT (socket.io.js emits as soon as it is connected) can be decoded in
// between, finds no socket, and the library closes the whole connection as
// an "invalid state". Middlewares run on the goroutine that decodes the
// client's packets, so waiting here until "connection" has fired closes
// that window.
func (n *Namespace) admit(s *socket.Socket, next func(*socket.ExtendedError)) {
	n.mu.RLock()
	mws := n.middlewares
	n.mu.RUnlock()
	w := n.srv.wrap(s)
	for _, fn := range mws {
		if err := fn(w); err != nil {
			var data any
			if ce, ok := err.(*ConnectError); ok {
				data = ce.Data
			}
			next(socket.NewExtendedError(err.Error(), data))
			return
		}
	}
	gate := make(chan struct{})
	n.admitting.Store(s.Id(), gate)
	next(nil)
	t := time.NewTimer(admitWait)
	defer t.Stop()
	select {
	case <-gate:
	case <-t.C:
		n.admitting.Delete(s.Id())
	}
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
// the order they were added.
func (n *Namespace) Use(fn func(*Socket) error) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares[:len(n.middlewares):len(n.middlewares)], fn)
	n.mu.Unlock()
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
