package chat_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/chat"
)

func TestValidateURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", chat.MaxURLLen-len("https://example.com/"))
	for _, ok := range []string{"https://example.com/v.mp4", "http://127.0.0.1:8080/static/media/demo.wav", "https://www.youtube.com/watch?v=abc&t=3", long, "https://example.com/é"} {
		if _, err := chat.ValidateURL(ok); err != nil {
			t.Errorf("ValidateURL(%.60q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", "javascript:alert(1)", "data:video/mp4;base64,AAAA", "ftp://example.com/a", "//example.com/a", "/static/a.mp4",
		"https://", "https:///path", "https://exa mple.com/", "https://example.com/\nx", "mailto:a@example.com", long + "b", "https:example.com", "https://example.com/\ufffd"} {
		if _, err := chat.ValidateURL(bad); err != chat.ErrURLInvalid {
			t.Errorf("ValidateURL(%.60q) = %v, want url_invalid", bad, err)
		}
	}
}

func TestPlayerActions(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	bob := f.member(t, "c2", "bob", "lobby")
	aliceU := chat.User{ID: "c1", Name: "alice"}
	bobU := chat.User{ID: "c2", Name: "bob"}
	const url = "https://example.com/film.mp4"
	t0 := f.clock.Now().UnixMilli()

	// Nothing to play before a load.
	_, err := alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "play"})
	wantErr(t, err, chat.ErrBadRequest)

	p, err := alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "load", URL: url})
	mustOK(t, err)
	want := chat.Player{Room: "lobby", URL: url, UpdatedAt: t0, By: aliceU}
	if p != want {
		t.Fatalf("load = %+v, want %+v", p, want)
	}

	// Paused, the position stays; playing, it advances with the clock.
	f.clock.Advance(3 * time.Second)
	p, err = bob.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "play", Position: 99, HasPosition: true})
	mustOK(t, err)
	if want := (chat.Player{Room: "lobby", URL: url, Playing: true, Position: 0, UpdatedAt: t0 + 3000, By: bobU}); p != want {
		t.Fatalf("play = %+v, want %+v (play ignores a position)", p, want)
	}
	f.clock.Advance(2500 * time.Millisecond)
	p, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "pause"})
	mustOK(t, err)
	if p.Playing || p.Position != 2.5 || p.UpdatedAt != t0+5500 || p.By != aliceU {
		t.Fatalf("pause after 2.5 s of play = %+v", p)
	}
	f.clock.Advance(10 * time.Second)
	p, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "seek", Position: 42.25, HasPosition: true})
	mustOK(t, err)
	if p.Playing || p.Position != 42.25 {
		t.Fatalf("seek while paused = %+v", p)
	}
	_, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "play"})
	mustOK(t, err)
	f.clock.Advance(time.Second)
	p, err = bob.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "seek", Position: 10, HasPosition: true})
	mustOK(t, err)
	if !p.Playing || p.Position != 10 {
		t.Fatalf("seek while playing = %+v, want playing at 10", p)
	}
	if got := p.PositionAt(p.UpdatedAt + 1500); got != 11.5 {
		t.Fatalf("PositionAt 1.5 s later = %v, want 11.5", got)
	}

	// A late joiner gets the state with the join.
	carol := f.user(t, "c3", "carol")
	res, err := carol.Join(ctx, "lobby", nil)
	mustOK(t, err)
	if res.Player == nil || *res.Player != p {
		t.Fatalf("join's player = %v, want %+v", res.Player, p)
	}

	// A new load starts paused at its position.
	p, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "load", URL: url + "?2", Position: 7, HasPosition: true})
	mustOK(t, err)
	if p.Playing || p.Position != 7 || p.URL != url+"?2" {
		t.Fatalf("second load = %+v", p)
	}

	// The player goes with the room.
	for _, s := range []*chat.Session{alice, bob, carol} {
		_, err := s.Leave(ctx, "lobby", nil)
		mustOK(t, err)
	}
	res, err = alice.Join(ctx, "lobby", nil)
	mustOK(t, err)
	if res.Player != nil {
		t.Fatalf("player of a room that emptied = %+v", *res.Player)
	}
}

func TestPlayerErrors(t *testing.T) {
	f := newFixture(t)
	anon := f.svc.NewSession("c0")
	_, err := anon.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "play"})
	wantErr(t, err, chat.ErrNotRegistered)
	alice := f.member(t, "c1", "alice", "lobby")
	const url = "https://example.com/a.mp4"
	for _, tc := range []struct {
		req  chat.PlayerRequest
		want error
	}{
		{chat.PlayerRequest{Room: "Lobby", Action: "play"}, chat.ErrRoomInvalid},
		{chat.PlayerRequest{Room: "lobby", Action: "rewind"}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: ""}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: "load"}, chat.ErrURLInvalid},
		{chat.PlayerRequest{Room: "lobby", Action: "load", URL: "javascript:alert(1)"}, chat.ErrURLInvalid},
		{chat.PlayerRequest{Room: "lobby", Action: "load", URL: url, Position: -1, HasPosition: true}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: "seek"}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: "seek", Position: -0.5, HasPosition: true}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: "seek", Position: math.Inf(1), HasPosition: true}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "lobby", Action: "seek", Position: math.NaN(), HasPosition: true}, chat.ErrBadRequest},
		{chat.PlayerRequest{Room: "elsewhere", Action: "load", URL: url}, chat.ErrNotInRoom},
	} {
		_, err := alice.Control(ctx, tc.req)
		if !errorIs(err, tc.want) {
			t.Errorf("Control(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}
	// None of the refused requests stored anything or used up the rate.
	res, err := alice.Join(ctx, "lobby", nil)
	mustOK(t, err)
	if res.Player != nil {
		t.Fatalf("refused requests stored %+v", *res.Player)
	}
	for i := range chat.PlayerBurst {
		_, err := alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "load", URL: url})
		if err != nil {
			t.Fatalf("action %d of a burst of %d: %v", i+1, chat.PlayerBurst, err)
		}
	}
	_, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "pause"})
	wantErr(t, err, chat.ErrRateLimited)
	f.clock.Advance(time.Second / chat.PlayerRate)
	_, err = alice.Control(ctx, chat.PlayerRequest{Room: "lobby", Action: "pause"})
	mustOK(t, err)
	// The player's bucket is its own: messages still go.
	_, err = alice.Post(ctx, "lobby", "still chatting", "")
	mustOK(t, err)
}

func TestSignal(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	f.member(t, "c2", "bob", "lobby")
	f.member(t, "c3", "carol", "elsewhere")
	aliceU := chat.User{ID: "c1", Name: "alice"}

	u, err := alice.Signal(ctx, "lobby", "c2", 100)
	mustOK(t, err)
	if u != aliceU {
		t.Fatalf("Signal = %+v, want the sender %+v", u, aliceU)
	}
	for _, tc := range []struct {
		room, to string
		size     int
		want     error
	}{
		{"lobby", "c3", 10, chat.ErrPeerNotFound},  // in another room
		{"lobby", "c9", 10, chat.ErrPeerNotFound},  // nobody
		{"lobby", "c1", 10, chat.ErrPeerNotFound},  // oneself
		{"lobby", "", 10, chat.ErrPeerNotFound},    // no one
		{"elsewhere", "c3", 10, chat.ErrNotInRoom}, // the sender is not in it
		{"Lobby", "c2", 10, chat.ErrRoomInvalid},   // no such room name
		{"lobby", "c2", chat.MaxSignalBytes + 1, chat.ErrBadRequest},
	} {
		_, err := alice.Signal(ctx, tc.room, tc.to, tc.size)
		if !errorIs(err, tc.want) {
			t.Errorf("Signal(%q, %q, %d) = %v, want %v", tc.room, tc.to, tc.size, err, tc.want)
		}
	}
	_, err = alice.Signal(ctx, "lobby", "c2", chat.MaxSignalBytes)
	mustOK(t, err)
	_, err = f.svc.NewSession("c0").Signal(ctx, "lobby", "c2", 1)
	wantErr(t, err, chat.ErrNotRegistered)

	// A burst of ICE candidates passes (the bucket full again first); a
	// flood does not.
	f.clock.Advance(time.Minute)
	for sent := range chat.SignalBurst {
		if _, err := alice.Signal(ctx, "lobby", "c2", 100); err != nil {
			t.Fatalf("signal %d of a burst of %d: %v", sent+1, chat.SignalBurst, err)
		}
	}
	_, err = alice.Signal(ctx, "lobby", "c2", 100)
	wantErr(t, err, chat.ErrRateLimited)
	f.clock.Advance(time.Second)
	for range chat.SignalRate {
		_, err = alice.Signal(ctx, "lobby", "c2", 100)
		mustOK(t, err)
	}
}

func TestSignalBytes(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	f.member(t, "c2", "bob", "lobby")
	// The burst holds four maximal messages; then the budget is spent, for
	// small ones too, until it refills.
	for i := range chat.SignalByteBurst / chat.MaxSignalBytes {
		if _, err := alice.Signal(ctx, "lobby", "c2", chat.MaxSignalBytes); err != nil {
			t.Fatalf("maximal signal %d: %v", i+1, err)
		}
	}
	_, err := alice.Signal(ctx, "lobby", "c2", chat.MaxSignalBytes)
	wantErr(t, err, chat.ErrRateLimited)
	_, err = alice.Signal(ctx, "lobby", "c2", 100)
	wantErr(t, err, chat.ErrRateLimited)
	f.clock.Advance(time.Second)
	_, err = alice.Signal(ctx, "lobby", "c2", chat.MaxSignalBytes)
	mustOK(t, err)
	// A refused message cost nothing: the count allows many more small ones
	// once bytes are back.
	f.clock.Advance(100 * time.Millisecond)
	_, err = alice.Signal(ctx, "lobby", "c2", 100)
	mustOK(t, err)
}

func TestCall(t *testing.T) {
	f := newFixture(t)
	alice := f.member(t, "c1", "alice", "lobby")
	bob := f.member(t, "c2", "bob", "lobby", "other")

	_, err := alice.Call(ctx, "other", true)
	wantErr(t, err, chat.ErrNotInRoom)
	_, err = f.svc.NewSession("c0").Call(ctx, "lobby", true)
	wantErr(t, err, chat.ErrNotRegistered)
	u, err := alice.Call(ctx, "lobby", true)
	mustOK(t, err)
	if u.ID != "c1" {
		t.Fatalf("Call = %+v", u)
	}
	res, err := bob.Join(ctx, "lobby", nil)
	mustOK(t, err)
	want := []chat.Member{{ID: "c1", Name: "alice", InCall: true}, {ID: "c2", Name: "bob"}}
	if len(res.Members) != 2 || res.Members[0] != want[0] || res.Members[1] != want[1] {
		t.Fatalf("members = %+v, want %+v", res.Members, want)
	}

	// The call holds MaxInCall members.
	for i := 2; i <= chat.MaxInCall; i++ {
		s := f.member(t, "x"+string(rune('a'+i)), "u"+string(rune('a'+i)), "lobby")
		_, err := s.Call(ctx, "lobby", true)
		mustOK(t, err)
	}
	_, err = bob.Call(ctx, "lobby", true)
	wantErr(t, err, chat.ErrCallFull)

	// Leaving the room leaves the call, and so does closing the session.
	_, err = alice.Leave(ctx, "lobby", nil)
	mustOK(t, err)
	_, err = bob.Call(ctx, "lobby", true)
	mustOK(t, err)
	res, err = bob.Join(ctx, "lobby", nil)
	mustOK(t, err)
	for _, m := range res.Members {
		if m.ID == "c1" {
			t.Fatalf("alice still listed after leaving: %+v", res.Members)
		}
	}
	bob.Close(ctx)
	inCall, err := f.presence.InCall(ctx, "lobby")
	mustOK(t, err)
	if len(inCall) != chat.MaxInCall-1 {
		t.Fatalf("in call after bob closed: %q", inCall)
	}

	// Joining and leaving is rate limited.
	carol := f.member(t, "c3", "carol", "other")
	for range chat.CallBurst {
		_, err := carol.Call(ctx, "other", false)
		mustOK(t, err)
	}
	_, err = carol.Call(ctx, "other", true)
	wantErr(t, err, chat.ErrRateLimited)
}

func errorIs(err, want error) bool {
	ce := chat.AsError(err)
	w := chat.AsError(want)
	return ce != nil && w != nil && ce.Code == w.Code
}
