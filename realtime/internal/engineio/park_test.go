//go:build linux

package engineio

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/socketio-go/chatserver/internal/siotest"
)

// These run over loopback TCP: parking needs a real socket (a pipe has no
// file descriptor for the poller).

const testParkAfter = 20 * time.Millisecond

func parkServer(t *testing.T, opts Options) (*testServer, string) {
	t.Helper()
	if opts.ParkAfter == 0 {
		opts.ParkAfter = testParkAfter
	}
	ts := newTestServer(t, opts)
	hs := httptest.NewServer(ts)
	t.Cleanup(hs.Close)
	return ts, hs.URL + "/engine.io/"
}

// waitParked waits until s is parked (or, with want false, not parked).
func waitParked(t *testing.T, s *Session, want bool) {
	t.Helper()
	waitState(t, s, fmt.Sprintf("parked=%v", want), func() bool { return s.parked == want })
}

// readerGoroutines counts the goroutines running a session's reader.
func readerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "engineio.(*Session).readLoop(")
}

// An idle session parks (no reader goroutine), is written to while parked,
// and wakes for the client's next message, in order, as often as it goes
// idle.
func TestIdleSessionParksAndWakes(t *testing.T) {
	ts, url := parkServer(t, Options{})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	s := ts.nextSession(t)
	for round := range 3 {
		waitParked(t, s, true)
		if n := readerGoroutines(); n != 0 {
			t.Fatalf("round %d: %d reader goroutines for a parked session", round, n)
		}
		s.Send(NewMessageString("to you"))
		c.Expect("4to you")
		c.Send("4one")
		c.Send("4two")
		if a, b := ts.rec.nextMessage(t), ts.rec.nextMessage(t); a.data != "one" || b.data != "two" {
			t.Fatalf("round %d: got %q %q", round, a.data, b.data)
		}
	}
}

// A frame that arrives in pieces, slower than the park deadline, is still
// read whole: the deadline only parks a reader between frames.
func TestSlowFrameIsNotCutByTheParkDeadline(t *testing.T) {
	ts, url := parkServer(t, Options{})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	ts.nextSession(t)
	frame := ws.NewTextFrame([]byte("4slow but whole"))
	frame = ws.MaskFrameInPlace(frame)
	raw, err := ws.CompileFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		if _, err := c.Conn.Write(raw[i : i+1]); err != nil {
			t.Fatal(err)
		}
		if i < 4 {
			time.Sleep(testParkAfter) // the header straddles several deadlines
		}
	}
	if m := ts.rec.nextMessage(t); m.data != "slow but whole" {
		t.Fatalf("got %q", m.data)
	}
}

// A parked session whose client goes away is closed and reported.
func TestParkedSessionClientHangsUp(t *testing.T) {
	ts, url := parkServer(t, Options{})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	s := ts.nextSession(t)
	waitParked(t, s, true)
	c.Close()
	if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportClose {
		t.Fatalf("reason %v", ce.reason)
	}
}

// Closing a parked session from the server sends the close frame and
// finishes the close handshake.
func TestParkedSessionServerClose(t *testing.T) {
	ts, url := parkServer(t, Options{})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	s := ts.nextSession(t)
	waitParked(t, s, true)
	s.Close()
	if err := c.ExpectClosed(false); siotest.CloseCode(err) != ws.StatusNormalClosure {
		t.Fatalf("connection ended by %v, want a close frame with 1000", err)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonForcedClose {
		t.Fatalf("reason %v", ce.reason)
	}
}

// The heartbeat still times out a parked session that stops answering.
func TestParkedSessionPingTimeout(t *testing.T) {
	ts, url := parkServer(t, Options{PingInterval: 60 * time.Millisecond, PingTimeout: 60 * time.Millisecond, ParkAfter: 10 * time.Millisecond})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	s := ts.nextSession(t)
	waitParked(t, s, true)
	if err := c.ExpectClosed(false); siotest.CloseCode(err) != ws.StatusNormalClosure {
		t.Fatalf("connection ended by %v, want a close frame with 1000", err)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonPingTimeout {
		t.Fatalf("reason %v", ce.reason)
	}
}

// A client that answers every ping keeps its session, parked between
// pings.
func TestParkedSessionAnswersPings(t *testing.T) {
	ts, url := parkServer(t, Options{PingInterval: 40 * time.Millisecond, PingTimeout: 40 * time.Millisecond, ParkAfter: 10 * time.Millisecond})
	c := siotest.OpenWS(t, url, 4, siotest.Options{})
	s := ts.nextSession(t)
	for range 4 {
		if m := c.ReadText(); m != "2" {
			t.Fatalf("got %q, want a ping", m)
		}
		c.Send("3")
		waitParked(t, s, true)
	}
	c.Send("4still here")
	if m := ts.rec.nextMessage(t); m.data != "still here" {
		t.Fatalf("got %q", m.data)
	}
}

// Server.Close closes parked sessions like the others, and returns.
func TestServerCloseWithParkedSessions(t *testing.T) {
	ts, url := parkServer(t, Options{})
	var clients []*siotest.WS
	for range 5 {
		clients = append(clients, siotest.OpenWS(t, url, 4, siotest.Options{}))
		waitParked(t, ts.nextSession(t), true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Server.Close(ctx) }()
	for _, c := range clients {
		if err := c.ExpectClosed(false); siotest.CloseCode(err) != ws.StatusNormalClosure {
			t.Fatalf("connection ended by %v, want a close frame with 1000", err)
		}
		c.Close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
