package socketio

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// BroadcastOptions selects the receivers of a broadcast and how it goes.
type BroadcastOptions struct {
	Rooms  []string // empty: the whole namespace
	Except []string // sockets in these rooms are left out
	Flags  BroadcastFlags
}

// BroadcastFlags are a broadcast's delivery options.
type BroadcastFlags struct {
	// Volatile drops the packet for a receiver that cannot take it now.
	Volatile bool
	// Local keeps the broadcast on this server (no cluster fan-out).
	Local bool
	// Latest, when set, makes the packet replace the still-queued packet
	// with the same key at each receiver: only the newest value waits.
	Latest string
	// Timeout is how long a broadcast with acknowledgements waits for
	// them (BroadcastOperator.EmitWithAck sets it); a cluster adapter
	// tells the other servers (Node's flags.timeout, in milliseconds).
	Timeout time.Duration
}

// Outgoing is one packet a namespace broadcasts: its data as the
// application gave it (the event name, then the arguments) and, built once
// on first use, the messages every local receiver shares. A cluster
// adapter publishes Data; the other servers encode it for their clients.
type Outgoing struct {
	Data []any // ["event", args...]
	ID   int64 // the acknowledgement id, or NoID

	nsp  *Namespace
	once sync.Once
	msgs []*engineio.Message
	err  error
}

// NewOutgoing returns a packet of namespace n to broadcast (an adapter
// builds one for what another server published).
func NewOutgoing(n *Namespace, data []any, id int64) *Outgoing {
	return &Outgoing{Data: data, ID: id, nsp: n}
}

// Messages encodes the packet for local delivery, once.
func (o *Outgoing) Messages() ([]*engineio.Message, error) {
	o.once.Do(func() {
		if len(o.Data) == 0 {
			o.err = ErrInvalidPayload
			return
		}
		event, _ := o.Data[0].(string)
		o.msgs, o.err = encodeEvent(o.nsp.name, o.ID, event, o.Data[1:])
	})
	return o.msgs, o.err
}

// SocketInfo describes a socket of any server of the cluster, as
// fetchSockets returns it.
type SocketInfo struct {
	ID        string
	Handshake map[string]any // Node's handshake object for remote sockets
	Rooms     []string
	Data      any
	// Local is the socket itself when it is on this server.
	Local *Socket
}

// Adapter keeps a namespace's rooms and delivers its broadcasts. The
// memory adapter is the default; a cluster adapter (Redis) embeds one and
// also carries broadcasts and the operations below to the other servers,
// unless opts.Flags.Local.
type Adapter interface {
	AddAll(s *Socket, rooms []string)
	Del(s *Socket, room string)
	DelAll(s *Socket)
	Rooms(s *Socket) []string
	// Sockets returns the local sockets selected by opts.
	Sockets(opts BroadcastOptions) []*Socket
	// Broadcast delivers the packet to the sockets selected by opts.
	Broadcast(p *Outgoing, opts BroadcastOptions)
	// BroadcastWithAck does the same for a packet asking each receiver for
	// an acknowledgement (p.ID): sent reports how many receivers got it
	// (on every server), ack is called with each answer.
	BroadcastWithAck(p *Outgoing, opts BroadcastOptions, sent func(int), ack func(args []any, err error))
	// AddSockets, DelSockets and DisconnectSockets make the sockets
	// selected by opts join or leave rooms, or disconnect.
	AddSockets(opts BroadcastOptions, rooms []string)
	DelSockets(opts BroadcastOptions, rooms []string)
	DisconnectSockets(opts BroadcastOptions, close bool)
	// FetchSockets describes the sockets selected by opts.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// AllRooms lists the rooms of every server.
	AllRooms(ctx context.Context) ([]string, error)
	// ServerSideEmit sends an event to the namespace on the other servers;
	// with ack, it waits for one answer per server (until ctx ends).
	ServerSideEmit(event string, args []any) error
	ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]any, error)
	// Close releases what the adapter holds (subscriptions).
	Close()
}

// RoomStats counts the rooms of this server's sockets (each socket's own
// room left out) and their memberships.
func (a *MemoryAdapter) RoomStats() (rooms, members int) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, m := range a.rooms {
		members += len(m)
	}
	return len(a.rooms), members
}

// MemoryAdapter keeps rooms in memory, for one server.
type MemoryAdapter struct {
	nsp *Namespace

	mu sync.RWMutex
	// A room's members map to their Engine.IO sessions, so that a
	// broadcast reaches each receiver's session without reading its
	// Socket and client (two cache misses a receiver).
	rooms map[string]map[*Socket]*engineio.Session
	// A socket's own room (its id) has one member for good: it is kept
	// here rather than as a map of one in rooms, and each socket's rooms
	// are a short list: an idle connection costs two map entries.
	own map[string]*Socket
	of  map[*Socket][]string
}

// NewMemoryAdapter returns the in-memory adapter for n.
func NewMemoryAdapter(n *Namespace) Adapter {
	return &MemoryAdapter{nsp: n, rooms: map[string]map[*Socket]*engineio.Session{}, own: map[string]*Socket{}, of: map[*Socket][]string{}}
}

func (a *MemoryAdapter) AddAll(s *Socket, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.of[s]
	for _, r := range rooms {
		if slices.Contains(mine, r) {
			continue
		}
		mine = append(mine, r)
		if r == s.id {
			a.own[r] = s
			continue
		}
		members := a.rooms[r]
		if members == nil {
			members = map[*Socket]*engineio.Session{}
			a.rooms[r] = members
		}
		members[s] = s.client.es
	}
	a.of[s] = mine
}

func (a *MemoryAdapter) Del(s *Socket, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delLocked(s, room)
}

func (a *MemoryAdapter) delLocked(s *Socket, room string) {
	a.leaveLocked(s, room)
	if mine := a.of[s]; mine != nil {
		if i := slices.Index(mine, room); i >= 0 {
			a.of[s] = slices.Delete(mine, i, i+1)
		}
	}
}

// leaveLocked takes s out of room's members.
func (a *MemoryAdapter) leaveLocked(s *Socket, room string) {
	if room == s.id {
		if a.own[room] == s {
			delete(a.own, room)
		}
		return
	}
	if members := a.rooms[room]; members != nil {
		delete(members, s)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

func (a *MemoryAdapter) DelAll(s *Socket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.of[s] {
		a.leaveLocked(s, r)
	}
	delete(a.of, s)
}

// membersLocked calls fn for each local socket in room, with its session.
func (a *MemoryAdapter) membersLocked(room string, fn func(*Socket, *engineio.Session)) {
	if s := a.own[room]; s != nil {
		fn(s, s.client.es)
	}
	for s, es := range a.rooms[room] {
		fn(s, es)
	}
}

func (a *MemoryAdapter) Rooms(s *Socket) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := slices.Clone(a.of[s])
	if out == nil {
		out = []string{}
	}
	return out
}

// HasRoom reports whether a local socket is in the room (a cluster
// adapter skips what is published to rooms nobody here is in).
func (a *MemoryAdapter) HasRoom(room string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms[room]) > 0 || a.own[room] != nil
}

func (a *MemoryAdapter) Sockets(opts BroadcastOptions) []*Socket {
	var out []*Socket
	a.each(opts, func(t target, _ int) { out = append(out, t.s) })
	return out
}

func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) {
	a.each(opts, func(t target, _ int) { t.s.Join(rooms...) })
}

func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) {
	a.each(opts, func(t target, _ int) {
		for _, r := range rooms {
			t.s.Leave(r)
		}
	})
}

func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) {
	a.each(opts, func(t target, _ int) { t.s.Disconnect(close) })
}

func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketInfo, error) {
	var out []SocketInfo
	a.each(opts, func(t target, _ int) { out = append(out, t.s.Info()) })
	return out, nil
}

func (a *MemoryAdapter) AllRooms(context.Context) ([]string, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms)+len(a.own))
	for r := range a.rooms {
		out = append(out, r)
	}
	for r := range a.own {
		out = append(out, r)
	}
	return out, nil
}

// ServerSideEmit has no other server to reach.
func (a *MemoryAdapter) ServerSideEmit(string, []any) error { return nil }

func (a *MemoryAdapter) ServerSideEmitWithAck(context.Context, string, []any) ([]any, error) {
	return []any{}, nil
}

func (a *MemoryAdapter) Close() {}

// targetsPool holds the receiver lists of broadcasts, so that a broadcast
// does not allocate one per call.
var targetsPool = sync.Pool{New: func() any { s := make([]target, 0, 256); return &s }}

// A target is a socket a broadcast goes to, with its Engine.IO session.
type target struct {
	s  *Socket
	es *engineio.Session
}

// each calls fn for every socket opts selects, after releasing the lock
// (a receiver's write may take time; joins and leaves must not wait for
// it); n is how many there are (a broadcast to more than one defers its
// writes to the flushers).
func (a *MemoryAdapter) each(opts BroadcastOptions, fn func(t target, n int)) {
	tp := targetsPool.Get().(*[]target)
	targets := (*tp)[:0]
	a.mu.RLock()
	var except map[*Socket]struct{}
	if len(opts.Except) > 0 {
		except = map[*Socket]struct{}{}
		for _, r := range opts.Except {
			a.membersLocked(r, func(s *Socket, _ *engineio.Session) { except[s] = struct{}{} })
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for s := range a.of {
			if _, no := except[s]; !no {
				targets = append(targets, target{s, s.client.es})
			}
		}
	case 1:
		a.membersLocked(opts.Rooms[0], func(s *Socket, es *engineio.Session) {
			if _, no := except[s]; !no {
				targets = append(targets, target{s, es})
			}
		})
	default:
		seen := map[*Socket]struct{}{}
		for _, r := range opts.Rooms {
			a.membersLocked(r, func(s *Socket, es *engineio.Session) {
				if _, no := except[s]; no {
					return
				}
				if _, dup := seen[s]; !dup {
					seen[s] = struct{}{}
					targets = append(targets, target{s, es})
				}
			})
		}
	}
	a.mu.RUnlock()
	for _, t := range targets {
		fn(t, len(targets))
	}
	clear(targets)
	*tp = targets[:0]
	if cap(targets) <= 1<<16 {
		targetsPool.Put(tp)
	}
}

func (a *MemoryAdapter) Broadcast(p *Outgoing, opts BroadcastOptions) {
	msgs, err := a.nsp.localMessages(p, opts)
	if err != nil {
		return
	}
	f := engineio.SendFlags{Volatile: opts.Flags.Volatile, Latest: opts.Flags.Latest}
	if f.Latest != "" {
		f.Latest = a.nsp.name + "\x00" + f.Latest
	}
	m := a.nsp.srv.eventMon()
	a.each(opts, func(t target, n int) {
		f.Deferred = n > 1
		if t.es.SendWith(f, msgs...) && m != nil {
			m.EventSent(t.s, p.Data)
		}
	})
}

func (a *MemoryAdapter) BroadcastWithAck(p *Outgoing, opts BroadcastOptions, sent func(int), ack func([]any, error)) {
	msgs, err := p.Messages()
	if err != nil {
		sent(0)
		return
	}
	n := 0
	a.each(opts, func(t target, total int) {
		if !t.s.registerAck(p.ID, 0, ack) {
			return
		}
		if t.es.SendWith(engineio.SendFlags{Volatile: opts.Flags.Volatile, Deferred: total > 1}, msgs...) {
			n++
		} else {
			t.s.takeAck(p.ID)
		}
	})
	sent(n)
}
