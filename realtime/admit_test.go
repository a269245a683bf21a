package realtime_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime"
)

// TestEventRightAfterConnect sends an acked event the moment the namespace's
// CONNECT reply arrives, as socket.io.js does, on many connections at once.
// Every one must be answered: a packet decoded before the library has
// recorded the new socket must not close the connection.
func TestEventRightAfterConnect(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	rt := realtime.NewServer(realtime.Options{})
	nsp := rt.Of("/gate")

	nsp.OnConnection(func(s *realtime.Socket) {
		s.On("hi", func(_ []any, ack realtime.Ack) {
			if ack != nil {
				ack("ho")
			}
		})
	})
	r := gin.New()
	rt.Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()
	url := hs.URL + "/socket.io/?EIO=4&transport=websocket"

	const clients, rounds = 50, 8
	var failed sync.Map
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if err := connectAndAsk(t, url); err != "" {
					failed.Store(round*clients+i, err)
				}
			}(i)
		}
		wg.Wait()
	}
	n := 0
	failed.Range(func(k, v any) bool {
		if n < 5 {
			t.Errorf("client %v: %v", k, v)
		}
		n++
		return true
	})
	if n > 0 {
		t.Fatalf("%d of %d connections failed", n, clients*rounds)
	}
}

// connectAndAsk runs one client and says what went wrong, if anything; it
// runs on a goroutine of its own, so it does not fail the test itself.
func connectAndAsk(t *testing.T, url string) string {
	c, _, err := siotest.DialWS(t, url, siotest.Options{Timeout: 5 * time.Second})
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	read := func() string {
		m, err := c.ReadMessage()
		if err != nil {
			return "!" + err.Error()
		}
		return string(m.Data)
	}
	if m := read(); !strings.HasPrefix(m, "0{") {
		return "open: " + m
	}
	_ = c.Write(false, []byte("40/gate,"))
	if m := read(); !strings.HasPrefix(m, "40/gate,{") {
		return "connect: " + m
	}
	_ = c.Write(false, []byte(`42/gate,7["hi"]`))
	if m := read(); m != `43/gate,7["ho"]` {
		return "ack: " + m
	}
	return ""
}
