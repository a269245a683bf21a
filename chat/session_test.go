package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/store"
)

func TestNotRegisteredOnEveryAction(t *testing.T) {
	f := newFixture(t)
	s := f.svc.NewSession("c1")
	if _, ok := s.User(); ok {
		t.Fatal("User() reports registered before Register")
	}
	// Even malformed arguments report not_registered: the client's first
	// problem is that it has not registered.
	for _, room := range []string{"lobby", "NOT VALID"} {
		_, err := s.Join(ctx, room, nil)
		wantErr(t, err, chat.ErrNotRegistered)
		_, err = s.Leave(ctx, room, nil)
		wantErr(t, err, chat.ErrNotRegistered)
		_, err = s.Post(ctx, room, "hi", "")
		wantErr(t, err, chat.ErrNotRegistered)
		_, err = s.Post(ctx, room, "", strings.Repeat("x", 100))
		wantErr(t, err, chat.ErrNotRegistered)
		if _, ok := s.Cursor(room, 0.5, 0.5); ok {
			t.Fatal("cursor accepted before Register")
		}
	}
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	s := f.svc.NewSession("c1")

	_, err := s.Register(ctx, "not valid!")
	wantErr(t, err, chat.ErrNameInvalid)
	_, err = s.Register(ctx, "<img src=x onerror=alert(1)>")
	wantErr(t, err, chat.ErrNameInvalid)

	u, err := s.Register(ctx, "  Alice ")
	mustOK(t, err)
	if want := (chat.User{ID: "c1", Name: "Alice"}); u != want {
		t.Fatalf("Register = %+v, want %+v", u, want)
	}
	if got, ok := s.User(); !ok || got != u {
		t.Fatalf("User() = %+v, %v", got, ok)
	}

	again, err := s.Register(ctx, "Alice")
	mustOK(t, err)
	if again != u {
		t.Fatalf("repeated Register = %+v, want %+v", again, u)
	}
	_, err = s.Register(ctx, "Bob")
	wantErr(t, err, chat.ErrAlreadyRegistered)
	// A different spelling is a different name to the user, even though it
	// would collide in the registry.
	_, err = s.Register(ctx, "alice")
	wantErr(t, err, chat.ErrAlreadyRegistered)
	// The failed attempt must not have claimed Bob.
	f.user(t, "c2", "Bob")
}

func TestDuplicateNamesIgnoreCase(t *testing.T) {
	f := newFixture(t)
	f.user(t, "c1", "Alice")
	for _, name := range []string{"Alice", "alice", "ALICE", " aLiCe "} {
		_, err := f.svc.NewSession("c2").Register(ctx, name)
		wantErr(t, err, chat.ErrNameTaken)
	}
	// A Cyrillic look-alike is not a way around it either.
	_, err := f.svc.NewSession("c3").Register(ctx, "\u0410lice")
	wantErr(t, err, chat.ErrNameInvalid)
}

func TestNameFreedAfterClose(t *testing.T) {
	f := newFixture(t)
	s1 := f.user(t, "c1", "Alice")
	s2 := f.svc.NewSession("c2")
	_, err := s2.Register(ctx, "alice")
	wantErr(t, err, chat.ErrNameTaken)

	s1.Close(ctx)
	u, err := s2.Register(ctx, "alice")
	mustOK(t, err)
	if u.Name != "alice" || u.ID != "c2" {
		t.Fatalf("got %+v", u)
	}
}

func TestJoin(t *testing.T) {
	f := newFixture(t)
	alice := f.user(t, "c1", "alice")

	_, err := alice.Join(ctx, "Lobby", nil)
	wantErr(t, err, chat.ErrRoomInvalid)

	res, err := alice.Join(ctx, " lobby ", nil)
	mustOK(t, err)
	aliceU := chat.User{ID: "c1", Name: "alice"}
	if res.Room != "lobby" || res.AlreadyMember || len(res.History) != 0 || res.History == nil ||
		!slices.Equal(res.Members, []chat.Member{{ID: aliceU.ID, Name: aliceU.Name}}) || res.Player != nil {
		t.Fatalf("first join = %+v", res)
	}

	bob := f.user(t, "c2", "bob")
	res, err = bob.Join(ctx, "lobby", nil)
	mustOK(t, err)
	bobU := chat.User{ID: "c2", Name: "bob"}
	if !slices.Equal(res.Members, []chat.Member{{ID: aliceU.ID, Name: aliceU.Name}, {ID: bobU.ID, Name: bobU.Name}}) {
		t.Fatalf("members = %+v", res.Members)
	}

	_, err = alice.Post(ctx, "lobby", "hi bob", "")
	mustOK(t, err)
	res, err = bob.Join(ctx, "lobby", nil)
	mustOK(t, err)
	if !res.AlreadyMember || len(res.Members) != 2 || len(res.History) != 1 || res.History[0].Text != "hi bob" {
		t.Fatalf("repeated join = %+v", res)
	}
	if got := bob.Rooms(); !slices.Equal(got, []string{"lobby"}) {
		t.Fatalf("Rooms() = %v", got)
	}
}

func TestJoinResultJSON(t *testing.T) {
	f := newFixture(t)
	res, err := f.user(t, "c1", "alice").Join(ctx, "lobby", nil)
	mustOK(t, err)
	res.AlreadyMember = true
	b, err := json.Marshal(res)
	mustOK(t, err)
	want := `{"room":"lobby","history":[],"members":[{"id":"c1","name":"alice","inCall":false}],"player":null}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

func TestSeveralRoomsAndTooManyRooms(t *testing.T) {
	f := newFixture(t)
	s := f.user(t, "c1", "alice")
	for i := range chat.MaxRoomsPerUser {
		_, err := s.Join(ctx, fmt.Sprintf("room-%02d", i), nil)
		mustOK(t, err)
	}
	_, err := s.Join(ctx, "one-too-many", nil)
	wantErr(t, err, chat.ErrTooManyRooms)
	if got := len(s.Rooms()); got != chat.MaxRoomsPerUser {
		t.Fatalf("in %d rooms", got)
	}
	// At the cap, a room already joined can still be re-joined.
	res, err := s.Join(ctx, "room-00", nil)
	mustOK(t, err)
	if !res.AlreadyMember {
		t.Fatal("re-join at cap not reported as AlreadyMember")
	}
	_, err = s.Leave(ctx, "room-05", nil)
	mustOK(t, err)
	_, err = s.Join(ctx, "one-too-many", nil)
	mustOK(t, err)
	// The refused join must not have left a trace in presence.
	rooms, err := f.svc.Rooms(ctx)
	mustOK(t, err)
	if len(rooms) != chat.MaxRoomsPerUser {
		t.Fatalf("presence has %d rooms", len(rooms))
	}
}

func TestLeave(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby", "dev")
	f.member(t, "c2", "bob", "lobby")

	_, err := alice.Leave(ctx, "elsewhere", nil)
	wantErr(t, err, chat.ErrNotInRoom)
	_, err = alice.Leave(ctx, "BAD ROOM", nil)
	wantErr(t, err, chat.ErrRoomInvalid)

	u, err := alice.Leave(ctx, "lobby", nil)
	mustOK(t, err)
	if u != (chat.User{ID: "c1", Name: "alice"}) {
		t.Fatalf("Leave returned %+v", u)
	}
	members, err := f.presence.Members(ctx, "lobby")
	mustOK(t, err)
	if len(members) != 1 || members[0].Name != "bob" {
		t.Fatalf("lobby members = %+v", members)
	}
	if got := alice.Rooms(); !slices.Equal(got, []string{"dev"}) {
		t.Fatalf("Rooms() = %v", got)
	}
	_, err = alice.Leave(ctx, "lobby", nil)
	wantErr(t, err, chat.ErrNotInRoom)
	_, err = alice.Post(ctx, "lobby", "still here?", "")
	wantErr(t, err, chat.ErrNotInRoom)
	if _, ok := alice.Cursor("lobby", 0.5, 0.5); ok {
		t.Fatal("cursor accepted after leaving")
	}
}

func TestPost(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")

	m, err := alice.Post(ctx, "lobby", "  hello\nworld  ", "tmp-1")
	mustOK(t, err)
	want := chat.Message{
		ID: m.ID, Room: "lobby", From: chat.User{ID: "c1", Name: "alice"},
		Text: "hello\nworld", TS: f.clock.Now().UnixMilli(), ClientID: "tmp-1",
	}
	if m.ID <= 0 || m != want {
		t.Fatalf("Post = %+v, want %+v", m, want)
	}
	m2, err := alice.Post(ctx, "lobby", "again", "")
	mustOK(t, err)
	if m2.ID <= m.ID {
		t.Fatalf("IDs not increasing: %d then %d", m.ID, m2.ID)
	}
	b, _ := json.Marshal(m2)
	if strings.Contains(string(b), "clientId") {
		t.Fatalf("empty clientId encoded: %s", b)
	}

	cases := []struct {
		name, room, text, clientID string
		want                       error
	}{
		{"empty", "lobby", "", "", chat.ErrTextInvalid},
		{"blank", "lobby", " \n\t ", "", chat.ErrTextInvalid},
		{"too long", "lobby", strings.Repeat("a", chat.MaxTextLen+1), "", chat.ErrTextInvalid},
		{"too many runes", "lobby", strings.Repeat("ж", chat.MaxTextLen+1), "", chat.ErrTextInvalid},
		{"invalid UTF-8", "lobby", "a\xffb", "", chat.ErrTextInvalid},
		{"U+FFFD (what JSON decoding makes of invalid bytes)", "lobby", "a\ufffdb", "", chat.ErrTextInvalid},
		{"client id too long", "lobby", "hi", strings.Repeat("c", chat.MaxClientIDLen+1), chat.ErrBadRequest},
		{"client id too many runes", "lobby", "hi", strings.Repeat("ü", chat.MaxClientIDLen+1), chat.ErrBadRequest},
		{"invalid room", "Lobby", "hi", "", chat.ErrRoomInvalid},
		{"not in room", "dev", "hi", "", chat.ErrNotInRoom},
	}
	for _, c := range cases {
		_, err := alice.Post(ctx, c.room, c.text, c.clientID)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}

	for _, ok := range []struct{ text, clientID string }{
		{strings.Repeat("ж", chat.MaxTextLen), ""},
		{"  " + strings.Repeat("a", chat.MaxTextLen) + "  ", ""},
		{"hi", strings.Repeat("ü", chat.MaxClientIDLen)},
	} {
		f.clock.Advance(time.Second)
		_, err := alice.Post(ctx, "lobby", ok.text, ok.clientID)
		mustOK(t, err)
	}
}

func TestRegisterRateLimit(t *testing.T) {
	f := newFixture(t)
	f.user(t, "c1", "alice")
	mallory := f.svc.NewSession("c2")
	for i := range chat.RegisterBurst {
		_, err := mallory.Register(ctx, "alice")
		if !errors.Is(err, chat.ErrNameTaken) {
			t.Fatalf("attempt %d of the burst: %v, want name_taken", i+1, err)
		}
	}
	_, err := mallory.Register(ctx, "bob")
	wantErr(t, err, chat.ErrRegisterRateLimited)
	if chat.ErrRegisterRateLimited.Code != "rate_limited" {
		t.Errorf("code %q", chat.ErrRegisterRateLimited.Code)
	}
	// Invalid names are refused before the limit and cost nothing.
	_, err = mallory.Register(ctx, "<b>")
	wantErr(t, err, chat.ErrNameInvalid)
	// The limit is per connection.
	if _, err := f.svc.NewSession("c3").Register(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second / chat.RegisterRate)
	if u, err := mallory.Register(ctx, "bob"); err != nil || u.Name != "bob" {
		t.Fatalf("after a second: %v %v", u, err)
	}
	// Registered: repeating the same name is not limited.
	for range chat.RegisterBurst + 1 {
		if _, err := mallory.Register(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPostRateLimit(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	bob := f.member(t, "c2", "bob", "lobby")

	post := func(s *chat.Session) error {
		_, err := s.Post(ctx, "lobby", "spam", "")
		return err
	}
	for i := range chat.MessageBurst {
		if err := post(alice); err != nil {
			t.Fatalf("message %d of the burst: %v", i+1, err)
		}
	}
	wantErr(t, post(alice), chat.ErrRateLimited)
	// Refused and invalid messages cost nothing and change nothing.
	_, err := alice.Post(ctx, "lobby", "", "")
	wantErr(t, err, chat.ErrTextInvalid)
	wantErr(t, post(alice), chat.ErrRateLimited)
	// The limit is per user.
	mustOK(t, post(bob))

	f.clock.Advance(time.Second / chat.MessageRate)
	mustOK(t, post(alice))
	wantErr(t, post(alice), chat.ErrRateLimited)

	// A long pause refills only up to the burst.
	f.clock.Advance(time.Hour)
	for range chat.MessageBurst {
		mustOK(t, post(alice))
	}
	wantErr(t, post(alice), chat.ErrRateLimited)

	// Sustained: trying every 10ms for 10s gets MessageRate per second.
	accepted := 0
	for range 1000 {
		f.clock.Advance(10 * time.Millisecond)
		if err := post(alice); err == nil {
			accepted++
		} else {
			wantErr(t, err, chat.ErrRateLimited)
		}
	}
	if want := 10 * chat.MessageRate; accepted < want-1 || accepted > want {
		t.Fatalf("accepted %d in 10s, want about %d", accepted, want)
	}
}

func TestHistoryOnJoinIsBounded(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	for i := range 150 {
		f.clock.Advance(time.Second)
		_, err := alice.Post(ctx, "lobby", fmt.Sprint(i), "")
		mustOK(t, err)
	}
	res, err := f.user(t, "c2", "bob").Join(ctx, "lobby", nil)
	mustOK(t, err)
	if len(res.History) != chat.HistoryOnJoin {
		t.Fatalf("history has %d messages, want %d", len(res.History), chat.HistoryOnJoin)
	}
	if res.History[0].Text != "50" || res.History[99].Text != "149" {
		t.Fatalf("history runs %s..%s, want 50..149", res.History[0].Text, res.History[99].Text)
	}
	for i := 1; i < len(res.History); i++ {
		if res.History[i].ID <= res.History[i-1].ID {
			t.Fatal("history not oldest first")
		}
	}
}

func TestCursor(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")

	c, ok := alice.Cursor("lobby", 0.25, 1)
	if want := (chat.Cursor{ID: "c1", Name: "alice", Room: "lobby", X: 0.25, Y: 1}); !ok || c != want {
		t.Fatalf("Cursor = %+v, %v", c, ok)
	}
	b, _ := json.Marshal(c)
	if want := `{"id":"c1","name":"alice","room":"lobby","x":0.25,"y":1}`; string(b) != want {
		t.Fatalf("json %s, want %s", b, want)
	}

	bad := []struct {
		room string
		x, y float64
	}{
		{"lobby", math.NaN(), 0.5},
		{"lobby", 0.5, math.NaN()},
		{"lobby", math.Inf(1), 0.5},
		{"lobby", 0.5, math.Inf(-1)},
		{"lobby", -0.001, 0.5},
		{"lobby", 0.5, 1.001},
		{"lobby", 2, 2},
		{"dev", 0.5, 0.5},     // not a member
		{"Lobby", 0.5, 0.5},   // not the same room
		{"", 0.5, 0.5},        // no room
		{" lobby ", 0.5, 0.5}, // not normalised on this hot path
	}
	for _, c := range bad {
		f.clock.Advance(time.Second) // never rate limited here
		if _, ok := alice.Cursor(c.room, c.x, c.y); ok {
			t.Errorf("Cursor(%q, %v, %v) accepted", c.room, c.x, c.y)
		}
	}
	for _, xy := range [][2]float64{{0, 0}, {1, 1}, {0, 1}, {0.5, 0.5}} {
		f.clock.Advance(time.Second)
		if _, ok := alice.Cursor("lobby", xy[0], xy[1]); !ok {
			t.Errorf("Cursor(%v) dropped", xy)
		}
	}
}

func TestCursorRate(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	bob := f.member(t, "c2", "bob", "lobby")

	for i := range chat.CursorBurst {
		if _, ok := alice.Cursor("lobby", 0.5, 0.5); !ok {
			t.Fatalf("burst event %d dropped", i)
		}
	}
	if _, ok := alice.Cursor("lobby", 0.5, 0.5); ok {
		t.Fatal("event beyond the burst accepted")
	}
	if _, ok := bob.Cursor("lobby", 0.5, 0.5); !ok {
		t.Fatal("limit is not per user")
	}

	// A client sending at 1 kHz for 10 s gets CursorRate per second, the
	// rest dropped; it never gains from having been idle beyond the burst.
	f.clock.Advance(time.Hour)
	accepted := 0
	for range 10_000 {
		f.clock.Advance(time.Millisecond)
		if _, ok := alice.Cursor("lobby", 0.5, 0.5); ok {
			accepted++
		}
	}
	if max := 10*chat.CursorRate + chat.CursorBurst; accepted > max || accepted < 10*chat.CursorRate {
		t.Fatalf("accepted %d in 10s, want %d..%d", accepted, 10*chat.CursorRate, max)
	}
	// Within any one second the count stays near CursorRate.
	f.clock.Advance(time.Hour)
	perSecond := 0
	for range 1000 {
		f.clock.Advance(time.Millisecond)
		if _, ok := alice.Cursor("lobby", 0.5, 0.5); ok {
			perSecond++
		}
	}
	if perSecond > chat.CursorRate+chat.CursorBurst {
		t.Fatalf("%d cursor events in one second", perSecond)
	}
}

func TestClose(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "zeta", "lobby", "dev")
	f.member(t, "c2", "bob", "lobby")

	// The connection's context is usually already cancelled at disconnect;
	// cleanup must happen anyway.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	u, rooms := alice.Close(cctx)
	if u != (chat.User{ID: "c1", Name: "alice"}) || !slices.Equal(rooms, []string{"dev", "lobby", "zeta"}) {
		t.Fatalf("Close = %+v, %v", u, rooms)
	}
	list, err := f.svc.Rooms(ctx)
	mustOK(t, err)
	if !slices.Equal(list, []chat.RoomInfo{{Name: "lobby", Members: 1}}) {
		t.Fatalf("rooms after close = %+v", list)
	}
	f.user(t, "c3", "ALICE") // name is free

	u, rooms = alice.Close(ctx)
	if u != (chat.User{}) || rooms != nil {
		t.Fatalf("second Close = %+v, %v; want nothing to announce", u, rooms)
	}
	if _, ok := alice.User(); ok {
		t.Fatal("still registered after Close")
	}
	if len(alice.Rooms()) != 0 {
		t.Fatal("still in rooms after Close")
	}
	_, err = alice.Register(ctx, "alice2")
	wantErr(t, err, chat.ErrClosed)
	_, err = alice.Join(ctx, "lobby", nil)
	wantErr(t, err, chat.ErrClosed)
	_, err = alice.Post(ctx, "lobby", "hi", "")
	wantErr(t, err, chat.ErrClosed)
	if _, ok := alice.Cursor("lobby", 0.5, 0.5); ok {
		t.Fatal("cursor accepted after Close")
	}
	if f.logs.Len() != 0 {
		t.Fatalf("unexpected logs: %s", f.logs)
	}
}

func TestCloseUnregistered(t *testing.T) {
	f := newFixture(t)
	s := f.svc.NewSession("c1")
	if u, rooms := s.Close(ctx); u != (chat.User{}) || rooms != nil {
		t.Fatalf("Close = %+v, %v", u, rooms)
	}
	// Closing must not release someone else's name that happens to match.
	f.user(t, "c2", "alice")
	s.Close(ctx)
	_, err := f.svc.NewSession("c3").Register(ctx, "alice")
	wantErr(t, err, chat.ErrNameTaken)
}

// TestConcurrentUse runs every action at once on one session, as the
// Socket.IO library's goroutines may; -race checks the locking and the end
// state checks that Close leaves nothing behind.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	chat.SetClock(f.svc, time.Now)
	s := f.user(t, "c1", "alice")
	rooms := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				room := rooms[(g+i)%len(rooms)]
				switch i % 5 {
				case 0:
					s.Join(ctx, room, nil)
				case 1:
					s.Post(ctx, room, "hi", "")
				case 2:
					s.Cursor(room, 0.5, 0.5)
				case 3:
					s.Leave(ctx, room, nil)
				case 4:
					s.Rooms()
					s.User()
				}
			}
		})
	}
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		s.Close(ctx)
	})
	wg.Wait()
	s.Close(ctx)
	list, err := f.svc.Rooms(ctx)
	mustOK(t, err)
	if len(list) != 0 {
		t.Fatalf("rooms left behind after Close: %+v", list)
	}
	f.user(t, "c2", "alice")
}

func TestServiceRooms(t *testing.T) {
	f := newFixture(t)
	list, err := f.svc.Rooms(ctx)
	mustOK(t, err)
	if list == nil || len(list) != 0 {
		t.Fatalf("empty Rooms = %#v, want empty non-nil", list)
	}
	f.member(t, "c1", "alice", "lobby", "dev")
	f.member(t, "c2", "bob", "lobby")
	list, err = f.svc.Rooms(ctx)
	mustOK(t, err)
	if want := []chat.RoomInfo{{"dev", 1}, {"lobby", 2}}; !slices.Equal(list, want) {
		t.Fatalf("Rooms = %+v, want %+v", list, want)
	}
}

func TestServiceMessages(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	var ids []int64
	for i := range 150 {
		f.clock.Advance(time.Second)
		m, err := alice.Post(ctx, "lobby", fmt.Sprint(i), "")
		mustOK(t, err)
		ids = append(ids, m.ID)
	}

	_, err := f.svc.Messages(ctx, "Bad Room", 0, 10)
	wantErr(t, err, chat.ErrRoomInvalid)

	got, err := f.svc.Messages(ctx, "empty", 0, 10)
	mustOK(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("unknown room = %#v", got)
	}

	for _, c := range []struct {
		before      int64
		limit       int
		first, last string
	}{
		{0, 10, "140", "149"},
		{-1, 10, "140", "149"},
		{0, 0, "50", "149"},    // default: a full page
		{0, -5, "50", "149"},   // likewise
		{0, 1000, "50", "149"}, // capped at MaxPageSize
		{0, 1, "149", "149"},
		{ids[100], 20, "80", "99"},
		{ids[5], 100, "0", "4"},
	} {
		got, err := f.svc.Messages(ctx, " lobby ", c.before, c.limit)
		mustOK(t, err)
		if len(got) == 0 || got[0].Text != c.first || got[len(got)-1].Text != c.last {
			t.Errorf("Messages(before=%d, limit=%d) = %d messages %v", c.before, c.limit, len(got), got)
		}
	}
	got, err = f.svc.Messages(ctx, "lobby", ids[0], 10)
	mustOK(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("before the first message = %#v", got)
	}
}

// TestHistorySurvivesRestart runs the product path over the bbolt store:
// messages posted before a restart are in the next join's history.
func TestHistorySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "history.db")
	h, err := store.OpenBoltHistory(path)
	mustOK(t, err)
	svc := chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), h)
	s := svc.NewSession("c1")
	_, err = s.Register(ctx, "alice")
	mustOK(t, err)
	_, err = s.Join(ctx, "lobby", nil)
	mustOK(t, err)
	first, err := s.Post(ctx, "lobby", "before restart", "x1")
	mustOK(t, err)
	s.Close(ctx)
	mustOK(t, h.Close())

	h, err = store.OpenBoltHistory(path)
	mustOK(t, err)
	defer h.Close()
	svc = chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), h)
	s = svc.NewSession("c9")
	_, err = s.Register(ctx, "bob")
	mustOK(t, err)
	res, err := s.Join(ctx, "lobby", nil)
	mustOK(t, err)
	if len(res.History) != 1 || res.History[0] != first {
		t.Fatalf("history after restart = %+v, want [%+v]", res.History, first)
	}
	second, err := s.Post(ctx, "lobby", "after restart", "")
	mustOK(t, err)
	if second.ID <= first.ID {
		t.Fatalf("ID after restart %d <= %d", second.ID, first.ID)
	}
}

// BenchmarkCursor measures the mouse-move hot path: validation, the
// membership check and the token bucket, with every event allowed.
func BenchmarkCursor(b *testing.B) {
	f := newFixture(b)
	s := f.member(b, "c1", "alice", "lobby")
	now := f.clock.Now()
	step := time.Second / chat.CursorRate
	chat.SetClock(f.svc, func() time.Time { now = now.Add(step); return now })
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Cursor("lobby", 0.5, 0.5); !ok {
			b.Fatal("dropped")
		}
	}
}

// BenchmarkCursorDropped measures a flooding client: the bucket is empty and
// every event is dropped, with the real clock.
func BenchmarkCursorDropped(b *testing.B) {
	f := newFixture(b)
	s := f.member(b, "c1", "alice", "lobby")
	chat.SetClock(f.svc, time.Now)
	b.ReportAllocs()
	for b.Loop() {
		s.Cursor("lobby", 0.5, 0.5)
	}
}

func BenchmarkPostMemory(b *testing.B) {
	f := newFixture(b)
	s := f.member(b, "c1", "alice", "lobby")
	now := f.clock.Now()
	chat.SetClock(f.svc, func() time.Time { now = now.Add(time.Second); return now })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Post(ctx, "lobby", "hello there", "c-1"); err != nil {
			b.Fatal(err)
		}
	}
}
