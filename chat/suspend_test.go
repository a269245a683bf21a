package chat_test

import (
	"reflect"
	"sync"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

func TestSuspendKeepsNameAndRoomsUntilResume(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby", "dev")

	u, rooms, ok := a.Suspend()
	if !ok || u.Name != "alice" || !reflect.DeepEqual(rooms, []string{"dev", "lobby"}) {
		t.Fatalf("Suspend() = %+v, %v, %v; want alice in [dev lobby]", u, rooms, ok)
	}
	if _, _, again := a.Suspend(); again {
		t.Fatal("a second Suspend reported something to keep")
	}
	members, err := f.presence.Members(ctx, "lobby")
	mustOK(t, err)
	if len(members) != 1 || members[0].ID != "a" {
		t.Fatalf("members while suspended = %+v, want alice still there", members)
	}

	u, rooms, ok = a.Resume()
	if !ok || u.ID != "a" || !reflect.DeepEqual(rooms, []string{"dev", "lobby"}) {
		t.Fatalf("Resume() = %+v, %v, %v", u, rooms, ok)
	}
	if u, rooms, ok := a.Resume(); !ok || u.ID != "" || rooms != nil {
		t.Fatalf("Resume of a session that is not suspended = %+v, %v, %v; want usable, nothing to announce", u, rooms, ok)
	}
	// Back to normal: it can post, and its name is still its own.
	if _, err := a.Post(ctx, "lobby", "back", "c1"); err != nil {
		t.Fatalf("Post after Resume: %v", err)
	}
	wantErr(t, regErr(f, "b", "ALICE"), chat.ErrNameTaken)
}

func TestUnregisteredSessionResumesWithNothingToAnnounce(t *testing.T) {
	f := newFixture(t)
	s := f.svc.NewSession("x")
	if _, _, ok := s.Suspend(); ok {
		t.Fatal("an unregistered session had someone to announce away")
	}
	if u, _, ok := s.Resume(); !ok || u.ID != "" {
		t.Fatalf("Resume() = %+v, %v; want usable with no user", u, ok)
	}
	if _, err := s.Register(ctx, "bob"); err != nil {
		t.Fatalf("Register after Resume: %v", err)
	}
}

func regErr(f *fixture, id, name string) error {
	_, err := f.svc.NewSession(id).Register(ctx, name)
	return err
}

func TestNameOfSuspendedUserCanBeRegistered(t *testing.T) {
	f := newFixture(t)
	type departure struct {
		user  chat.User
		rooms []string
	}
	var mu sync.Mutex
	var gone []departure
	f.svc.OnDeparture(func(u chat.User, rooms []string) {
		mu.Lock()
		gone = append(gone, departure{u, rooms})
		mu.Unlock()
	})
	old := f.member(t, "old", "alice", "lobby")
	if _, _, ok := old.Suspend(); !ok {
		t.Fatal("Suspend refused")
	}

	// The same person whose client could not recover registers again.
	fresh := f.svc.NewSession("new")
	u, err := fresh.Register(ctx, "Alice")
	if err != nil || u.ID != "new" {
		t.Fatalf("Register over a suspended holder = %+v, %v", u, err)
	}
	mu.Lock()
	got := gone
	mu.Unlock()
	want := []departure{{chat.User{ID: "old", Name: "alice"}, []string{"lobby"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("departures = %+v, want %+v", got, want)
	}
	members, err := f.presence.Members(ctx, "lobby")
	mustOK(t, err)
	if len(members) != 0 {
		t.Fatalf("the replaced user is still in the room: %+v", members)
	}
	// The old session is over: it cannot come back.
	if _, _, ok := old.Resume(); ok {
		t.Fatal("a replaced session resumed")
	}
	if u, rooms := old.Close(ctx); u.ID != "" || rooms != nil {
		t.Fatalf("Close of the replaced session announced %+v %v again", u, rooms)
	}
}

func TestNameOfConnectedUserIsNotReclaimed(t *testing.T) {
	f := newFixture(t)
	f.member(t, "a", "alice", "lobby")
	wantErr(t, regErr(f, "b", "alice"), chat.ErrNameTaken)
}

func TestCloseOfSuspendedSessionReleasesEverything(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby")
	a.Suspend()
	u, rooms := a.Close(ctx)
	if u.ID != "a" || !reflect.DeepEqual(rooms, []string{"lobby"}) {
		t.Fatalf("Close() = %+v, %v", u, rooms)
	}
	// Freed by Close, not by a reclaim: nobody is announced twice.
	called := false
	f.svc.OnDeparture(func(chat.User, []string) { called = true })
	if err := regErr(f, "b", "alice"); err != nil {
		t.Fatalf("name after Close: %v", err)
	}
	if called {
		t.Fatal("a closed session was announced as departed")
	}
}

func TestPostSentAgainIsAnsweredWithTheStoredCopy(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby", "dev")
	first, err := a.Post(ctx, "lobby", "hello", "c1")
	mustOK(t, err)
	again, err := a.Post(ctx, "lobby", "hello", "c1")
	mustOK(t, err)
	if again != first {
		t.Fatalf("second post = %+v, want the stored %+v", again, first)
	}
	recent, err := f.history.Recent(ctx, "lobby", 10)
	mustOK(t, err)
	if len(recent) != 1 {
		t.Fatalf("history holds %d messages, want 1", len(recent))
	}
	// Another room, or no clientId, is a new message.
	other, err := a.Post(ctx, "dev", "hello", "c1")
	mustOK(t, err)
	if other.ID == first.ID {
		t.Fatal("same clientId in another room was taken for a resend")
	}
	n1, _ := a.Post(ctx, "lobby", "x", "")
	n2, _ := a.Post(ctx, "lobby", "x", "")
	if n1.ID == n2.ID {
		t.Fatal("messages without clientId were de-duplicated")
	}
}

func TestPostResendsDoNotUseTheRateLimit(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby")
	for i := 0; i < chat.MessageBurst; i++ {
		_, err := a.Post(ctx, "lobby", "m", string(rune('a'+i)))
		mustOK(t, err)
	}
	// The burst is used up, yet a resend of the last one is answered.
	if _, err := a.Post(ctx, "lobby", "m", string(rune('a'+chat.MessageBurst-1))); err != nil {
		t.Fatalf("resend after the burst: %v", err)
	}
	_, err := a.Post(ctx, "lobby", "m", "new")
	wantErr(t, err, chat.ErrRateLimited)
}

func TestPostedRememberedIsBounded(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby")
	first, err := a.Post(ctx, "lobby", "m", "c0")
	mustOK(t, err)
	for i := 1; i <= chat.PostedRemembered; i++ {
		f.clock.Advance(1e9) // keep under the rate limit
		_, err := a.Post(ctx, "lobby", "m", "c"+string(rune('A'+i%26))+string(rune('a'+i/26)))
		mustOK(t, err)
	}
	f.clock.Advance(1e9)
	again, err := a.Post(ctx, "lobby", "m", "c0")
	mustOK(t, err)
	if again.ID == first.ID {
		t.Fatalf("c0 is still remembered after %d later messages", chat.PostedRemembered)
	}
}

func TestReclaimAwayFreesOnlyASuspendedHolder(t *testing.T) {
	f := newFixture(t)
	var departed []string
	f.svc.OnDeparture(func(u chat.User, _ []string) { departed = append(departed, u.ID) })
	a := f.member(t, "a", "alice", "lobby")
	f.member(t, "b", "bob", "lobby")
	if f.svc.ReclaimAway(ctx, "alice") {
		t.Fatal("reclaimed the name of a connected user")
	}
	a.Suspend()
	if f.svc.ReclaimAway(ctx, "nobody") || f.svc.ReclaimAway(ctx, "bad name!") {
		t.Fatal("reclaimed a name nobody holds")
	}
	if !f.svc.ReclaimAway(ctx, " ALICE ") {
		t.Fatal("a suspended holder was not reclaimed")
	}
	if !reflect.DeepEqual(departed, []string{"a"}) {
		t.Fatalf("departed %v, want [a]", departed)
	}
	if f.svc.ReclaimAway(ctx, "alice") {
		t.Fatal("reclaimed twice")
	}
	if err := regErr(f, "c", "alice"); err != nil {
		t.Fatalf("name after reclaim: %v", err)
	}
}
