package chat

import (
	"context"
	"math"
	"net/url"
	"time"
	"unicode/utf8"
)

// Watching together and calling: a room's shared player, and the
// signalling that lets its members' browsers connect to each other for a
// call. The media never passes through the server.

// Player actions.
const (
	ActionLoad  = "load"
	ActionPlay  = "play"
	ActionPause = "pause"
	ActionSeek  = "seek"
)

// PlayerRequest is one player action. Position is read for seek (where to
// go) and load (where to start, 0 when absent); HasPosition says whether
// the client sent one.
type PlayerRequest struct {
	Room        string
	Action      string
	URL         string
	Position    float64
	HasPosition bool
}

// ValidateURL checks a media URL: an absolute http: or https: URL with a
// host, at most MaxURLLen characters, without white space or control
// characters. It returns the URL as given.
func ValidateURL(s string) (string, error) {
	if s == "" || len(s) > 4*MaxURLLen || utf8.RuneCountInString(s) > MaxURLLen || !utf8.ValidString(s) {
		return "", ErrURLInvalid
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError {
			return "", ErrURLInvalid
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", ErrURLInvalid
	}
	return s, nil
}

// validPosition reports whether p is a media position: finite and >= 0.
func validPosition(p float64) bool {
	return p >= 0 && !math.IsInf(p, 0) // NaN fails the comparison
}

// Control applies a player action to the room's player and returns the new
// state, for the wiring to acknowledge and broadcast. The position of
// play, pause and seek is computed from the previous state at the server's
// clock: what the media reached while it played.
func (ss *Session) Control(ctx context.Context, req PlayerRequest) (Player, error) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	u, room, err := ss.currentIn(req.Room)
	if err != nil {
		return Player{}, err
	}
	switch req.Action {
	case ActionLoad:
		if _, err := ValidateURL(req.URL); err != nil {
			return Player{}, err
		}
		if req.HasPosition && !validPosition(req.Position) {
			return Player{}, ErrBadRequest.WithMessage("position must be a number of seconds, 0 or more")
		}
	case ActionSeek:
		if !req.HasPosition || !validPosition(req.Position) {
			return Player{}, ErrBadRequest.WithMessage("seek needs a position: a number of seconds, 0 or more")
		}
	case ActionPlay, ActionPause:
	default:
		return Player{}, ErrBadRequest.WithMessage("action must be load, play, pause or seek")
	}
	now := ss.svc.now()
	if err := ss.inRoomAllowed(room, now, &ss.players, ErrPlayerRateLimited); err != nil {
		return Player{}, err
	}

	nowMs := now.UnixMilli()
	p, err := ss.svc.presence.UpdatePlayer(ctx, room, func(prev *Player) (Player, error) {
		next := Player{Room: room, UpdatedAt: nowMs, By: u}
		if req.Action == ActionLoad {
			next.URL = req.URL
			if req.HasPosition {
				next.Position = req.Position
			}
			return next, nil
		}
		if prev == nil || prev.URL == "" {
			return Player{}, ErrBadRequest.WithMessage("nothing is loaded in this room's player; load a URL first")
		}
		next.URL, next.Playing, next.Position = prev.URL, prev.Playing, prev.PositionAt(nowMs)
		switch req.Action {
		case ActionPlay:
			next.Playing = true
		case ActionPause:
			next.Playing = false
		case ActionSeek:
			next.Position = req.Position
		}
		return next, nil
	})
	if err != nil {
		return Player{}, internal("player", err)
	}
	return p, nil
}

// Signal checks a signalling message of size bytes (its data, encoded)
// from this session to the member to of room and returns the sender, for
// the wiring to deliver it to that member's connection, on whichever node
// it is.
func (ss *Session) Signal(ctx context.Context, room, to string, size int) (User, error) {
	u, room, err := ss.currentIn(room)
	if err != nil {
		return User{}, err
	}
	if size > MaxSignalBytes {
		return User{}, ErrBadRequest.WithMessage("signalling data is limited to 64 KiB")
	}
	if to == "" || to == u.ID || len(to) > 128 {
		return User{}, ErrPeerNotFound
	}
	now := ss.svc.now()
	ss.mu.Lock()
	_, member := ss.rooms[room]
	// Both budgets are checked before either is taken from, so a refused
	// message costs nothing.
	allowed := member && ss.signals.tokensAt(now) >= 1 && ss.sigBytes.tokensAt(now) >= float64(size)
	if allowed {
		ss.signals.allow(now)
		ss.sigBytes.allowN(now, float64(size))
	}
	ss.mu.Unlock()
	if !member {
		return User{}, ErrNotInRoom
	}
	if !allowed {
		return User{}, ErrSignalRateLimited
	}
	ok, err := ss.svc.presence.HasMember(ctx, room, to)
	if err != nil {
		return User{}, internal("signal", err)
	}
	if !ok {
		return User{}, ErrPeerNotFound
	}
	return u, nil
}

// Call puts this session's user in room's call (active) or takes them out
// of it, and returns the user for the wiring to announce. Leaving the room
// or closing the session leaves the call too.
func (ss *Session) Call(ctx context.Context, room string, active bool) (User, error) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	u, room, err := ss.currentIn(room)
	if err != nil {
		return User{}, err
	}
	if err := ss.inRoomAllowed(room, ss.svc.now(), &ss.calls, ErrCallRateLimited); err != nil {
		return User{}, err
	}
	if err := ss.svc.presence.SetInCall(ctx, room, u.ID, active, MaxInCall); err != nil {
		return User{}, internal("call", err)
	}
	return u, nil
}

// inRoomAllowed checks that the session is in room and takes a token from
// b at now: ErrNotInRoom, or limited when b is empty (nothing is taken then).
func (ss *Session) inRoomAllowed(room string, now time.Time, b *bucket, limited error) error {
	ss.mu.Lock()
	_, member := ss.rooms[room]
	allowed := member && b.allow(now)
	ss.mu.Unlock()
	if !member {
		return ErrNotInRoom
	}
	if !allowed {
		return limited
	}
	return nil
}
