package chat

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Session is the state of one connection: its registered user, the rooms it
// is in and its rate limiters. The transport calls it from several
// goroutines, so it is safe for concurrent use.
type Session struct {
	svc *Service
	id  string

	// opMu serialises the actions that touch backends, so that for example a
	// Join racing with Close cannot leave the user in a room after the
	// connection is gone, and one client's messages are stored in the order
	// they were handled.
	opMu sync.Mutex

	// mu guards the fields below and is held only briefly, never across
	// backend I/O, so that Cursor (the hottest event) never waits behind a
	// slow disk write in Post.
	mu         sync.Mutex
	user       User
	registered bool
	closed     bool
	suspended  bool
	rooms      map[string]struct{}
	messages   bucket
	cursors    bucket
	registers  bucket
	players    bucket
	signals    bucket
	sigBytes   bucket
	calls      bucket
	posted     []Message // the last PostedRemembered messages, oldest first
}

// NewSession starts the state of connection id. The id becomes the user's ID
// and the owner of the claimed name.
func (s *Service) NewSession(id string) *Session {
	return &Session{
		svc:       s,
		id:        id,
		rooms:     make(map[string]struct{}),
		messages:  newBucket(&messageLimit),
		cursors:   newBucket(&cursorLimit),
		registers: newBucket(&registerLimit),
		players:   newBucket(&playerLimit),
		signals:   newBucket(&signalLimit),
		sigBytes:  newBucket(&sigByteLimit),
		calls:     newBucket(&callLimit),
	}
}

// The limits of a session's buckets, shared by all sessions.
var (
	messageLimit  = limit{MessageRate, MessageBurst}
	cursorLimit   = limit{CursorRate, CursorBurst}
	registerLimit = limit{RegisterRate, RegisterBurst}
	playerLimit   = limit{PlayerRate, PlayerBurst}
	signalLimit   = limit{SignalRate, SignalBurst}
	sigByteLimit  = limit{SignalByteRate, SignalByteBurst}
	callLimit     = limit{CallRate, CallBurst}
)

// ID returns the connection ID the session was created with.
func (ss *Session) ID() string { return ss.id }

// User returns the registered user; false until Register succeeds and after
// Close.
func (ss *Session) User() (User, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.user, ss.registered
}

// Rooms returns the rooms the session is in, sorted.
func (ss *Session) Rooms() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.roomListLocked()
}

func (ss *Session) roomListLocked() []string {
	rooms := make([]string, 0, len(ss.rooms))
	for r := range ss.rooms {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	return rooms
}

// current returns the registered user, or the error every action other than
// Register reports before registration.
func (ss *Session) current() (User, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.closed:
		return User{}, ErrClosed
	case !ss.registered:
		return User{}, ErrNotRegistered
	}
	return ss.user, nil
}

// currentIn is current, with room validated (and normalized): the checks
// every action on a room starts with, in their order.
func (ss *Session) currentIn(room string) (User, string, error) {
	u, err := ss.current()
	if err != nil {
		return User{}, "", err
	}
	if room, err = ValidateRoom(room); err != nil {
		return User{}, "", err
	}
	return u, room, nil
}

func (ss *Session) inRoom(room string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ok := ss.rooms[room]
	return ok
}

// Register claims name for this connection. Attempts with a valid name are
// rate limited (RegisterRate, RegisterBurst): ErrRegisterRateLimited.
// Repeating it with the same name succeeds again; a different name yields
// ErrAlreadyRegistered because other members already know the user by the
// first one.
func (ss *Session) Register(ctx context.Context, name string) (User, error) {
	name, err := ValidateName(name)
	if err != nil {
		return User{}, err
	}
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	ss.mu.Lock()
	closed, registered, u := ss.closed, ss.registered, ss.user
	allowed := closed || registered || ss.registers.allow(ss.svc.now())
	ss.mu.Unlock()
	switch {
	case closed:
		return User{}, ErrClosed
	case registered && u.Name == name:
		return u, nil
	case registered:
		return User{}, ErrAlreadyRegistered
	case !allowed:
		return User{}, ErrRegisterRateLimited
	}

	err = ss.svc.names.Claim(ctx, name, ss.id)
	if errors.Is(err, ErrNameTaken) && ss.svc.reclaim(ctx, name) {
		// Held by a user whose connection dropped: the name is free for
		// whoever registers it first, as it was before suspension existed
		// (most often the same person, whose client could not recover).
		err = ss.svc.names.Claim(ctx, name, ss.id)
	}
	if err != nil {
		return User{}, internal("register", err)
	}
	u = User{ID: ss.id, Name: name}
	ss.mu.Lock()
	ss.user, ss.registered = u, true
	ss.mu.Unlock()
	return u, nil
}

// Conn is the connection's side of a room: Join puts it in the room's
// broadcasts, Leave takes it out (a realtime.Socket is one). Session.Join
// and Session.Leave order it with the domain's own state; nil is no
// connection (tools, tests).
type Conn interface {
	Join(room string)
	Leave(room string)
}

// Join enters room and returns its recent history and members. Joining a room
// the session is already in returns the same data with AlreadyMember set.
//
// conn enters the room's broadcasts before the history is read, so a
// message posted meanwhile reaches it live when it is not in the history
// (clients de-duplicate by id); it leaves again if the join fails.
func (ss *Session) Join(ctx context.Context, room string, conn Conn) (JoinResult, error) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	u, room, err := ss.currentIn(room)
	if err != nil {
		return JoinResult{}, err
	}
	already := ss.inRoom(room)
	if !already {
		ss.mu.Lock()
		full := len(ss.rooms) >= MaxRoomsPerUser
		ss.mu.Unlock()
		if full {
			return JoinResult{}, ErrTooManyRooms
		}
		// Join presence before reading members so the joiner is listed.
		if err := ss.svc.presence.Join(ctx, room, u); err != nil {
			return JoinResult{}, internal("join", err)
		}
		if conn != nil {
			conn.Join(room)
		}
	}

	res, err := ss.snapshot(ctx, room)
	if err != nil {
		if !already {
			// Undo, so a failed join does not leave an invisible member
			// that the client believes is not in the room.
			_ = ss.svc.presence.Leave(context.WithoutCancel(ctx), room, u.ID)
			if conn != nil {
				conn.Leave(room)
			}
		}
		return JoinResult{}, err
	}
	res.AlreadyMember = already
	if !already {
		ss.mu.Lock()
		ss.rooms[room] = struct{}{}
		ss.mu.Unlock()
	}
	return res, nil
}

func (ss *Session) snapshot(ctx context.Context, room string) (JoinResult, error) {
	history, err := ss.svc.history.Recent(ctx, room, HistoryOnJoin)
	if err != nil {
		return JoinResult{}, internal("join history", err)
	}
	users, err := ss.svc.presence.Members(ctx, room)
	if err != nil {
		return JoinResult{}, internal("join members", err)
	}
	inCall, err := ss.svc.presence.InCall(ctx, room)
	if err != nil {
		return JoinResult{}, internal("join call", err)
	}
	player, err := ss.svc.presence.Player(ctx, room)
	if err != nil {
		return JoinResult{}, internal("join player", err)
	}
	if history == nil {
		history = []Message{}
	}
	members := make([]Member, len(users))
	for i, u := range users {
		members[i] = Member{ID: u.ID, Name: u.Name, InCall: slices.Contains(inCall, u.ID)}
	}
	return JoinResult{Room: room, History: history, Members: members, Player: player}, nil
}

// Leave exits room and returns the user, for the wiring to announce; conn
// (when not nil) leaves the room's broadcasts with it.
func (ss *Session) Leave(ctx context.Context, room string, conn Conn) (User, error) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	u, room, err := ss.currentIn(room)
	if err != nil {
		return User{}, err
	}
	if !ss.inRoom(room) {
		return User{}, ErrNotInRoom
	}
	if err := ss.svc.presence.Leave(ctx, room, u.ID); err != nil {
		// Stay a member so the session keeps agreeing with presence; the
		// client may retry.
		return User{}, internal("leave", err)
	}
	ss.mu.Lock()
	delete(ss.rooms, room)
	ss.mu.Unlock()
	if conn != nil {
		conn.Leave(room)
	}
	return u, nil
}

// Post stores a message in room and returns it with its ID and timestamp.
// Requests that are invalid do not use up the rate limit; only messages that
// would be stored count.
func (ss *Session) Post(ctx context.Context, room, text, clientID string) (Message, error) {
	return ss.Publish(ctx, room, text, clientID, nil)
}

// Publish is Post that also hands the message to deliver (when not nil) as
// soon as it has its ID: with a StagedHistory while it is still being
// written, otherwise once stored. Publish itself returns once the message
// is stored. If the write fails after deliver ran, the others have the
// message but the history does not, and the sender gets the error. A
// message sent again (the same clientId) is not delivered again.
func (ss *Session) Publish(ctx context.Context, room, text, clientID string, deliver func(Message)) (Message, error) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	u, room, err := ss.currentIn(room)
	if err != nil {
		return Message{}, err
	}
	if !validClientID(clientID) {
		return Message{}, ErrBadRequest
	}
	if text, err = ValidateText(text); err != nil {
		return Message{}, err
	}
	now := ss.svc.now()
	ss.mu.Lock()
	_, member := ss.rooms[room]
	if prev, ok := ss.postedLocked(room, clientID); ok && member {
		// Sent again, most likely because the ack was lost with a
		// connection: the message is stored already.
		ss.mu.Unlock()
		return prev, nil
	}
	allowed := member && ss.messages.allow(now)
	ss.mu.Unlock()
	if !member {
		return Message{}, ErrNotInRoom
	}
	if !allowed {
		return Message{}, ErrRateLimited
	}

	m, write, err := stage(ctx, ss.svc.history, Message{Room: room, From: u, Text: text, TS: now.UnixMilli(), ClientID: clientID})
	if err != nil {
		return Message{}, internal("post", err)
	}
	if deliver != nil {
		deliver(m)
	}
	if err := write(ctx); err != nil {
		return Message{}, internal("post", err)
	}
	if clientID != "" {
		ss.mu.Lock()
		if len(ss.posted) == PostedRemembered {
			ss.posted = append(ss.posted[:0], ss.posted[1:]...)
		}
		ss.posted = append(ss.posted, m)
		ss.mu.Unlock()
	}
	return m, nil
}

// stage numbers m with h: staged when h can, else stored at once (and the
// write has nothing left to do).
func stage(ctx context.Context, h History, m Message) (Message, func(context.Context) error, error) {
	if sh, ok := h.(StagedHistory); ok {
		return sh.Stage(ctx, m)
	}
	m, err := h.Append(ctx, m)
	return m, func(context.Context) error { return nil }, err
}

// postedLocked finds a message this session stored in room under clientID.
func (ss *Session) postedLocked(room, clientID string) (Message, bool) {
	if clientID == "" {
		return Message{}, false
	}
	for i := len(ss.posted) - 1; i >= 0; i-- {
		if m := ss.posted[i]; m.ClientID == clientID && m.Room == room {
			return m, true
		}
	}
	return Message{}, false
}

// Cursor validates a mouse position and reports whether to broadcast it. It
// does no I/O and never blocks on other actions' backend calls. Anything
// invalid, from an unregistered user, for a room the session is not in, or
// over CursorRate is dropped (false): cursors are ephemeral, so neither an
// error nor a queue would help anyone.
func (ss *Session) Cursor(room string, x, y float64) (Cursor, bool) {
	// Written so that NaN fails too: every comparison with NaN is false.
	if !(x >= 0 && x <= 1 && y >= 0 && y <= 1) {
		return Cursor{}, false
	}
	now := ss.svc.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.registered || ss.closed {
		return Cursor{}, false
	}
	// Membership implies the room name is valid, so it is not re-validated.
	if _, ok := ss.rooms[room]; !ok {
		return Cursor{}, false
	}
	if !ss.cursors.allow(now) {
		return Cursor{}, false
	}
	return Cursor{ID: ss.user.ID, Name: ss.user.Name, Room: room, X: x, Y: y}, true
}

// Suspend keeps the session while its connection is gone and may come back
// (connection state recovery): the user stays in their rooms and keeps
// their name, and the returning connection takes the session back with
// Resume. It returns the user and their rooms, for the wiring to announce
// them away, or false when there is nobody to announce (not registered yet,
// closed, or suspended already). A suspended session ends with Close, when
// the connection will not come back, or when someone registers its name:
// then it is closed and its departure announced through
// Service.OnDeparture.
func (ss *Session) Suspend() (User, []string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.registered || ss.closed || ss.suspended {
		return User{}, nil, false
	}
	ss.suspended = true
	ss.svc.setAway(ss.user.Name, ss) // under ss.mu, so that Close cannot run between
	return ss.user, ss.roomListLocked(), true
}

// Resume takes the session back for its returning connection. When it was
// suspended it returns the user and their rooms, for the wiring to announce
// them back (an unregistered session returns no user). It returns false
// when the session ended meanwhile: the connection must start over.
func (ss *Session) Resume() (User, []string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.closed:
		return User{}, nil, false
	case !ss.suspended:
		return User{}, nil, true
	}
	ss.suspended = false
	ss.svc.forgetAway(ss.user.Name, ss)
	return ss.user, ss.roomListLocked(), true
}

// Close ends the session: it leaves every room, releases the name and
// returns the user and the rooms left (sorted) so the wiring can announce the
// departure. Later calls return nothing, so departures are announced once.
//
// Cleanup ignores cancellation of ctx because the connection's context is
// typically cancelled exactly when the connection closes, and skipping the
// cleanup would leave a ghost member and a name nobody can use. Backend
// failures are logged and the remaining cleanup still runs.
func (ss *Session) Close(ctx context.Context) (User, []string) {
	ss.opMu.Lock()
	defer ss.opMu.Unlock()

	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return User{}, nil
	}
	ss.closed = true
	u, registered := ss.user, ss.registered
	if ss.suspended {
		ss.svc.forgetAway(u.Name, ss)
	}
	rooms := ss.roomListLocked()
	ss.registered = false
	ss.user = User{}
	clear(ss.rooms)
	ss.mu.Unlock()

	if !registered {
		return User{}, nil
	}
	ctx = context.WithoutCancel(ctx)
	for _, room := range rooms {
		if err := ss.svc.presence.Leave(ctx, room, u.ID); err != nil {
			ss.svc.logger.Error("chat: leaving room on close", "room", room, "user", u.ID, "err", err)
		}
	}
	if err := ss.svc.names.Release(ctx, u.Name, u.ID); err != nil {
		ss.svc.logger.Error("chat: releasing name on close", "name", u.Name, "user", u.ID, "err", err)
	}
	return u, rooms
}
