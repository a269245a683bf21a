package store

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/socketio-go/chatserver/chat"
)

// MemoryNames is a chat.Names for a single process.
type MemoryNames struct {
	mu     sync.Mutex
	owners map[string]string // folded name -> owner ID
}

// NewMemoryNames returns an empty name registry.
func NewMemoryNames() *MemoryNames {
	return &MemoryNames{owners: make(map[string]string)}
}

// Claim implements chat.Names.
func (n *MemoryNames) Claim(_ context.Context, name, ownerID string) error {
	key := chat.FoldName(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if owner, ok := n.owners[key]; ok && owner != ownerID {
		return chat.ErrNameTaken
	}
	n.owners[key] = ownerID
	return nil
}

// Release implements chat.Names.
func (n *MemoryNames) Release(_ context.Context, name, ownerID string) error {
	key := chat.FoldName(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.owners[key] == ownerID {
		delete(n.owners, key)
	}
	return nil
}

// MemoryPresence is a chat.Presence for a single process.
type MemoryPresence struct {
	mu    sync.RWMutex
	rooms map[string]*memoryRoom
}

// memoryRoom is one room with at least one member: who is in it, who is in
// its call and its player, which all go with the room.
type memoryRoom struct {
	members map[string]chat.User // user ID -> user
	inCall  map[string]struct{}
	player  *chat.Player
}

// NewMemoryPresence returns presence with no rooms.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{rooms: make(map[string]*memoryRoom)}
}

// Join implements chat.Presence.
func (p *MemoryPresence) Join(_ context.Context, room string, u chat.User) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		r = &memoryRoom{members: make(map[string]chat.User), inCall: make(map[string]struct{})}
		p.rooms[room] = r
	}
	r.members[u.ID] = u
	return nil
}

// Leave implements chat.Presence.
func (p *MemoryPresence) Leave(_ context.Context, room, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return nil
	}
	delete(r.members, userID)
	delete(r.inCall, userID)
	if len(r.members) == 0 {
		// Empty rooms are dropped, with their call and player, so the map
		// does not grow with every room name ever used.
		delete(p.rooms, room)
	}
	return nil
}

// Members implements chat.Presence.
func (p *MemoryPresence) Members(_ context.Context, room string) ([]chat.User, error) {
	p.mu.RLock()
	var out []chat.User
	if r := p.rooms[room]; r != nil {
		out = make([]chat.User, 0, len(r.members))
		for _, u := range r.members {
			out = append(out, u)
		}
	} else {
		out = []chat.User{}
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b chat.User) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Rooms implements chat.Presence.
func (p *MemoryPresence) Rooms(_ context.Context) ([]chat.RoomInfo, error) {
	p.mu.RLock()
	out := make([]chat.RoomInfo, 0, len(p.rooms))
	for name, r := range p.rooms {
		if len(r.members) > 0 {
			out = append(out, chat.RoomInfo{Name: name, Members: len(r.members)})
		}
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b chat.RoomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// HasMember implements chat.Presence.
func (p *MemoryPresence) HasMember(_ context.Context, room, userID string) (bool, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r := p.rooms[room]
	if r == nil {
		return false, nil
	}
	_, ok := r.members[userID]
	return ok, nil
}

// SetInCall implements chat.Presence.
func (p *MemoryPresence) SetInCall(_ context.Context, room, userID string, inCall bool, maxInCall int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return chat.ErrNotInRoom
	}
	if _, ok := r.members[userID]; !ok {
		return chat.ErrNotInRoom
	}
	if !inCall {
		delete(r.inCall, userID)
		return nil
	}
	if _, ok := r.inCall[userID]; ok {
		return nil
	}
	if len(r.inCall) >= maxInCall {
		return chat.ErrCallFull
	}
	r.inCall[userID] = struct{}{}
	return nil
}

// InCall implements chat.Presence.
func (p *MemoryPresence) InCall(_ context.Context, room string) ([]string, error) {
	p.mu.RLock()
	out := []string{}
	if r := p.rooms[room]; r != nil {
		for id := range r.inCall {
			out = append(out, id)
		}
	}
	p.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// Player implements chat.Presence.
func (p *MemoryPresence) Player(_ context.Context, room string) (*chat.Player, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r := p.rooms[room]
	if r == nil || r.player == nil {
		return nil, nil
	}
	cp := *r.player
	return &cp, nil
}

// UpdatePlayer implements chat.Presence.
func (p *MemoryPresence) UpdatePlayer(_ context.Context, room string, update func(*chat.Player) (chat.Player, error)) (chat.Player, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return chat.Player{}, chat.ErrNotInRoom
	}
	var prev *chat.Player
	if r.player != nil {
		cp := *r.player
		prev = &cp
	}
	next, err := update(prev)
	if err != nil {
		return chat.Player{}, err
	}
	r.player = &next
	return next, nil
}

// MemoryHistory is a chat.History for a single process and for tests. Like
// the persistent one it keeps only chat.HistoryRetention messages per room.
type MemoryHistory struct {
	mu    sync.RWMutex
	seq   int64
	rooms map[string][]chat.Message // oldest first
}

// NewMemoryHistory returns an empty history.
func NewMemoryHistory() *MemoryHistory {
	return &MemoryHistory{rooms: make(map[string][]chat.Message)}
}

// Append implements chat.History.
func (h *MemoryHistory) Append(_ context.Context, m chat.Message) (chat.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	m.ID = h.seq
	msgs := append(h.rooms[m.Room], m)
	if n := len(msgs) - chat.HistoryRetention; n > 0 {
		// Zero the dropped entries so their strings can be collected; the
		// reslice alone would keep them reachable until append reallocates.
		clear(msgs[:n])
		msgs = msgs[n:]
	}
	h.rooms[m.Room] = msgs
	return m, nil
}

// Recent implements chat.History.
func (h *MemoryHistory) Recent(_ context.Context, room string, limit int) ([]chat.Message, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return lastN(h.rooms[room], limit), nil
}

// Before implements chat.History.
func (h *MemoryHistory) Before(_ context.Context, room string, beforeID int64, limit int) ([]chat.Message, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	msgs := h.rooms[room]
	// IDs increase within a room, so the cut is a binary search.
	end := sort.Search(len(msgs), func(i int) bool { return msgs[i].ID >= beforeID })
	return lastN(msgs[:end], limit), nil
}

// lastN copies the last limit messages so callers never alias the store.
func lastN(msgs []chat.Message, limit int) []chat.Message {
	limit = max(0, min(limit, len(msgs)))
	out := make([]chat.Message, limit)
	copy(out, msgs[len(msgs)-limit:])
	return out
}

// Close implements chat.History.
func (h *MemoryHistory) Close() error { return nil }

var (
	_ chat.Names    = (*MemoryNames)(nil)
	_ chat.Presence = (*MemoryPresence)(nil)
	_ chat.History  = (*MemoryHistory)(nil)
)
