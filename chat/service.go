package chat

import (
	"context"
	"log/slog"
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
}

// NewService builds a Service over the given backends.
func NewService(names Names, presence Presence, history History) *Service {
	return &Service{
		names:    names,
		presence: presence,
		history:  history,
		now:      time.Now,
		logger:   slog.Default(),
	}
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
