package chat

import "context"

// Names reserves user names. A shared implementation makes names unique
// across server instances, not just within one process.
type Names interface {
	// Claim reserves name for ownerID. Names compare case-insensitively.
	// Claiming a name the owner already holds succeeds; a name held by
	// another owner yields ErrNameTaken.
	Claim(ctx context.Context, name, ownerID string) error
	// Release frees name if ownerID holds it and does nothing otherwise, so a
	// late release from a stale connection cannot free someone else's name.
	Release(ctx context.Context, name, ownerID string) error
}

// Presence tracks which users are in which rooms.
type Presence interface {
	// Join adds u to room; joining again is not an error.
	Join(ctx context.Context, room string, u User) error
	// Leave removes the user from room; leaving a room one is not in is not
	// an error.
	Leave(ctx context.Context, room, userID string) error
	// Members lists the users in room sorted by name (then ID); an unknown
	// room has no members.
	Members(ctx context.Context, room string) ([]User, error)
	// Rooms lists rooms that have at least one member, sorted by name.
	Rooms(ctx context.Context) ([]RoomInfo, error)
	// HasMember reports whether userID is a member of room.
	HasMember(ctx context.Context, room, userID string) (bool, error)

	// A room's call and player are kept with its members and go when the
	// last member leaves: a member who leaves leaves the call, and an
	// empty room has no player.

	// SetInCall puts member userID of room in the room's call (inCall) or
	// takes them out of it. Putting in a user already in the call succeeds;
	// one who would be the maxInCall+1st gets ErrCallFull, one who is not a
	// member ErrNotInRoom.
	SetInCall(ctx context.Context, room, userID string, inCall bool, maxInCall int) error
	// InCall lists the IDs of room's members in its call, sorted.
	InCall(ctx context.Context, room string) ([]string, error)
	// Player returns room's player, or nil when there is none.
	Player(ctx context.Context, room string) (*Player, error)
	// UpdatePlayer stores what update returns given room's player (nil when
	// there is none), atomically with respect to other updates of the room's
	// player and to its last member leaving. It returns the stored player;
	// an error from update is returned as it is and stores nothing. A room
	// without members gets ErrNotInRoom and keeps no player.
	UpdatePlayer(ctx context.Context, room string, update func(prev *Player) (Player, error)) (Player, error)
}

// History stores messages per room, keeping at most HistoryRetention of them.
type History interface {
	// Append stores m, assigning it an ID greater than every ID assigned
	// before (in any room), and returns the stored message.
	Append(ctx context.Context, m Message) (Message, error)
	// Recent returns up to limit of the newest messages of room, oldest first.
	Recent(ctx context.Context, room string, limit int) ([]Message, error)
	// Before returns up to limit messages of room with ID < beforeID, the
	// newest such ones, oldest first.
	Before(ctx context.Context, room string, beforeID int64, limit int) ([]Message, error)
	Close() error
}

// StagedHistory is a History that numbers a message before it is stored,
// so that it can be delivered while it is being written (a disk's fsync
// then costs the sender's ack, not everyone's latency). Stage returns the
// numbered message and its write, to be called once; from Stage on, Recent
// and Before include the message, and stop including it if the write fails.
type StagedHistory interface {
	History
	Stage(ctx context.Context, m Message) (Message, func(context.Context) error, error)
}
