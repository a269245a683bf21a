package socketio

import (
	"sync"

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
}

// Adapter keeps a namespace's rooms and delivers its broadcasts. The
// memory adapter is the default; a cluster adapter wraps one and also
// carries broadcasts to the other servers.
type Adapter interface {
	AddAll(s *Socket, rooms []string)
	Del(s *Socket, room string)
	DelAll(s *Socket)
	Rooms(s *Socket) []string
	// Sockets returns the local sockets in any of the rooms (all if none).
	Sockets(rooms []string) []*Socket
	// Broadcast delivers msgs (one packet, encoded once) to the receivers.
	Broadcast(msgs []*engineio.Message, opts BroadcastOptions)
	// BroadcastWithAck does the same for a packet asking each receiver for
	// an acknowledgement with id; sent reports how many got it; ack is
	// called with each answer.
	BroadcastWithAck(msgs []*engineio.Message, id int64, opts BroadcastOptions, sent func(int), ack func(args []any, err error))
}

// MemoryAdapter keeps rooms in memory, for one server.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]map[*Socket]struct{}
	of    map[*Socket]map[string]struct{}
}

// NewMemoryAdapter returns the in-memory adapter for n.
func NewMemoryAdapter(n *Namespace) Adapter {
	return &MemoryAdapter{nsp: n, rooms: map[string]map[*Socket]struct{}{}, of: map[*Socket]map[string]struct{}{}}
}

func (a *MemoryAdapter) AddAll(s *Socket, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.of[s]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		a.of[s] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = map[*Socket]struct{}{}
			a.rooms[r] = members
		}
		members[s] = struct{}{}
	}
}

func (a *MemoryAdapter) Del(s *Socket, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delLocked(s, room)
}

func (a *MemoryAdapter) delLocked(s *Socket, room string) {
	if members := a.rooms[room]; members != nil {
		delete(members, s)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
	if mine := a.of[s]; mine != nil {
		delete(mine, room)
	}
}

func (a *MemoryAdapter) DelAll(s *Socket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r := range a.of[s] {
		a.delLocked(s, r)
	}
	delete(a.of, s)
}

func (a *MemoryAdapter) Rooms(s *Socket) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.of[s]))
	for r := range a.of[s] {
		out = append(out, r)
	}
	return out
}

// RoomSizes returns every room with its number of local sockets.
func (a *MemoryAdapter) RoomSizes() map[string]int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make(map[string]int, len(a.rooms))
	for r, m := range a.rooms {
		out[r] = len(m)
	}
	return out
}

func (a *MemoryAdapter) Sockets(rooms []string) []*Socket {
	var out []*Socket
	a.each(BroadcastOptions{Rooms: rooms}, func(s *Socket) { out = append(out, s) })
	return out
}

// targetsPool holds the receiver lists of broadcasts, so that a broadcast
// does not allocate one per call.
var targetsPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 256); return &s }}

// each calls fn for every receiver of opts, after releasing the lock (a
// receiver's write may take time; joins and leaves must not wait for it).
func (a *MemoryAdapter) each(opts BroadcastOptions, fn func(*Socket)) {
	tp := targetsPool.Get().(*[]*Socket)
	targets := (*tp)[:0]
	a.mu.RLock()
	var except map[*Socket]struct{}
	if len(opts.Except) > 0 {
		except = map[*Socket]struct{}{}
		for _, r := range opts.Except {
			for s := range a.rooms[r] {
				except[s] = struct{}{}
			}
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for s := range a.of {
			if _, no := except[s]; !no {
				targets = append(targets, s)
			}
		}
	case 1:
		for s := range a.rooms[opts.Rooms[0]] {
			if _, no := except[s]; !no {
				targets = append(targets, s)
			}
		}
	default:
		seen := map[*Socket]struct{}{}
		for _, r := range opts.Rooms {
			for s := range a.rooms[r] {
				if _, no := except[s]; no {
					continue
				}
				if _, dup := seen[s]; !dup {
					seen[s] = struct{}{}
					targets = append(targets, s)
				}
			}
		}
	}
	a.mu.RUnlock()
	for _, s := range targets {
		fn(s)
	}
	clear(targets)
	*tp = targets[:0]
	if cap(targets) <= 1<<16 {
		targetsPool.Put(tp)
	}
}

func (a *MemoryAdapter) Broadcast(msgs []*engineio.Message, opts BroadcastOptions) {
	vol, latest := opts.Flags.Volatile, opts.Flags.Latest
	if latest != "" {
		latest = a.nsp.name + "\x00" + latest
	}
	a.each(opts, func(s *Socket) { s.client.send(msgs, vol, latest) })
}

func (a *MemoryAdapter) BroadcastWithAck(msgs []*engineio.Message, id int64, opts BroadcastOptions, sent func(int), ack func([]any, error)) {
	n := 0
	a.each(opts, func(s *Socket) {
		if !s.registerAck(id, 0, ack) {
			return
		}
		if s.client.send(msgs, opts.Flags.Volatile, "") {
			n++
		} else {
			s.takeAck(id)
		}
	})
	sent(n)
}
