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
	rooms map[string]map[string]chat.User // room -> user ID -> user
}

// NewMemoryPresence returns presence with no rooms.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{rooms: make(map[string]map[string]chat.User)}
}

// Join implements chat.Presence.
func (p *MemoryPresence) Join(_ context.Context, room string, u chat.User) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := p.rooms[room]
	if members == nil {
		members = make(map[string]chat.User)
		p.rooms[room] = members
	}
	members[u.ID] = u
	return nil
}

// Leave implements chat.Presence.
func (p *MemoryPresence) Leave(_ context.Context, room, userID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := p.rooms[room]
	delete(members, userID)
	if len(members) == 0 {
		// Empty rooms are dropped so the map does not grow with every room
		// name ever used.
		delete(p.rooms, room)
	}
	return nil
}

// Members implements chat.Presence.
func (p *MemoryPresence) Members(_ context.Context, room string) ([]chat.User, error) {
	p.mu.RLock()
	members := p.rooms[room]
	out := make([]chat.User, 0, len(members))
	for _, u := range members {
		out = append(out, u)
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
	for name, members := range p.rooms {
		if len(members) > 0 {
			out = append(out, chat.RoomInfo{Name: name, Members: len(members)})
		}
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b chat.RoomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
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
