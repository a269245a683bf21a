package socketio

import (
	"maps"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// Monitor is told what happens to the sockets of every namespace: the
// Socket.IO Admin UI's server side is one. Its methods run on the
// goroutine doing the work (a connection's reader, a broadcaster), never
// under a lock of the namespace, and must not block.
type Monitor interface {
	SocketConnected(s *Socket)
	// SocketUpdated: the socket's connection moved to another transport.
	SocketUpdated(s *Socket)
	// SocketDisconnected runs once the socket has left; RoomLeft then
	// runs for each room it was in.
	SocketDisconnected(s *Socket, reason string)
	RoomJoined(s *Socket, room string)
	RoomLeft(s *Socket, room string)
	// EventReceived and EventSent see every event's data (the name, then
	// the arguments), received from or sent to s; they run only for a
	// monitor set with events on, since they cost a call per delivery.
	EventReceived(s *Socket, data []any)
	EventSent(s *Socket, data []any)
}

type monitorState struct {
	m      Monitor
	events bool
}

// SetMonitor installs m (nil removes it); with events, it also sees every
// event received and sent.
func (s *Server) SetMonitor(m Monitor, events bool) {
	if m == nil {
		s.monitor.Store(nil)
		return
	}
	s.monitor.Store(&monitorState{m: m, events: events})
}

// mon is the monitor, or nil: one atomic load on the paths that report.
func (s *Server) mon() Monitor {
	if st := s.monitor.Load(); st != nil {
		return st.m
	}
	return nil
}

// eventMon is the monitor when it wants events, or nil.
func (s *Server) eventMon() Monitor {
	if st := s.monitor.Load(); st != nil && st.events {
		return st.m
	}
	return nil
}

// Namespaces lists the server's namespaces.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	return out
}

// OnUpgrade tells the monitor the sockets of the connection changed
// transport (engineio.Upgrader).
func (c *client) OnUpgrade(*engineio.Session) {
	m := c.srv.mon()
	if m == nil {
		return
	}
	c.mu.Lock()
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range sockets {
		m.SocketUpdated(s)
	}
}

var _ engineio.Upgrader = (*client)(nil)

// Lookup returns the namespace with the name, or nil: unlike Of, it never
// creates one.
func (s *Server) Lookup(name string) *Namespace { return s.namespace(name) }

// Broadcast starts an operation on every socket of the namespace.
func (n *Namespace) Broadcast() *BroadcastOperator { return n.broadcast() }

// AdminKey is the key of socket data under which Node's admin UI keeps a
// socket's engine id and transport, so that another server's admin view
// can show them for sockets it fetched.
const AdminKey = "_admin"

// SharedData is the socket's data as other servers of the cluster get it
// from fetchSockets: its data, plus, while a monitor is set, the engine id
// and transport under AdminKey (as Node's instrumented servers do; the
// application's data is then shown only when it is a map of its own).
func (s *Socket) SharedData() any {
	d := s.Data()
	if s.nsp.srv.mon() == nil {
		return d
	}
	out := map[string]any{}
	if m, ok := d.(map[string]any); ok {
		maps.Copy(out, m)
	}
	out[AdminKey] = map[string]any{"clientId": ClientID(s), "transport": s.Transport()}
	return out
}

// ClientID is how Node's admin UI names a socket's connection: the first
// 12 characters of its Engine.IO session id (sockets of one connection
// share it).
func ClientID(s *Socket) string {
	id := s.client.es.ID()
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
