package socketio

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// ConnectError refuses a namespace connection from middleware: the client
// gets CONNECT_ERROR with the message (and, protocol 5, the data).
type ConnectError struct {
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *ConnectError) Error() string { return e.Message }

// Namespace is a set of sockets with its own middleware, handlers and
// rooms (kept by its Adapter).
type Namespace struct {
	srv     *Server
	name    string
	adapter Adapter
	ids     atomic.Int64 // ack ids, shared by emits and broadcasts
	rec     *recovery    // nil without connection state recovery

	mu           sync.RWMutex
	sockets      map[string]*Socket
	middleware   []func(*Socket) error
	onConnection []func(*Socket)
	serverSide   map[string]EventHandler

	// The handlers every socket of the namespace shares (On, OnAny,
	// OnDisconnect): read on every event without a lock, replaced whole
	// when one is added. A socket pays nothing for them, where handlers
	// of its own (Socket.On) cost a closure and an entry each.
	shared atomic.Pointer[sharedHandlers]

	connects    atomic.Uint64 // sockets that joined, recovered ones included
	ackTimeouts atomic.Uint64 // acknowledgements the server waited for in vain
}

// NamespaceStats is a snapshot of a namespace's counters on this server.
type NamespaceStats struct {
	Sockets     int    // connected now
	Connects    uint64 // sockets that joined so far
	Rooms       int    // rooms with a member here (a socket's own room left out)
	Members     int    // memberships of those rooms
	AckTimeouts uint64 // acknowledgements asked of clients that did not come in time
}

// Stats returns the namespace's counters.
func (n *Namespace) Stats() NamespaceStats {
	st := NamespaceStats{Sockets: n.Len(), Connects: n.connects.Load(), AckTimeouts: n.ackTimeouts.Load()}
	if rs, ok := n.adapter.(interface{ RoomStats() (int, int) }); ok {
		st.Rooms, st.Members = rs.RoomStats()
	}
	return st
}

func newNamespace(s *Server, name string) *Namespace {
	n := &Namespace{srv: s, name: name, sockets: map[string]*Socket{}}
	if s.opts.Recovery != nil {
		n.rec = newRecovery(s.opts.Recovery)
	}
	n.adapter = s.opts.NewAdapter(n)
	return n
}

// Name is the namespace's name ("/chat").
func (n *Namespace) Name() string { return n.name }

// Adapter is the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// NewAckID reserves an acknowledgement id of the namespace: an adapter
// delivering another server's broadcast with acks asks its local sockets
// under an id of this server, which no pending acknowledgement here uses.
func (n *Namespace) NewAckID() int64 { return n.ids.Add(1) - 1 }

// Use adds connection middleware: each runs in order before a socket is
// admitted, on the connection's reader (so the client's next packets wait
// for it); an error refuses the socket (a *ConnectError to send data).
func (n *Namespace) Use(fn func(*Socket) error) {
	n.mu.Lock()
	n.middleware = append(n.middleware, fn)
	n.mu.Unlock()
}

// OnConnection adds a handler for every admitted socket; it runs after the
// client got its CONNECT answer, before the socket's next packet.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
}

// SocketEventHandler handles an event for whichever socket of the
// namespace it came from; ack is nil when the client asked for no
// acknowledgement.
type SocketEventHandler func(s *Socket, args []any, ack AckFunc)

type sharedHandlers struct {
	on         map[string]SocketEventHandler
	any        func(s *Socket, event string, args []any, ack AckFunc)
	disconnect []func(s *Socket, reason string)
}

// update replaces the shared handlers with a copy that fn changed.
func (n *Namespace) update(fn func(h *sharedHandlers)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := sharedHandlers{on: map[string]SocketEventHandler{}}
	if old := n.shared.Load(); old != nil {
		for k, v := range old.on {
			h.on[k] = v
		}
		h.any = old.any
		h.disconnect = append(h.disconnect, old.disconnect...)
	}
	fn(&h)
	n.shared.Store(&h)
}

// On sets the handler of event for every socket of the namespace. A
// handler a socket set for the same event itself (Socket.On) comes first.
func (n *Namespace) On(event string, h SocketEventHandler) {
	n.update(func(t *sharedHandlers) { t.on[event] = h })
}

// OnAny sets the handler of the events that have no handler, neither the
// socket's own nor the namespace's; a socket's own OnAny comes first.
func (n *Namespace) OnAny(h func(s *Socket, event string, args []any, ack AckFunc)) {
	n.update(func(t *sharedHandlers) { t.any = h })
}

// OnDisconnect adds a function called once for each socket that has left
// the namespace, with the reason, after the socket's own OnDisconnect
// functions.
func (n *Namespace) OnDisconnect(fn func(s *Socket, reason string)) {
	n.update(func(t *sharedHandlers) { t.disconnect = append(t.disconnect, fn) })
}

// Len is the number of sockets connected to the namespace on this server.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// Socket returns the connected socket with the id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// localMessages encodes a broadcast for this server's receivers: with a
// recovery offset as the last argument when the event is kept for clients
// that come back (then encoded apart from p's shared messages, which a
// cluster adapter may also use), else p's messages.
func (n *Namespace) localMessages(p *Outgoing, opts BroadcastOptions) ([]*engineio.Message, error) {
	if p.ID != NoID || !n.rec.keeps(opts) || len(p.Data) == 0 {
		return p.Messages()
	}
	event, _ := p.Data[0].(string)
	off := n.rec.offset()
	args := append(p.Data[1:len(p.Data):len(p.Data)], strconv.FormatInt(off, 10))
	msgs, err := encodeEvent(n.name, NoID, event, args)
	if err == nil {
		n.rec.store(off, opts, msgs)
	}
	return msgs, err
}

// OnRecoveryExpired sets the handler run for each socket kept for
// connection state recovery (Socket.Kept) whose client did not come back
// with it in time, with its id and data: the application ends there what it
// kept for the socket past OnDisconnect. It runs on a goroutine of its own,
// at most MaxDisconnection/8 + 250 ms after the window closed, at once when
// the client came back too late for what it missed, and for every kept
// socket during Server.Close. Without recovery it never runs.
func (n *Namespace) OnRecoveryExpired(fn func(id string, data any)) {
	if n.rec != nil {
		n.rec.setOnExpire(fn)
	}
}

// OnServerSideEmit sets the handler of an event other servers of the
// cluster send with ServerSideEmit; ack is nil unless the sender waits for
// an answer (then the first argument is the answer).
func (n *Namespace) OnServerSideEmit(event string, h EventHandler) {
	n.mu.Lock()
	if n.serverSide == nil {
		n.serverSide = map[string]EventHandler{}
	}
	n.serverSide[event] = h
	n.mu.Unlock()
}

// DispatchServerSide hands an event from another server to its handler;
// an adapter calls it. It reports whether there was a handler.
func (n *Namespace) DispatchServerSide(event string, args []any, ack AckFunc) bool {
	n.mu.RLock()
	h := n.serverSide[event]
	n.mu.RUnlock()
	if h == nil {
		return false
	}
	h(args, ack)
	return true
}

// ServerSideEmit sends an event to this namespace on the other servers.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	return n.adapter.ServerSideEmit(event, args)
}

// ServerSideEmitWithAck does the same and waits for one answer per server.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	return n.adapter.ServerSideEmitWithAck(ctx, event, args)
}

// Local starts a broadcast that stays on this server.
func (n *Namespace) Local() *BroadcastOperator { return n.broadcast().Local() }

// FetchSockets describes every socket of the namespace, on every server.
func (n *Namespace) FetchSockets(ctx context.Context) ([]SocketInfo, error) {
	return n.adapter.FetchSockets(ctx, BroadcastOptions{})
}

func (n *Namespace) admit(s *Socket) error {
	n.mu.RLock()
	mw := n.middleware
	n.mu.RUnlock()
	for _, fn := range mw {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

func (n *Namespace) add(s *Socket) {
	n.connects.Add(1)
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddAll(s, []string{s.id})
}

func (n *Namespace) connected(s *Socket) {
	// Before the application's handlers, as Node's admin UI listens:
	// their joins then follow the socket's arrival.
	if m := n.srv.mon(); m != nil {
		m.SocketConnected(s)
	}
	n.mu.RLock()
	handlers := n.onConnection
	n.mu.RUnlock()
	for _, fn := range handlers {
		fn(s)
	}
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
	n.adapter.DelAll(s)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return n.broadcast().Emit(event, args...)
}

// To starts a broadcast to the sockets in the rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator { return n.broadcast().To(rooms...) }

// Except starts a broadcast to everyone but the sockets in the rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return n.broadcast().Except(rooms...)
}

// Volatile starts a volatile broadcast to the namespace.
func (n *Namespace) Volatile() *BroadcastOperator { return n.broadcast().Volatile() }

// Latest starts a latest-value broadcast to the namespace (see
// BroadcastOperator.Latest).
func (n *Namespace) Latest(key string) *BroadcastOperator { return n.broadcast().Latest(key) }

func (n *Namespace) broadcast() *BroadcastOperator { return &BroadcastOperator{nsp: n} }
