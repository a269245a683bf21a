package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service holds the backends shared by all sessions. It is safe for
// concurrent use as long as the backends are.
type Service struct {
	names    Names
	presence Presence
	history  History

	// now is replaceable so tests can drive rate limits and timestamps
	// without sleeping.
	now func() time.Time
	// logger receives cleanup failures that have no caller to return to
	// (Session.Close).
	logger *slog.Logger

	// mu guards away and departed. A Session may take it while holding its
	// own mu, never the other way round.
	mu sync.Mutex
	// away holds the suspended sessions of this process by folded name.
	away map[string]*Session
	// departed announces the users this service removed by itself.
	departed func(u User, rooms []string)
}

// NewService builds a Service over the given backends.
func NewService(names Names, presence Presence, history History) *Service {
	return &Service{
		names:    names,
		presence: presence,
		history:  history,
		now:      time.Now,
		logger:   slog.Default(),
		away:     make(map[string]*Session),
	}
}

// OnDeparture sets how the service announces a user it removed from their
// rooms by itself, rather than at their connection's request: one whose
// connection dropped (Session.Suspend) and whose name someone registered
// meanwhile. Set it before the first session starts.
func (s *Service) OnDeparture(fn func(u User, rooms []string)) {
	s.mu.Lock()
	s.departed = fn
	s.mu.Unlock()
}

// setAway records the suspended session holding name.
func (s *Service) setAway(name string, ss *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.away[FoldName(name)] = ss
}

// forgetAway forgets ss as the suspended session holding name.
func (s *Service) forgetAway(name string, ss *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.away[FoldName(name)] == ss {
		delete(s.away, FoldName(name))
	}
}

// ReclaimAway ends the suspended session holding name, if this process has
// one, and announces its departure (OnDeparture). It reports whether the
// name was freed. Registering a name does this by itself for this process;
// a cluster calls it for a registration on another node.
func (s *Service) ReclaimAway(ctx context.Context, name string) bool {
	name, err := ValidateName(name)
	return err == nil && s.reclaim(ctx, name)
}

// reclaim ends the suspended session holding name, if this process has one,
// and announces its departure. It reports whether the name was freed.
func (s *Service) reclaim(ctx context.Context, name string) bool {
	s.mu.Lock()
	old := s.away[FoldName(name)]
	departed := s.departed
	s.mu.Unlock()
	if old == nil {
		return false
	}
	u, rooms := old.Close(ctx)
	if u.ID == "" {
		return false // closed meanwhile, by its own expiry
	}
	if departed != nil && len(rooms) > 0 {
		departed(u, rooms)
	}
	return true
}

// Rooms lists the rooms with at least one member, sorted by name.
func (s *Service) Rooms(ctx context.Context) ([]RoomInfo, error) {
	rooms, err := s.presence.Rooms(ctx)
	if err != nil {
		return nil, internal("rooms", err)
	}
	if rooms == nil {
		rooms = []RoomInfo{}
	}
	return rooms, nil
}

// Messages returns a page of room's history, oldest first: the newest messages
// when beforeID <= 0, otherwise the newest ones with ID < beforeID. A limit
// <= 0 means a full page; larger limits are cut to MaxPageSize.
func (s *Service) Messages(ctx context.Context, room string, beforeID int64, limit int) ([]Message, error) {
	room, err := ValidateRoom(room)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var msgs []Message
	if beforeID <= 0 {
		msgs, err = s.history.Recent(ctx, room, limit)
	} else {
		msgs, err = s.history.Before(ctx, room, beforeID, limit)
	}
	if err != nil {
		return nil, internal("messages", err)
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}
