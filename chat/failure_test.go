package chat_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

var errDown = errors.New("backend down")

// Wrappers that fail selected calls, to check that storage failures reach the
// client as "internal" and do not leave the session and presence disagreeing.

type flakyNames struct {
	chat.Names
	failClaim, failRelease bool
}

func (n *flakyNames) Claim(ctx context.Context, name, owner string) error {
	if n.failClaim {
		return errDown
	}
	return n.Names.Claim(ctx, name, owner)
}

func (n *flakyNames) Release(ctx context.Context, name, owner string) error {
	if n.failRelease {
		return errDown
	}
	return n.Names.Release(ctx, name, owner)
}

type flakyPresence struct {
	chat.Presence
	failJoin, failLeave, failMembers, failRooms bool
}

func (p *flakyPresence) Join(ctx context.Context, room string, u chat.User) error {
	if p.failJoin {
		return errDown
	}
	return p.Presence.Join(ctx, room, u)
}

func (p *flakyPresence) Leave(ctx context.Context, room, id string) error {
	if p.failLeave {
		return errDown
	}
	return p.Presence.Leave(ctx, room, id)
}

func (p *flakyPresence) Members(ctx context.Context, room string) ([]chat.User, error) {
	if p.failMembers {
		return nil, errDown
	}
	return p.Presence.Members(ctx, room)
}

func (p *flakyPresence) Rooms(ctx context.Context) ([]chat.RoomInfo, error) {
	if p.failRooms {
		return nil, errDown
	}
	return p.Presence.Rooms(ctx)
}

type flakyHistory struct {
	chat.History
	failAppend, failRead bool
	onRecent             func(room string) // called as Recent starts, when set
}

func (h *flakyHistory) Append(ctx context.Context, m chat.Message) (chat.Message, error) {
	if h.failAppend {
		return chat.Message{}, errDown
	}
	return h.History.Append(ctx, m)
}

func (h *flakyHistory) Recent(ctx context.Context, room string, limit int) ([]chat.Message, error) {
	if h.onRecent != nil {
		h.onRecent(room)
	}
	if h.failRead {
		return nil, errDown
	}
	return h.History.Recent(ctx, room, limit)
}

func (h *flakyHistory) Before(ctx context.Context, room string, id int64, limit int) ([]chat.Message, error) {
	if h.failRead {
		return nil, errDown
	}
	return h.History.Before(ctx, room, id, limit)
}

type flakyFixture struct {
	*fixture
	names    *flakyNames
	presence *flakyPresence
	history  *flakyHistory
}

func newFlakyFixture(t *testing.T) *flakyFixture {
	f := newFixture(t)
	ff := &flakyFixture{
		fixture:  f,
		names:    &flakyNames{Names: f.names},
		presence: &flakyPresence{Presence: f.presence},
		history:  &flakyHistory{History: f.history},
	}
	svc := chat.NewService(ff.names, ff.presence, ff.history)
	chat.SetClock(svc, f.clock.Now)
	chat.SetLogger(svc, chatLogger(f))
	ff.svc = svc
	return ff
}

// wantInternal checks that err is reported as internal to the client while
// the cause stays available for logs.
func wantInternal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, chat.ErrInternal) || chat.AsError(err) != chat.ErrInternal || !errors.Is(err, errDown) {
		t.Fatalf("got %v, want internal wrapping the cause", err)
	}
}

func TestBackendFailuresAreInternal(t *testing.T) {
	f := newFlakyFixture(t)

	f.names.failClaim = true
	s := f.svc.NewSession("c1")
	_, err := s.Register(ctx, "alice")
	wantInternal(t, err)
	if _, ok := s.User(); ok {
		t.Fatal("registered although the claim failed")
	}
	f.names.failClaim = false
	_, err = s.Register(ctx, "alice")
	mustOK(t, err)

	f.presence.failJoin = true
	_, err = s.Join(ctx, "lobby", nil)
	wantInternal(t, err)
	f.presence.failJoin = false

	// A join whose snapshot fails is undone in presence.
	f.presence.failMembers = true
	_, err = s.Join(ctx, "lobby", nil)
	wantInternal(t, err)
	f.presence.failMembers = false
	if members, _ := f.fixture.presence.Members(ctx, "lobby"); len(members) != 0 {
		t.Fatalf("failed join left %+v in presence", members)
	}
	if len(s.Rooms()) != 0 {
		t.Fatal("failed join recorded in session")
	}

	f.history.failRead = true
	_, err = s.Join(ctx, "lobby", nil)
	wantInternal(t, err)
	_, err = f.svc.Messages(ctx, "lobby", 0, 10)
	wantInternal(t, err)
	f.history.failRead = false

	_, err = s.Join(ctx, "lobby", nil)
	mustOK(t, err)

	f.history.failAppend = true
	_, err = s.Post(ctx, "lobby", "hi", "")
	wantInternal(t, err)
	f.history.failAppend = false

	f.presence.failLeave = true
	_, err = s.Leave(ctx, "lobby", nil)
	wantInternal(t, err)
	if !slices.Contains(s.Rooms(), "lobby") {
		t.Fatal("failed leave dropped the room from the session")
	}

	f.presence.failRooms = true
	_, err = f.svc.Rooms(ctx)
	wantInternal(t, err)

	// Close cannot report errors; it logs them and still does the rest.
	f.names.failRelease = true
	u, rooms := s.Close(ctx)
	if u.Name != "alice" || !slices.Contains(rooms, "lobby") {
		t.Fatalf("Close = %+v, %v", u, rooms)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "leaving room on close") || !strings.Contains(logs, "releasing name on close") {
		t.Fatalf("cleanup failures not logged: %q", logs)
	}
}

func TestBackendErrorCodesPassThrough(t *testing.T) {
	f := newFlakyFixture(t)
	f.user(t, "c1", "alice")
	_, err := f.svc.NewSession("c2").Register(ctx, "alice")
	if chat.AsError(err) != chat.ErrNameTaken {
		t.Fatalf("got %v, want name_taken unchanged", err)
	}
}

// roomConn is a chat.Conn that records which rooms it is in.
type roomConn struct{ in map[string]bool }

func (c *roomConn) Join(room string)  { c.in[room] = true }
func (c *roomConn) Leave(room string) { delete(c.in, room) }

func TestJoinPutsTheConnectionInTheRoomBeforeTheHistoryIsRead(t *testing.T) {
	f := newFlakyFixture(t)
	s := f.svc.NewSession("c1")
	conn := &roomConn{in: map[string]bool{}}

	// Refused joins leave the connection alone.
	_, err := s.Join(ctx, "lobby", conn)
	wantErr(t, err, chat.ErrNotRegistered)
	_, err = s.Register(ctx, "alice")
	mustOK(t, err)
	_, err = s.Join(ctx, "BAD ROOM", conn)
	wantErr(t, err, chat.ErrRoomInvalid)
	if len(conn.in) != 0 {
		t.Fatalf("refused joins put the connection in %v", conn.in)
	}

	// A join whose history read fails takes the connection out again.
	f.history.failRead = true
	_, err = s.Join(ctx, "lobby", conn)
	wantInternal(t, err)
	f.history.failRead = false
	if len(conn.in) != 0 {
		t.Fatalf("a failed join left the connection in %v", conn.in)
	}

	// The connection is in the room as the history is read.
	var inAtRead bool
	f.history.onRecent = func(room string) { inAtRead = conn.in[room] }
	_, err = s.Join(ctx, "lobby", conn)
	mustOK(t, err)
	if !inAtRead || !conn.in["lobby"] {
		t.Fatalf("in the room at the read: %v, after: %v", inAtRead, conn.in)
	}

	// Joining again changes nothing; leaving takes it out, a refused leave
	// does not.
	res, err := s.Join(ctx, "lobby", conn)
	mustOK(t, err)
	if !res.AlreadyMember || !conn.in["lobby"] {
		t.Fatalf("second join %+v, conn %v", res, conn.in)
	}
	f.presence.failLeave = true
	_, err = s.Leave(ctx, "lobby", conn)
	wantInternal(t, err)
	f.presence.failLeave = false
	if !conn.in["lobby"] {
		t.Fatal("a failed leave took the connection out")
	}
	_, err = s.Leave(ctx, "lobby", conn)
	mustOK(t, err)
	if len(conn.in) != 0 {
		t.Fatalf("after leave %v", conn.in)
	}
}
