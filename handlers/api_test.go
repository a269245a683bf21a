package handlers_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/handlers"
	"github.com/socketio-go/chatserver/store"
)

func init() { gin.SetMode(gin.TestMode) }

// The JSON API's answers, and its errors mapped as the events' are.
func TestAPI(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := e.member(t, "alice", "lobby")
	for i := range 3 {
		wantOK(t, call(a, "message", map[string]any{"room": "lobby", "text": "m" + string(rune('0'+i))}))
	}
	r := gin.New()
	api := handlers.API{Chat: e.svc, Log: e.log}
	r.GET("/api/rooms", api.Rooms)
	r.GET("/api/rooms/:room/messages", api.Messages)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %d %q is not JSON", path, w.Code, w.Body.String())
		}
		return w.Code, body
	}

	code, body := get("/api/rooms")
	rooms, _ := body["rooms"].([]any)
	if code != 200 || len(rooms) != 1 || obj(rooms[0])["name"] != "lobby" || obj(rooms[0])["members"] != 1.0 {
		t.Fatalf("rooms: %d %v", code, body)
	}
	code, body = get("/api/rooms/lobby/messages?limit=2")
	msgs, _ := body["messages"].([]any)
	if code != 200 || len(msgs) != 2 || obj(msgs[0])["text"] != "m1" || obj(msgs[1])["text"] != "m2" {
		t.Fatalf("messages: %d %v", code, body)
	}
	before := obj(msgs[0])["id"].(float64)
	code, body = get("/api/rooms/lobby/messages?before=" + jsonNumber(before))
	if msgs, _ := body["messages"].([]any); code != 200 || len(msgs) != 1 || obj(msgs[0])["text"] != "m0" {
		t.Fatalf("messages before %v: %d %v", before, code, body)
	}

	for path, want := range map[string]string{
		"/api/rooms/lobby/messages?before=x": "bad_request",
		"/api/rooms/lobby/messages?limit=-":  "bad_request",
		"/api/rooms/NOT%20A%20ROOM/messages": "room_invalid",
	} {
		code, body := get(path)
		if ce := obj(body["error"]); code != 400 || ce["code"] != want || ce["message"] == "" {
			t.Fatalf("%s: %d %v, want 400 %s", path, code, body, want)
		}
	}

	// A failure of the server's own: 500, "internal", logged with its cause.
	e.history.down.Store(true)
	code, body = get("/api/rooms/lobby/messages")
	e.history.down.Store(false)
	if code != 500 || obj(body["error"])["code"] != "internal" {
		t.Fatalf("outage: %d %v", code, body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "path=/api/rooms/lobby/messages") || !strings.Contains(logs, errDown.Error()) {
		t.Fatalf("logs %q", logs)
	}
}

// An API without a logger still answers.
func TestAPIWithoutLogger(t *testing.T) {
	t.Parallel()
	h := &flakyHistory{History: store.NewMemoryHistory()}
	h.down.Store(true)
	api := handlers.API{Chat: chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), h), Log: (*slog.Logger)(nil)}
	r := gin.New()
	r.GET("/api/rooms/:room/messages", api.Messages)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/rooms/lobby/messages", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"internal"`) {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
}

func jsonNumber(f float64) string { b, _ := json.Marshal(f); return string(b) }
