package realtime_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

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
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	// The stalled client: a tiny receive buffer, and no read after CONNECT.
	small := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return d.DialContext(ctx, network, addr)
	}}
	stalled := connectRaw(t, small, url)
	stalledID := <-joined
	var live []*rawWS
	for i := 0; i < 2; i++ {
		live = append(live, connectRaw(t, ws.DefaultDialer, url))
		<-joined
	}

	// 16 MB in all, more than the kernel buffers of the stalled connection
	// and its 1 MiB queue can hold, at a pace the live clients keep up with.
	const messages = 4000
	text := strings.Repeat("x", 4096)
	got := make(chan int, len(live))
	for _, c := range live {
		go func(c *rawWS) {
			n := 0
			for n < messages {
				p, err := c.read()
				if err != nil {
					t.Logf("live client: %v after %d messages", err, n)
					break
				}
				if strings.HasPrefix(p, `42["m",`) {
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

type rawWS struct {
	conn net.Conn
	rw   io.ReadWriter // conn, after what the dialer had buffered
}

// connectRaw opens a WebSocket, joins "/" and returns once connected.
func connectRaw(t *testing.T, d ws.Dialer, url string) *rawWS {
	t.Helper()
	conn, br, _, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawWS{conn: conn, rw: conn}
	if br != nil { // br reads on from conn once its buffer is empty
		c.rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	if p, err := c.read(); err != nil || p[0] != '0' {
		t.Fatalf("open packet %q %v", p, err)
	}
	if err := wsutil.WriteClientText(conn, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if p, err := c.read(); err != nil || !strings.HasPrefix(p, "40{") {
		t.Fatalf("CONNECT answer %q %v", p, err)
	}
	return c
}

// read returns the next text message, answering pings.
func (c *rawWS) read() (string, error) {
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			return "", err
		}
		if op != ws.OpText {
			continue
		}
		if string(b) == "2" {
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
			continue
		}
		return string(b), nil
	}
}
