package realtime_test

// Connection state recovery with the real socket.io-client: 4.8 comes back
// with its socket (same id, rooms and data, middleware not run again) and
// gets the events it missed, in order, over WebSocket and over polling; 3.x,
// which cannot recover, gets a new socket, and the kept one expires.
// test/clients/recovery.js drives the client.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/realtime"
)

type recoveryServer struct {
	url string

	watched
	disconnects map[string]keptInfo // socket id -> how it left
	expired     map[string]any      // socket id -> its data, from OnRecoveryExpired
	middleware  int
}

type keptInfo struct {
	Reason string `json:"reason"`
	Kept   bool   `json:"kept"`
}

func startRecoveryServer(t *testing.T, window time.Duration) *recoveryServer {
	t.Helper()
	gin.SetMode(gin.TestMode)
	rs := &recoveryServer{disconnects: map[string]keptInfo{}, expired: map[string]any{}}
	rt := realtime.NewServer(realtime.Options{Recovery: true, MaxDisconnection: window})
	nsp := rt.Of("/")
	nsp.Use(func(*realtime.Socket) error {
		rs.update(func() { rs.middleware++ })
		return nil
	})
	nsp.OnRecoveryExpired(func(id string, data any) {
		rs.update(func() { rs.expired[id] = data })
	})
	nsp.OnConnection(func(s *realtime.Socket) {
		if !s.Recovered() {
			s.Join("r")
			s.SetData("data of " + s.ID())
			s.Emit("news", 1)
		}
		s.On("drop", func(_ []any, ack realtime.Ack) {
			ack()
			s.Close() // as a network failure would: the client comes back
		})
		s.On("whoami", func(_ []any, ack realtime.Ack) {
			rs.mu.Lock()
			mw := rs.middleware
			rs.mu.Unlock()
			ack(map[string]any{"id": s.ID(), "recovered": s.Recovered(), "inRoom": s.InRoom("r"), "data": s.Data(), "middleware": mw})
		})
		s.OnDisconnect(func(reason string) {
			if s.Kept() {
				// Missed while away: kept for the client, in order; the
				// volatile one and the other room's are not for it.
				nsp.To("r").Emit("news", 2)
				nsp.To("r").Volatile().Emit("news", "volatile")
				nsp.To("elsewhere").Emit("news", "not for r")
				nsp.To(s.ID()).Emit("news", 3)
			}
			rs.update(func() { rs.disconnects[s.ID()] = keptInfo{Reason: reason, Kept: s.Kept()} })
		})
	})
	r := gin.New()
	rt.Mount(r)
	// GET /kept/:id answers once the server is done with that socket's
	// disconnect, with how it left.
	r.GET("/kept/:id", func(c *gin.Context) {
		id := c.Param("id")
		var info keptInfo
		ok := rs.wait(stepTimeout, func() bool {
			var seen bool
			info, seen = rs.disconnects[id]
			return seen
		})
		if !ok {
			c.String(http.StatusNotFound, "no disconnect of %s", id)
			return
		}
		c.JSON(http.StatusOK, info)
	})
	hs := httptest.NewServer(r)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	rs.url = hs.URL
	return rs
}

type recoveryResult struct {
	Type      string   `json:"type"`
	Details   string   `json:"details"`
	Version   string   `json:"version"`
	FirstID   string   `json:"firstId"`
	SecondID  string   `json:"secondId"`
	Recovered bool     `json:"recovered"`
	Reason    string   `json:"reason"`
	Kept      keptInfo `json:"kept"`
	News      []any    `json:"news"`
	View      struct {
		ID         string `json:"id"`
		Recovered  bool   `json:"recovered"`
		InRoom     bool   `json:"inRoom"`
		Data       any    `json:"data"`
		Middleware int    `json:"middleware"`
	} `json:"view"`
}

func runRecovery(t *testing.T, url, gen, mode string) recoveryResult {
	t.Helper()
	var res recoveryResult
	var got bool
	runNodeScript(t, 30*time.Second, filepath.Join("test", "clients", "recovery.js"), []string{url, gen, mode}, func(b []byte) {
		var r recoveryResult
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("script printed a line that is not JSON: %q", b)
			return
		}
		if r.Type == "fatal" {
			t.Errorf("script: %s", r.Details)
			return
		}
		res, got = r, true
	})
	if !got {
		t.Fatal("the script printed no result")
	}
	t.Logf("socket.io-client %s over %s: %+v", res.Version, mode, res)
	return res
}

func TestRecoveryWithRealClient(t *testing.T) {
	for _, mode := range []string{"websocket", "polling"} {
		t.Run(mode, func(t *testing.T) {
			rs := startRecoveryServer(t, 0) // the default window, 2 minutes
			res := runRecovery(t, rs.url, "v4", mode)
			if !res.Kept.Kept || res.Kept.Reason != "forced close" {
				t.Errorf("server side: %+v, want kept after \"forced close\"", res.Kept)
			}
			if res.Reason != "transport close" {
				t.Errorf("client saw %q, want \"transport close\"", res.Reason)
			}
			if !res.Recovered || res.SecondID != res.FirstID {
				t.Fatalf("recovered=%v with id %q after %q; want recovered with the same id", res.Recovered, res.SecondID, res.FirstID)
			}
			if want := []any{1.0, 2.0, 3.0}; !reflect.DeepEqual(res.News, want) {
				t.Errorf("news = %v, want %v: the one before the drop, then the missed ones in order", res.News, want)
			}
			v := res.View
			if !v.Recovered || v.ID != res.FirstID || !v.InRoom || v.Data != "data of "+res.FirstID {
				t.Errorf("server's view of the recovered socket: %+v; want recovered, same id, still in room r, same data", v)
			}
			if v.Middleware != 1 {
				t.Errorf("middleware ran %d times, want once (not for the recovered socket)", v.Middleware)
			}
		})
	}
}

func TestRecoveryNotPossibleExpiresTheKeptSocket(t *testing.T) {
	const window = time.Second
	rs := startRecoveryServer(t, window)
	res := runRecovery(t, rs.url, "v3", "websocket")
	if !res.Kept.Kept {
		t.Errorf("server side: %+v, want kept (protocol 5 client, recoverable reason)", res.Kept)
	}
	if res.Recovered || res.SecondID == res.FirstID {
		t.Fatalf("socket.io-client %s recovered (id %q -> %q); it cannot", res.Version, res.FirstID, res.SecondID)
	}
	if want := []any{1.0, 1.0}; !reflect.DeepEqual(res.News, want) {
		t.Errorf("news = %v, want %v: one per fresh socket, nothing replayed", res.News, want)
	}
	if res.View.Middleware != 2 {
		t.Errorf("middleware ran %d times, want twice (two fresh sockets)", res.View.Middleware)
	}
	var data any
	if !rs.wait(window+5*time.Second, func() bool {
		var ok bool
		data, ok = rs.expired[res.FirstID]
		return ok
	}) {
		t.Fatalf("OnRecoveryExpired did not run for %s within the window + 5s", res.FirstID)
	}
	if data != "data of "+res.FirstID {
		t.Errorf("expired socket's data = %v", data)
	}
}
