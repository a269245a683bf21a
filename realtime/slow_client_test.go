package realtime_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime"
)

// A client that stops reading is disconnected once what waits for it
// passes MaxQueueBytes, and the broadcasts to everyone else never wait for
// it: the other members get every message, and every Emit returns, while
// the stalled client reads nothing at all.
func TestSlowClientDoesNotHoldBackOthers(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	rt := realtime.NewServer(realtime.Options{}) // MaxQueueBytes: 1 MiB
	nsp := rt.Of("/")
	joined := make(chan string, 4)
	reasons := make(chan string, 4)
	nsp.OnConnection(func(s *realtime.Socket) {
		s.Join("r")
		id := s.ID()
		s.OnDisconnect(func(r string) { reasons <- id + " " + r })
		joined <- id
	})
	r := gin.New()
	rt.Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()
	url := hs.URL + "/socket.io/"

	// The stalled client: a tiny receive buffer, and no read after CONNECT.
	small := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return d.DialContext(ctx, network, addr)
	}
	stalled := connectRaw(t, url, small)
	stalledID := <-joined
	var live []*siotest.WS
	for i := 0; i < 2; i++ {
		live = append(live, connectRaw(t, url, nil))
		<-joined
	}

	// 16 MB in all, more than the kernel buffers of the stalled connection
	// and its 1 MiB queue can hold, at a pace the live clients keep up with.
	const messages = 4000
	text := strings.Repeat("x", 4096)
	got := make(chan int, len(live))
	for _, c := range live {
		go func(c *siotest.WS) {
			n := 0
			for n < messages {
				m, err := c.NextMessage() // pings answered
				if err != nil {
					t.Logf("live client: %v after %d messages", err, n)
					break
				}
				if !m.Binary && strings.HasPrefix(string(m.Data), `42["m",`) {
					n++
				}
			}
			got <- n
		}(c)
	}
	sent := make(chan struct{})
	go func() {
		for i := 0; i < messages; i++ {
			nsp.To("r").Emit("m", i, text)
			if i%5 == 4 {
				time.Sleep(time.Millisecond) // pacing the load, not synchronising
			}
		}
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(20 * time.Second):
		t.Fatal("broadcasting waited for the client that does not read")
	}
	for range live {
		select {
		case n := <-got:
			if n != messages {
				t.Fatalf("a live client got %d of %d messages", n, messages)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a live client did not get every message")
		}
	}
	select {
	case r := <-reasons:
		if r != stalledID+" transport error" {
			t.Fatalf("disconnect %q, want the stalled client with transport error", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client that does not read is still connected")
	}
	_ = stalled
}

// connectRaw opens a WebSocket (its TCP connection from netDial, if not
// nil), joins "/" and returns once connected.
func connectRaw(t *testing.T, url string, netDial func(ctx context.Context, network, addr string) (net.Conn, error)) *siotest.WS {
	t.Helper()
	c := siotest.OpenWS(t, url, 4, siotest.Options{Timeout: 10 * time.Second, NetDial: netDial})
	c.Send("40")
	siotest.ParseSID(t, c.Recv(), "40")
	return c
}
