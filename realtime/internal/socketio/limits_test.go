package socketio

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

func pollingHandshake(t *testing.T, ts *testServer) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(ts.url + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func waitPending(t *testing.T, ts *testServer, want int) {
	t.Helper()
	for deadline := time.Now().Add(wait); ts.Pending() != want; time.Sleep(time.Millisecond) { // bounded poll of a counter
		if time.Now().After(deadline) {
			t.Fatalf("Pending() = %d, want %d", ts.Pending(), want)
		}
	}
}

// Connections that joined no namespace yet are bounded: one more
// handshake is refused with 503 until one joins or goes away.
func TestMaxPending(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{MaxPending: 1, ConnectTimeout: 300 * time.Millisecond}, echoServer)
	c := ts.dial(t, 4)
	waitPending(t, ts, 1)
	st, body, h := pollingHandshake(t, ts)
	if st != 503 || body != `{"code":4,"message":"Too many connections waiting to join a namespace"}` || h.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s %v", st, body, h)
	}
	c.Connect("/", "")
	waitPending(t, ts, 0)
	// Room again: this one joins nothing and times out, and gives its
	// place back when it closes.
	if st, body, _ := pollingHandshake(t, ts); st != 200 {
		t.Fatalf("after the join: %d %s", st, body)
	}
	waitPending(t, ts, 1)
	waitPending(t, ts, 0)
	// A connection closed before joining gives it back too.
	c2 := ts.dial(t, 4)
	waitPending(t, ts, 1)
	c2.Close()
	waitPending(t, ts, 0)
}

func TestMaxNamespaces(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{MaxNamespaces: 1}, echoServer)
	c := ts.dial(t, 4)
	c.Connect("/", "")
	c.Expect(`42["auth",{}]`)
	c.Send("40/custom,")
	c.Expect(`44/custom,{"message":"Too many namespaces on one connection"}`)
	// The connection goes on in the namespace it has; leaving it makes room.
	c.Send(`42["message","still here"]`)
	c.Expect(`42["message-back","still here"]`)
	c.Send("41")
	c.Connect("/custom", "")
	c.Expect(`42/custom,["auth",{}]`)
}

// A connection that keeps sending CONNECTs that are refused is closed.
func TestRefusedConnectLoopCloses(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{}, echoServer)
	c := ts.dial(t, 4)
	for i := range maxRefusedConnects {
		c.Send(fmt.Sprintf("40/nope%d,", i))
		c.Expect(fmt.Sprintf(`44/nope%d,{"message":"Invalid namespace"}`, i))
	}
	c.Send("40/nope,")
	c.Expect(`44/nope,{"message":"Invalid namespace"}`)
	c.ExpectClosed(false)
}
