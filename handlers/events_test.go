package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/handlers"
	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/internal/syncbuf"
	"github.com/socketio-go/chatserver/realtime"
	"github.com/socketio-go/chatserver/store"
)

// The /chat events against a real in-process Socket.IO server (the
// project's realtime package on an httptest listener) and the memory
// store, driven by the Go test client of internal/siotest: each event's
// answer on success and on every error the handler itself decides, the
// broadcasts the others get, and how a failure of the server's own is
// told and logged.

const wait = 5 * time.Second

// errDown is a storage outage.
var errDown = errors.New("storage down")

// flakyHistory is the memory history with an outage switch.
type flakyHistory struct {
	chat.History
	down atomic.Bool
}

func (h *flakyHistory) Append(ctx context.Context, m chat.Message) (chat.Message, error) {
	if h.down.Load() {
		return chat.Message{}, errDown
	}
	return h.History.Append(ctx, m)
}

func (h *flakyHistory) Recent(ctx context.Context, room string, limit int) ([]chat.Message, error) {
	if h.down.Load() {
		return nil, errDown
	}
	return h.History.Recent(ctx, room, limit)
}

func (h *flakyHistory) Before(ctx context.Context, room string, id int64, limit int) ([]chat.Message, error) {
	if h.down.Load() {
		return nil, errDown
	}
	return h.History.Before(ctx, room, id, limit)
}

type env struct {
	url     string
	svc     *chat.Service
	history *flakyHistory
	logs    *syncbuf.Buffer
	log     *slog.Logger
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{history: &flakyHistory{History: store.NewMemoryHistory()}, logs: &syncbuf.Buffer{}}
	e.log = slog.New(slog.NewTextHandler(e.logs, nil))
	e.svc = chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), e.history)
	rt := realtime.NewServer(realtime.Options{})
	handlers.ChatEvents{Chat: e.svc, Log: e.log}.Attach(rt.Of(handlers.ChatNamespace))
	hs := httptest.NewServer(rt.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = rt.Close(ctx)
		hs.Close()
	})
	e.url = hs.URL
	return e
}

func (e *env) dial(t *testing.T) *siotest.Client {
	t.Helper()
	return siotest.Connect(t, e.url+"/socket.io/", handlers.ChatNamespace, siotest.Options{Timeout: wait})
}

// member is a client registered as name and in room.
func (e *env) member(t *testing.T, name, room string) *siotest.Client {
	t.Helper()
	c := e.dial(t)
	wantOK(t, call(c, "register", map[string]any{"name": name}))
	wantOK(t, call(c, "join", map[string]any{"room": room}))
	return c
}

// pair is alice and bob in lobby, alice having been told bob joined.
func (e *env) pair(t *testing.T) (alice, bob *siotest.Client) {
	t.Helper()
	alice = e.member(t, "alice", "lobby")
	bob = e.member(t, "bob", "lobby")
	alice.MustGet("joined")
	return alice, bob
}

// call emits event with args and returns the ack's first argument.
func call(c *siotest.Client, event string, args ...any) map[string]any {
	c.T.Helper()
	res := c.Call(event, args...)
	if len(res) != 1 {
		c.T.Fatalf("%s: ack %v, want one argument", event, res)
	}
	m, ok := res[0].(map[string]any)
	if !ok {
		c.T.Fatalf("%s: ack %v, want an object", event, res[0])
	}
	return m
}

func wantOK(t *testing.T, r map[string]any) {
	t.Helper()
	if r["ok"] != true {
		t.Fatalf("answer %v, want ok", r)
	}
}

// wantCode checks an error answer: {ok:false, error:{code, message}}.
func wantCode(t *testing.T, r map[string]any, code string) {
	t.Helper()
	e, _ := r["error"].(map[string]any)
	if r["ok"] != false || e == nil || e["code"] != code || e["message"] == "" {
		t.Fatalf("answer %v, want error %s with a message", r, code)
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func TestRegister(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.dial(t)
	wantCode(t, call(c, "register", map[string]any{"name": "<b>x</b>"}), "name_invalid")
	wantCode(t, call(c, "register", map[string]any{}), "name_invalid")
	wantCode(t, call(c, "register", "alice"), "bad_request") // not an object
	r := call(c, "register", map[string]any{"name": "alice"})
	wantOK(t, r)
	if r["name"] != "alice" || r["id"] != c.SID {
		t.Fatalf("register %v, want the name and the socket id %s", r, c.SID)
	}
	wantCode(t, call(c, "register", map[string]any{"name": "alicia"}), "already_registered")
	wantCode(t, call(e.dial(t), "register", map[string]any{"name": "alice"}), "name_taken")
}

func TestJoinAndLeave(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.dial(t)
	wantCode(t, call(c, "join", map[string]any{"room": "lobby"}), "not_registered")
	wantOK(t, call(c, "register", map[string]any{"name": "alice"}))
	wantCode(t, call(c, "join", map[string]any{"room": "Bad Room"}), "room_invalid")
	wantCode(t, call(c, "leave", map[string]any{"room": "lobby"}), "not_in_room")

	r := call(c, "join", map[string]any{"room": "lobby"})
	wantOK(t, r)
	members, _ := r["members"].([]any)
	if r["room"] != "lobby" || len(members) != 1 || obj(members[0])["name"] != "alice" || r["history"] == nil {
		t.Fatalf("join %v, want the room, alice as its member and a history", r)
	}
	wantOK(t, call(c, "message", map[string]any{"room": "lobby", "text": "first", "clientId": "a1"}))

	// bob joins: alice is told, bob gets the history.
	b := e.dial(t)
	wantOK(t, call(b, "register", map[string]any{"name": "bob"}))
	r = call(b, "join", map[string]any{"room": "lobby"})
	wantOK(t, r)
	history, _ := r["history"].([]any)
	if len(history) != 1 || obj(history[0])["text"] != "first" {
		t.Fatalf("bob's history %v", r["history"])
	}
	joined := c.MustGet("joined")
	if ev := obj(joined.Args[0]); ev["room"] != "lobby" || obj(ev["user"])["name"] != "bob" {
		t.Fatalf("joined %v", joined.Args)
	}
	// A repeated join answers the same and is not announced again; leaving
	// is.
	wantOK(t, call(b, "join", map[string]any{"room": "lobby"}))
	wantOK(t, call(b, "leave", map[string]any{"room": "lobby"}))
	before, left, err := c.Until("left")
	if err != nil || len(before) != 0 || obj(obj(left.Args[0])["user"])["name"] != "bob" {
		t.Fatalf("after bob's second join and leave: %v then %v (%v)", siotest.Names(before), left.Args, err)
	}
	// Out of the room, bob gets none of its messages.
	wantOK(t, call(c, "message", map[string]any{"room": "lobby", "text": "after bob left"}))
	wantOK(t, call(b, "join", map[string]any{"room": "other"}))
	wantOK(t, call(e.member(t, "carol", "other"), "message", map[string]any{"room": "other", "text": "to other"}))
	if ev := b.MustGet("message"); obj(ev.Args[0])["text"] != "to other" {
		t.Fatalf("bob got %v", ev.Args)
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	e := start(t)
	a, b := e.pair(t)

	wantCode(t, call(a, "message", map[string]any{"room": "lobby", "text": ""}), "text_invalid")
	wantCode(t, call(a, "message", map[string]any{"room": "elsewhere", "text": "hi"}), "not_in_room")
	wantCode(t, call(a, "message", []any{"hi"}), "bad_request")

	r := call(a, "message", map[string]any{"room": "lobby", "text": "<script>hi</script>", "clientId": "c-1"})
	wantOK(t, r)
	m := obj(r["message"])
	if m["text"] != "<script>hi</script>" || m["clientId"] != "c-1" || m["room"] != "lobby" || m["id"] == nil || obj(m["from"])["name"] != "alice" {
		t.Fatalf("message answer %v", r)
	}
	got := obj(b.MustGet("message").Args[0])
	if got["id"] != m["id"] || got["text"] != m["text"] {
		t.Fatalf("bob got %v, want %v", got, m)
	}
	// The sender does not get its own message back: its next event is
	// bob's.
	wantOK(t, call(b, "message", map[string]any{"room": "lobby", "text": "from bob"}))
	before, ev, err := a.Until("message")
	if err != nil || len(before) != 0 || obj(ev.Args[0])["text"] != "from bob" {
		t.Fatalf("alice got %v then %v (%v)", siotest.Names(before), ev.Args, err)
	}
	// The same clientId again is the same message, not a new one.
	again := call(a, "message", map[string]any{"room": "lobby", "text": "<script>hi</script>", "clientId": "c-1"})
	wantOK(t, again)
	if obj(again["message"])["id"] != m["id"] {
		t.Fatalf("resent message %v, want id %v", again, m["id"])
	}
}

func TestServerFailuresAreInternalAndLogged(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := e.member(t, "alice", "lobby")
	b := e.member(t, "bob", "other")
	e.history.down.Store(true)
	wantCode(t, call(a, "message", map[string]any{"room": "lobby", "text": "lost"}), "internal")
	wantCode(t, call(b, "join", map[string]any{"room": "lobby"}), "internal")
	e.history.down.Store(false)
	// The failed join took bob's socket out of the room again: lobby's
	// next message does not reach him, other's does.
	wantOK(t, call(a, "message", map[string]any{"room": "lobby", "text": "not for bob"}))
	wantOK(t, call(e.member(t, "carol", "other"), "message", map[string]any{"room": "other", "text": "for bob"}))
	if ev := b.MustGet("message"); obj(ev.Args[0])["text"] != "for bob" {
		t.Fatalf("bob got %v", ev.Args)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "request failed") || !strings.Contains(logs, errDown.Error()) || !strings.Contains(logs, "sid="+a.SID) {
		t.Fatalf("logs %q, want the failure with its cause and socket", logs)
	}
	// Errors of the request itself are not logged as failures.
	before := strings.Count(e.logs.String(), "request failed")
	wantCode(t, call(a, "message", map[string]any{"room": "lobby", "text": ""}), "text_invalid")
	if n := strings.Count(e.logs.String(), "request failed"); n != before {
		t.Fatalf("a client error was logged as a failure: %q", e.logs.String())
	}
}

func TestPlayer(t *testing.T) {
	t.Parallel()
	e := start(t)
	a, b := e.pair(t)

	wantCode(t, call(a, "player", map[string]any{"room": "lobby", "action": "load", "url": "javascript:alert(1)"}), "url_invalid")
	wantCode(t, call(a, "player", map[string]any{"room": "lobby", "action": "seek", "position": "ten"}), "bad_request")
	wantCode(t, call(a, "player", map[string]any{"room": "lobby", "action": "rewind"}), "bad_request")
	wantCode(t, call(a, "player", map[string]any{"room": "elsewhere", "action": "play"}), "not_in_room")

	r := call(a, "player", map[string]any{"room": "lobby", "action": "load", "url": "https://example.com/clip.webm", "position": 3})
	wantOK(t, r)
	pl := obj(r["player"])
	if pl["url"] != "https://example.com/clip.webm" || pl["position"] != 3.0 || pl["room"] != "lobby" {
		t.Fatalf("player %v", r)
	}
	if got := obj(b.MustGet("player").Args[0]); got["url"] != pl["url"] || got["updatedAt"] != pl["updatedAt"] {
		t.Fatalf("bob's player %v, want %v", got, pl)
	}
}

func TestSignalAndCall(t *testing.T) {
	t.Parallel()
	e := start(t)
	a, b := e.pair(t)

	wantCode(t, call(a, "signal", map[string]any{"room": "lobby", "to": b.SID}), "bad_request")
	wantCode(t, call(a, "signal", map[string]any{"room": "lobby", "to": "nobody", "data": map[string]any{"sdp": "x"}}), "peer_not_found")
	wantOK(t, call(a, "signal", map[string]any{"room": "lobby", "to": b.SID, "data": map[string]any{"type": "offer", "sdp": "v=0"}}))
	sig := obj(b.MustGet("signal").Args[0])
	if sig["room"] != "lobby" || obj(sig["from"])["id"] != a.SID || obj(sig["data"])["sdp"] != "v=0" {
		t.Fatalf("signal %v", sig)
	}

	wantCode(t, call(a, "call", map[string]any{"room": "lobby"}), "bad_request")
	wantCode(t, call(a, "call", map[string]any{"room": "elsewhere", "active": true}), "not_in_room")
	wantOK(t, call(a, "call", map[string]any{"room": "lobby", "active": true}))
	ev := obj(b.MustGet("call").Args[0])
	if ev["room"] != "lobby" || ev["active"] != true || obj(ev["user"])["name"] != "alice" {
		t.Fatalf("call %v", ev)
	}
}

func TestCursorsRttUnknownAndDisconnect(t *testing.T) {
	t.Parallel()
	e := start(t)
	a, b := e.pair(t)

	// A malformed move is dropped without an answer; a good one reaches
	// the others with the mover's name.
	b.WS.Send(`42/chat,["mousemove",{"room":"lobby","x":"left","y":0.5}]`)
	b.WS.Send(`42/chat,["mousemove",{"room":"lobby","x":0.25,"y":0.5}]`)
	cur := obj(a.MustGet("mousemove").Args[0])
	if cur["x"] != 0.25 || cur["y"] != 0.5 || cur["name"] != "bob" || cur["id"] != b.SID {
		t.Fatalf("cursor %v", cur)
	}

	r := call(a, "rtt", map[string]any{})
	wantOK(t, r)
	if ts, _ := r["ts"].(float64); ts < float64(time.Now().Add(-time.Minute).UnixMilli()) {
		t.Fatalf("rtt %v, want the server's time", r)
	}
	r = call(a, "no-such-event", map[string]any{})
	wantCode(t, r, "unknown_event")
	if msg := obj(r["error"])["message"]; !strings.Contains(msg.(string), `"no-such-event"`) {
		t.Fatalf("unknown event message %v", msg)
	}

	// bob's connection ends: alice is told he left, and his name is free.
	b.WS.Close()
	if left := obj(a.MustGet("left").Args[0]); obj(left["user"])["name"] != "bob" || left["room"] != "lobby" {
		t.Fatalf("left %v", left)
	}
	wantOK(t, call(e.dial(t), "register", map[string]any{"name": "bob"}))
}
