package socketio

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// AckFunc answers an event that asked for an acknowledgement; only the
// first call counts.
type AckFunc func(args ...any)

// EventHandler handles an event; ack is nil when the client asked for no
// acknowledgement.
type EventHandler func(args []any, ack AckFunc)

// ErrAckTimeout is given to an acknowledgement callback whose answer did
// not come in time; ErrDisconnected when the socket went away first.
var (
	ErrAckTimeout   = errors.New("socketio: acknowledgement timed out")
	ErrDisconnected = errors.New("socketio: socket disconnected")
)

// Socket is a client's connection to one namespace.
type Socket struct {
	id        string
	pid       string // private session id, for recovery
	since     int64  // the newest recovery offset when it connected
	nsp       *Namespace
	client    *client
	auth      map[string]any
	recovered bool
	kept      bool  // kept for recovery when it disconnected
	joined    int64 // when it joined the namespace, Unix nanoseconds

	// handle is the application layer's value for the socket, made once
	// (Handle).
	handle atomic.Value

	mu           sync.Mutex
	connected    bool
	handlers     []eventHandler // a few per socket: a list is smaller than a map, and as fast
	anyHandler   func(event string, args []any, ack AckFunc)
	onDisconnect []func(reason string)
	acks         map[int64]*pendingAck
	data         any
}

type eventHandler struct {
	event string
	h     EventHandler
}

type pendingAck struct {
	fn    func(args []any, err error)
	timer *time.Timer
}

func newSocket(n *Namespace, c *client, auth map[string]any) *Socket {
	s := &Socket{id: newID(), nsp: n, client: c, auth: auth, connected: true, joined: time.Now().UnixNano()}
	if n.rec != nil {
		s.pid = newID()
	}
	return s
}

// Recovered reports whether the socket is a recovered session: same id,
// rooms and data as before a short disconnection, and the events it
// missed delivered before its CONNECT.
func (s *Socket) Recovered() bool { return s.recovered }

// Kept reports, once the socket has disconnected (in its OnDisconnect
// handlers), whether it is kept for connection state recovery: its client
// may come back with it within MaxDisconnection, and otherwise the
// namespace's OnRecoveryExpired handler runs for it.
func (s *Socket) Kept() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept
}

// Joined is when the socket joined the namespace (for a recovered socket,
// when it came back).
func (s *Socket) Joined() time.Time { return time.Unix(0, s.joined) }

// Handle returns the application layer's value for the socket: the one mk
// makes the first time it is asked, the same one after.
func (s *Socket) Handle(mk func(*Socket) any) any {
	if v := s.handle.Load(); v != nil {
		return v
	}
	v := mk(s)
	if s.handle.CompareAndSwap(nil, v) {
		return v
	}
	return s.handle.Load()
}

// ID is the socket's id (also the name of the room only it is in).
func (s *Socket) ID() string { return s.id }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Auth is the CONNECT payload (protocol 5) or the query (protocol 4).
func (s *Socket) Auth() map[string]any { return s.auth }

// Handshake is what was kept of the connection's handshake request.
func (s *Socket) Handshake() *Handshake { return s.client.hs }

// Protocol is the Socket.IO protocol version: 5, or 4 for 2.x clients.
func (s *Socket) Protocol() int { return s.client.proto }

// Transport is the connection's current transport.
func (s *Socket) Transport() string { return s.client.es.Transport() }

// Conn is the Engine.IO session under the socket.
func (s *Socket) Conn() *engineio.Session { return s.client.es }

// SetData and Data hold one value for the application.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// Connected reports whether the socket is still in its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// On sets the handler of an event.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].event == event {
			s.handlers[i].h = h
			return
		}
	}
	s.handlers = append(s.handlers, eventHandler{event, h})
}

// OnAny handles the events that have no handler of their own.
func (s *Socket) OnAny(h func(event string, args []any, ack AckFunc)) {
	s.mu.Lock()
	s.anyHandler = h
	s.mu.Unlock()
}

// OnDisconnect adds a function called once when the socket has left, with
// the reason; it has left its rooms by then (Node's "disconnect").
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// Info describes the socket as FetchSockets does.
func (s *Socket) Info() SocketInfo {
	hs := s.client.hs
	q := map[string]any{}
	for k, v := range hs.Query() {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	return SocketInfo{
		ID: s.id,
		Handshake: map[string]any{
			"address": hs.Address, "time": hs.Time.UTC().Format("Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"),
			"issued": hs.Time.UnixMilli(), "secure": hs.Secure, "xdomain": false,
			"query": q, "auth": s.auth, "headers": hs.Headers(), "url": hs.URL,
		},
		Rooms: s.Rooms(),
		Data:  s.Data(),
		Local: s,
	}
}

// Emit sends an event to this socket.
func (s *Socket) Emit(event string, args ...any) error {
	msgs, err := s.nsp.localMessages(NewOutgoing(s.nsp, eventData(event, args), NoID), BroadcastOptions{Rooms: []string{s.id}})
	if err != nil {
		return err
	}
	s.client.send(msgs)
	if m := s.nsp.srv.eventMon(); m != nil {
		m.EventSent(s, eventData(event, args))
	}
	return nil
}

// EmitWithAck sends an event asking for an acknowledgement; fn gets the
// client's answer, or ErrAckTimeout after timeout, or ErrDisconnected.
func (s *Socket) EmitWithAck(timeout time.Duration, fn func(args []any, err error), event string, args ...any) error {
	id := s.nsp.ids.Add(1) - 1
	msgs, err := encodeEvent(s.nsp.name, id, event, args)
	if err != nil {
		return err
	}
	if !s.registerAck(id, timeout, fn) {
		fn(nil, ErrDisconnected)
		return nil
	}
	s.client.send(msgs)
	if m := s.nsp.srv.eventMon(); m != nil {
		m.EventSent(s, eventData(event, args))
	}
	return nil
}

func (s *Socket) registerAck(id int64, timeout time.Duration, fn func([]any, error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return false
	}
	if s.acks == nil {
		s.acks = map[int64]*pendingAck{}
	}
	pa := &pendingAck{fn: fn}
	if timeout > 0 {
		pa.timer = time.AfterFunc(timeout, func() {
			if s.takeAck(id) != nil {
				s.nsp.ackTimeouts.Add(1)
				fn(nil, ErrAckTimeout)
			}
		})
	}
	s.acks[id] = pa
	return true
}

func (s *Socket) takeAck(id int64) *pendingAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	pa := s.acks[id]
	if pa != nil {
		delete(s.acks, id)
		if pa.timer != nil {
			pa.timer.Stop()
		}
	}
	return pa
}

// To starts a broadcast to the rooms, leaving this socket out.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.nsp.broadcast().Except(s.id).To(rooms...)
}

// Broadcast starts a broadcast to the whole namespace but this socket.
func (s *Socket) Broadcast() *BroadcastOperator { return s.nsp.broadcast().Except(s.id) }

// Join puts the socket in the rooms.
func (s *Socket) Join(rooms ...string) {
	if !s.Connected() {
		return
	}
	m := s.nsp.srv.mon()
	if m == nil {
		s.nsp.adapter.AddAll(s, rooms)
		return
	}
	before := s.Rooms()
	s.nsp.adapter.AddAll(s, rooms)
	for i, r := range rooms {
		if !slices.Contains(before, r) && !slices.Contains(rooms[:i], r) {
			m.RoomJoined(s, r)
		}
	}
}

// Leave takes the socket out of the room.
func (s *Socket) Leave(room string) {
	m := s.nsp.srv.mon()
	if m == nil {
		s.nsp.adapter.Del(s, room)
		return
	}
	was := s.InRoom(room)
	s.nsp.adapter.Del(s, room)
	if was {
		m.RoomLeft(s, room)
	}
}

// Rooms lists the rooms the socket is in, its own id included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.Rooms(s) }

// InRoom reports whether the socket is in the room.
func (s *Socket) InRoom(room string) bool {
	for _, r := range s.nsp.adapter.Rooms(s) {
		if r == room {
			return true
		}
	}
	return false
}

// Disconnect takes the socket out of its namespace (the client is told);
// with close, the whole connection closes too.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.client.disconnectAll()
		return
	}
	if s.Connected() {
		s.sendDisconnect()
		s.onClose(ReasonServerNamespaceDisconnect)
	}
}

func (s *Socket) sendDisconnect() {
	s.client.send([]*engineio.Message{engineio.NewMessage(AppendHeader(nil, PacketDisconnect, s.nsp.name, NoID, 0))})
}

// onEvent dispatches an event from the client.
func (s *Socket) onEvent(args []any, id int64) {
	var ack AckFunc
	if id >= 0 {
		var once sync.Once
		ack = func(out ...any) {
			once.Do(func() { s.sendAck(id, out) })
		}
	}
	event, _ := args[0].(string)
	s.mu.Lock()
	var h EventHandler
	for i := range s.handlers {
		if s.handlers[i].event == event {
			h = s.handlers[i].h
			break
		}
	}
	anyH := s.anyHandler
	connected := s.connected
	s.mu.Unlock()
	if !connected {
		return
	}
	if m := s.nsp.srv.eventMon(); m != nil {
		m.EventReceived(s, args)
	}
	shared := s.nsp.shared.Load()
	switch {
	case h != nil:
		h(args[1:], ack)
	case shared != nil && shared.on[event] != nil:
		shared.on[event](s, args[1:], ack)
	case anyH != nil:
		anyH(event, args[1:], ack)
	case shared != nil && shared.any != nil:
		shared.any(s, event, args[1:], ack)
	}
}

func (s *Socket) sendAck(id int64, args []any) {
	msgs, err := encodePacket(PacketAck, s.nsp.name, id, args)
	if err != nil {
		return
	}
	s.client.send(msgs)
}

func (s *Socket) onAck(id int64, args []any) {
	if pa := s.takeAck(id); pa != nil {
		pa.fn(args, nil)
	}
}

// onClose ends the socket once: it leaves its rooms and namespace, the
// disconnect handlers run, and acknowledgements still due fail.
func (s *Socket) onClose(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	handlers := s.onDisconnect
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	if s.nsp.rec != nil && s.client.proto == 5 && recoverableReasons[reason] {
		s.mu.Lock()
		s.kept = true
		s.mu.Unlock()
		s.nsp.rec.persist(s, s.nsp.adapter.Rooms(s))
	}
	m := s.nsp.srv.mon()
	var rooms []string
	if m != nil {
		rooms = s.Rooms()
	}
	s.nsp.remove(s)
	s.client.remove(s)
	for _, fn := range handlers {
		fn(reason)
	}
	if shared := s.nsp.shared.Load(); shared != nil {
		for _, fn := range shared.disconnect {
			fn(s, reason)
		}
	}
	if m != nil {
		// In Node's order: the socket is gone, then its rooms are left.
		m.SocketDisconnected(s, reason)
		for _, r := range rooms {
			m.RoomLeft(s, r)
		}
	}
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.fn(nil, ErrDisconnected)
	}
}

// encodeEvent encodes an EVENT (or BINARY_EVENT) packet once, as the
// messages every receiver shares.
func encodeEvent(nsp string, id int64, event string, args []any) ([]*engineio.Message, error) {
	vals := make([]any, 0, len(args)+1)
	vals = append(vals, event)
	vals = append(vals, args...)
	return encodePacket(PacketEvent, nsp, id, vals)
}

// encodePacket encodes an EVENT or ACK packet of values as its messages:
// the packet, typed BINARY_EVENT or BINARY_ACK when values hold binary
// data, then its attachments. The JSON goes from a pooled encoder straight
// into the message's frame.
func encodePacket(typ PacketType, nsp string, id int64, values []any) ([]*engineio.Message, error) {
	e := getArgsEncoder()
	defer e.put()
	data, att, err := e.encode(values)
	if err != nil {
		return nil, err
	}
	if len(att) > 0 {
		switch typ {
		case PacketEvent:
			typ = PacketBinaryEvent
		case PacketAck:
			typ = PacketBinaryAck
		}
	}
	var scratch [48]byte
	head := AppendHeader(scratch[:0], typ, nsp, id, len(att))
	msgs := make([]*engineio.Message, 0, 1+len(att))
	msgs = append(msgs, engineio.NewMessageParts(head, data))
	for _, a := range att {
		msgs = append(msgs, engineio.NewBinaryMessage(a))
	}
	return msgs, nil
}
