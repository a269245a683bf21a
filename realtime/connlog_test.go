package realtime_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/internal/syncbuf"
	"github.com/socketio-go/chatserver/realtime"
)

// One structured line per connection and per disconnection, without the
// client's auth payload.
func TestConnectionsAreLogged(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var out syncbuf.Buffer
	rt := realtime.NewServer(realtime.Options{Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	left := make(chan struct{})
	rt.Of("/logged").OnConnection(func(s *realtime.Socket) {
		s.OnDisconnect(func(string) { close(left) })
	})
	r := gin.New()
	rt.Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()

	c := siotest.OpenWS(t, hs.URL+"/socket.io/", 4, siotest.Options{})
	c.Connect("/logged", `{"token":"secret-token"}`)
	c.Close()
	select {
	case <-left:
	case <-time.After(5 * time.Second):
		t.Fatal("no disconnect")
	}
	logs := out.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", logs)
	}
	for i, want := range []string{
		`"msg":"socket connected","sid":"`,
		`"msg":"socket disconnected","sid":"`,
	} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], `"namespace":"/logged","transport":"websocket","protocol":4`) {
			t.Errorf("line %d: %s", i+1, lines[i])
		}
	}
	if !strings.Contains(lines[1], `"reason":"transport close","duration":`) {
		t.Errorf("disconnect line: %s", lines[1])
	}
	if strings.Contains(logs, "secret-token") {
		t.Errorf("the auth payload is in the log: %s", logs)
	}
}
