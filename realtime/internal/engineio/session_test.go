package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/socketio-go/chatserver/internal/siotest"
)

func TestWebSocketOpenAndEcho(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 5000})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	if c.sid() != s.ID() || len(s.ID()) != 20 {
		t.Fatalf("sid %q, session %q", c.sid(), s.ID())
	}
	if up := c.open["upgrades"].([]any); len(up) != 0 || c.open["maxPayload"].(float64) != 5000 {
		t.Fatalf("open packet %v", c.open)
	}
	if s.Transport() != "websocket" || s.Protocol() != 4 {
		t.Fatalf("transport %s protocol %d", s.Transport(), s.Protocol())
	}
	c.send("4héllo")
	if e := ts.rec.nextMessage(t); e.data != "héllo" || e.binary {
		t.Fatalf("server got %+v", e)
	}
	c.sendFrame(ws.OpBinary, []byte{1, 2, 3})
	if e := ts.rec.nextMessage(t); e.data != "\x01\x02\x03" || !e.binary {
		t.Fatalf("server got %+v", e)
	}
	if !s.Send(NewMessageString("a"), NewBinaryMessage([]byte{9})) {
		t.Fatal("Send refused on an open session")
	}
	c.expect("4a")
	f, err := c.frame()
	if err != nil || f.Header.OpCode != ws.OpBinary || string(f.Payload) != "\x09" {
		t.Fatalf("binary frame %v %q %v", f.Header.OpCode, f.Payload, err)
	}
}

func TestWebSocketV3BinaryHasTypeByte(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true})
	c := dialPipe(t, ts, "EIO=3&transport=websocket")
	s := ts.nextSession(t)
	c.sendFrame(ws.OpBinary, []byte{4, 7, 8})
	if e := ts.rec.nextMessage(t); e.data != "\x07\x08" || !e.binary {
		t.Fatalf("server got %+v", e)
	}
	s.Send(NewBinaryMessage([]byte{7}))
	f, err := c.frame()
	if err != nil || string(f.Payload) != "\x04\x07" {
		t.Fatalf("v3 binary frame %q %v", f.Payload, err)
	}
	// v3: the client pings, the server answers, probe data included.
	c.send("2")
	c.expect("3")
	c.send("2probe")
	c.expect("3probe")
}

// A pong sent the instant the ping arrives is never lost (the old library
// armed its timeout after sending the ping and could miss it).
func TestHeartbeatImmediatePong(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{PingInterval: 20 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	for i := 0; i < 15; i++ {
		c.expect("2")
		c.send("3")
	}
	select {
	case ce := <-ts.rec.closes:
		t.Fatalf("session closed: %v", ce.reason)
	default:
	}
}

func TestPingTimeout(t *testing.T) {
	t.Parallel()
	const interval, timeout = 40 * time.Millisecond, 30 * time.Millisecond
	ts := newTestServer(t, Options{PingInterval: interval, PingTimeout: timeout})
	start := time.Now()
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	c.expect("2") // and no answer
	ce := ts.rec.nextClose(t)
	if ce.reason != ReasonPingTimeout || ce.reason.String() != "ping timeout" {
		t.Fatalf("reason %v", ce.reason)
	}
	if el := time.Since(start); el < interval+timeout {
		t.Fatalf("closed after %v, before interval+timeout", el)
	}
}

// A v4 pong the server did not ask for does not move the heartbeat: a
// client that only ever sends pongs of its own is still dropped on time.
func TestUnsolicitedPongIgnored(t *testing.T) {
	t.Parallel()
	const interval, timeout = 60 * time.Millisecond, 40 * time.Millisecond
	ts := newTestServer(t, Options{PingInterval: interval, PingTimeout: timeout})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	s.mu.Lock()
	before := s.due
	s.mu.Unlock()
	c.send("3")
	c.send("4sync") // handled after the pong: once it arrives, so has the pong
	ts.rec.nextMessage(t)
	s.mu.Lock()
	after := s.due
	s.mu.Unlock()
	if after != before {
		t.Fatalf("an unsolicited pong moved the next ping from %v to %v", before, after)
	}
	c.expect("2")
}

func TestV3ClientSilentTimesOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true, PingInterval: 30 * time.Millisecond, PingTimeout: 20 * time.Millisecond})
	dialPipe(t, ts, "EIO=3&transport=websocket")
	if ce := ts.rec.nextClose(t); ce.reason != ReasonPingTimeout {
		t.Fatalf("reason %v", ce.reason)
	}
}

func TestCloseReasons(t *testing.T) {
	t.Parallel()
	t.Run("close packet", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		// What the client sent before closing is delivered first.
		c.send("4a")
		c.send("4b")
		c.send("1")
		if a, b := ts.rec.nextMessage(t), ts.rec.nextMessage(t); a.data != "a" || b.data != "b" {
			t.Fatalf("got %q %q", a.data, b.data)
		}
		if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportClose {
			t.Fatalf("reason %v", ce.reason)
		}
	})
	t.Run("close frame", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		c.send("4last")
		c.sendFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		if code, _ := c.expectClose(); code != ws.StatusNormalClosure {
			t.Fatalf("close code %d", code)
		}
		if e := ts.rec.nextMessage(t); e.data != "last" {
			t.Fatalf("got %q", e.data)
		}
		if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportClose {
			t.Fatalf("reason %v", ce.reason)
		}
	})
	t.Run("invalid packet", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		c.send("abc")
		if ce := ts.rec.nextClose(t); ce.reason != ReasonParseError || !errors.Is(ce.err, ErrInvalidPacket) {
			t.Fatalf("reason %v err %v", ce.reason, ce.err)
		}
	})
	t.Run("heartbeat direction", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		c.send("2")
		if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportError {
			t.Fatalf("reason %v", ce.reason)
		}
	})
	t.Run("too big", func(t *testing.T) {
		ts := newTestServer(t, Options{MaxPayload: 100})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		// The server stops reading at the header; over a pipe the rest of
		// the write then never completes.
		go ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewTextFrame([]byte("4"+strings.Repeat("x", 100)))))
		if code, _ := c.expectClose(); code != ws.StatusMessageTooBig {
			t.Fatalf("close code %d, want 1009", code)
		}
		if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportError {
			t.Fatalf("reason %v", ce.reason)
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		c.sendFrame(ws.OpText, []byte("4\xff"))
		if code, _ := c.expectClose(); code != ws.StatusInvalidFramePayloadData {
			t.Fatalf("close code %d, want 1007", code)
		}
	})
	t.Run("unmasked", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		// Over a pipe the payload write waits for a read that never comes.
		go ws.WriteFrame(c.conn, ws.NewTextFrame([]byte("4x")))
		if code, _ := c.expectClose(); code != ws.StatusProtocolError {
			t.Fatalf("close code %d, want 1002", code)
		}
	})
	t.Run("fragmented message is reassembled", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, []byte("4he"))))
		c.sendFrame(ws.OpPing, []byte("p")) // a control frame in between
		_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("llo"))))
		f, err := c.frame()
		if err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "p" {
			t.Fatalf("pong %v %q %v", f.Header.OpCode, f.Payload, err)
		}
		if e := ts.rec.nextMessage(t); e.data != "hello" {
			t.Fatalf("got %q", e.data)
		}
	})
	t.Run("forced close flushes first", func(t *testing.T) {
		ts := newTestServer(t, Options{})
		c := dialPipe(t, ts, "EIO=4&transport=websocket")
		s := ts.nextSession(t)
		s.Send(NewMessageString("1"))
		s.Send(NewMessageString("2"))
		s.Close()
		if s.Send(NewMessageString("3")) {
			t.Fatal("Send accepted on a closing session")
		}
		code, texts := c.expectClose()
		if code != ws.StatusNormalClosure || strings.Join(texts, ",") != "41,42" {
			t.Fatalf("close %d after %q", code, texts)
		}
		if ce := ts.rec.nextClose(t); ce.reason != ReasonForcedClose || ce.reason.String() != "forced close" {
			t.Fatalf("reason %v", ce.reason)
		}
	})
}

// A client that stops reading is closed as a slow client once its queue
// is over the cap, and the others are served meanwhile.
func TestSlowClientIsClosed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxQueueBytes: 4096})
	stalled := dialPipe(t, ts, "EIO=4&transport=websocket")
	s1 := ts.nextSession(t)
	live := dialPipe(t, ts, "EIO=4&transport=websocket")
	s2 := ts.nextSession(t)
	_ = stalled
	m := NewMessageString(strings.Repeat("x", 500))
	sent := 0
	for i := 0; i < 20; i++ {
		done := make(chan bool, 1)
		go func() { done <- s1.Send(m) }()
		select {
		case ok := <-done:
			if ok {
				sent++
			}
		case <-time.After(waitFor):
			t.Fatal("Send blocked on a client that does not read")
		}
		s2.Send(m)
		live.expect("4" + strings.Repeat("x", 500))
	}
	ce := ts.rec.nextClose(t)
	if ce.id != s1.ID() || ce.reason != ReasonSlowClient || !errors.Is(ce.err, ErrSlowClient) {
		t.Fatalf("closed %s (%v, %v), want the stalled session as a slow client", ce.id, ce.reason, ce.err)
	}
	if sent < 7 || sent > 10 {
		t.Fatalf("%d sends accepted before the 4096-byte cap", sent)
	}
}

// A client that stops reading with little queued is closed when a write
// has waited WriteTimeout (PingInterval+PingTimeout).
func TestStalledWriteTimesOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	dialPipe(t, ts, "EIO=4&transport=websocket") // never reads
	s := ts.nextSession(t)
	s.Send(NewMessageString("x"))
	ce := ts.rec.nextClose(t)
	if ce.reason != ReasonTransportError && ce.reason != ReasonPingTimeout {
		t.Fatalf("reason %v", ce.reason)
	}
}

// SendFlags.Latest replaces a queued value with the same key; the newest value
// always arrives and nothing queues behind it.
func TestSendLatestReplacesQueued(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	// Over a pipe nothing is written until the client reads: the first
	// message is in the writer's hands, the rest wait in the queue.
	s.Send(NewMessageString("first"))
	waitWriting(t, s)
	for i := 0; i < 50; i++ {
		s.SendWith(SendFlags{Latest: "alice"}, NewMessageString(fmt.Sprintf("alice %d", i)))
		s.SendWith(SendFlags{Latest: "bob"}, NewMessageString(fmt.Sprintf("bob %d", i)))
	}
	s.Send(NewMessageString("last"))
	// A group of another length replaces the old one too.
	s.SendWith(SendFlags{Latest: "bob"}, NewMessageString("bob x"), NewBinaryMessage([]byte{1}))
	c.expect("4first", "4alice 49", "4last", "4bob x")
	if f, err := c.frame(); err != nil || f.Header.OpCode != ws.OpBinary {
		t.Fatalf("attachment %v %v", f.Header.OpCode, err)
	}
	// The writer accounts for a write once it returns, just after the
	// client has read it.
	deadline := time.Now().Add(waitFor)
	for {
		s.mu.Lock()
		queued := s.queued
		s.mu.Unlock()
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued bytes %d after everything was written", queued)
		}
		time.Sleep(time.Millisecond) // polling for a state, bounded by deadline
	}
}

func TestSendVolatileDropsWhenBusy(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	if !s.SendWith(SendFlags{Volatile: true}, NewMessageString("v1")) {
		t.Fatal("volatile refused on an idle session")
	}
	waitWriting(t, s)
	if s.SendWith(SendFlags{Volatile: true}, NewMessageString("v2")) {
		t.Fatal("volatile accepted while the session is writing")
	}
	s.Send(NewMessageString("n"))
	c.expect("4v1", "4n")
}

// Deferred sends hand the session to its flusher once; what is sent
// while it waits for its turn gathers in the queue (volatile included: the
// client is not behind, only not written to yet) and leaves together, in
// order.
func TestDeferredSendsGatherForTheFlusher(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	// A flusher whose goroutine starts only once the sends are done.
	f := &flusher{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	t.Cleanup(func() { close(f.stop) })
	s.flusher = f
	deferred := SendFlags{Deferred: true}
	s.SendWith(deferred, NewMessageString("a"))
	s.SendWith(deferred, NewMessageString("b"))
	if !s.SendWith(SendFlags{Deferred: true, Volatile: true}, NewMessageString("v")) {
		t.Fatal("volatile refused while the session only waits for its flusher")
	}
	s.SendWith(SendFlags{Deferred: true, Latest: "k"}, NewMessageString("k1"))
	s.SendWith(SendFlags{Deferred: true, Latest: "k"}, NewMessageString("k2"))
	s.mu.Lock()
	queued := len(s.queue)
	s.mu.Unlock()
	if len(f.ready) != 1 || f.ready[0] != s || queued != 4 {
		t.Fatalf("ready list %d long with %d queued; want the session once with 4", len(f.ready), queued)
	}
	go f.run()
	c.expect("4a", "4b", "4v", "4k2")
}

func waitWriting(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		w := s.writing
		s.mu.Unlock()
		if w {
			return
		}
		time.Sleep(time.Millisecond) // polling for a state, bounded by deadline
	}
	t.Fatal("timeout waiting for the session to be writing")
}

// --- polling ---------------------------------------------------------------

func TestPollingQueueAndPayload(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	sid := openPolling(t, ts, "4")
	s := ts.nextSession(t)
	if s.Transport() != "polling" {
		t.Fatal(s.Transport())
	}
	q := "EIO=4&transport=polling&sid=" + sid
	// Queued before the poll: all of it in one payload.
	s.Send(NewMessageString("a"))
	s.Send(NewBinaryMessage([]byte{1, 2}))
	if st, body := poll(ts, "GET", q, ""); st != 200 || body != "4a\x1ebAQI=" {
		t.Fatalf("poll %d %q", st, body)
	}
	// A poll that waits is answered by the next send.
	ch := pollAsync(ts, q)
	waitPolling(t, s)
	if !s.SendWith(SendFlags{Volatile: true}, NewMessageString("v")) {
		t.Fatal("volatile refused with a poll waiting")
	}
	if r := awaitPoll(t, ch); r.body != "4v" {
		t.Fatalf("poll got %q", r.body)
	}
	if s.SendWith(SendFlags{Volatile: true}, NewMessageString("dropped")) {
		t.Fatal("volatile accepted with no poll waiting")
	}
	// Packets the client posts just before closing are delivered.
	if st, body := poll(ts, "POST", q, "4x\x1e4y\x1e1"); st != 200 || body != "ok" {
		t.Fatalf("post %d %q", st, body)
	}
	if a, b := ts.rec.nextMessage(t), ts.rec.nextMessage(t); a.data != "x" || b.data != "y" {
		t.Fatalf("got %q %q", a.data, b.data)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportClose {
		t.Fatalf("reason %v", ce.reason)
	}
}

func TestPollingServerCloseSendsClosePacket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	sid := openPolling(t, ts, "4")
	s := ts.nextSession(t)
	q := "EIO=4&transport=polling&sid=" + sid
	s.Send(NewMessageString("bye"))
	s.Close()
	// What was queued first, and the close packet in a response of its
	// own, as Node does (a client handles a payload's packets only after
	// the close in it, and drops the acks it waited for by then).
	if st, body := poll(ts, "GET", q, ""); st != 200 || body != "4bye" {
		t.Fatalf("first poll %d %q, want the queued message alone", st, body)
	}
	if st, body := poll(ts, "GET", q, ""); st != 200 || body != "1" {
		t.Fatalf("second poll %d %q, want the close packet", st, body)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonForcedClose {
		t.Fatalf("reason %v", ce.reason)
	}
	if st, _ := poll(ts, "GET", q, ""); st != 400 {
		t.Fatalf("poll after close: %d", st)
	}
}

func TestPollingV3(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true})
	st, body := poll(ts, "GET", "EIO=3&transport=polling&b64=1", "")
	n, rest, _ := strings.Cut(body, ":")
	if st != 200 || fmt.Sprint(utf16Len([]byte(rest))) != n || !strings.HasPrefix(rest, "0{") {
		t.Fatalf("handshake %d %q, want one length-prefixed open packet", st, body)
	}
	s := ts.nextSession(t)
	q := "EIO=3&transport=polling&sid=" + s.ID()
	if st, body := poll(ts, "POST", q, "4:4é😀"); st != 200 || body != "ok" {
		t.Fatalf("post %d %q", st, body)
	}
	if e := ts.rec.nextMessage(t); e.data != "é😀" {
		t.Fatalf("got %q", e.data)
	}
	poll(ts, "POST", q, "1:2")
	s.Send(NewBinaryMessage([]byte{1, 2, 3, 4}))
	if st, body := poll(ts, "GET", q, ""); st != 200 || body != "1:310:b4AQIDBA==" {
		t.Fatalf("poll %d %q", st, body)
	}
}

func TestPollingErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 10})
	sid := openPolling(t, ts, "4")
	ts.nextSession(t)
	q := "EIO=4&transport=polling&sid=" + sid
	if st, _ := poll(ts, "POST", q, "4"+strings.Repeat("x", 10)); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized post: %d", st)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonTransportError {
		t.Fatalf("reason %v", ce.reason)
	}
	sid = openPolling(t, ts, "4")
	ts.nextSession(t)
	q = "EIO=4&transport=polling&sid=" + sid
	if st, body := poll(ts, "POST", q, "4ok\x1eabc"); st != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("invalid post: %d %q", st, body)
	}
	if e := ts.rec.nextMessage(t); e.data != "ok" {
		t.Fatalf("the valid packet before the invalid one: %q", e.data)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonParseError {
		t.Fatalf("reason %v", ce.reason)
	}
}

// --- upgrade ----------------------------------------------------------------

func TestUpgradeMovesQueue(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	sid := openPolling(t, ts, "4")
	s := ts.nextSession(t)
	q := "EIO=4&transport=polling&sid=" + sid
	waiting := pollAsync(ts, q)
	waitPolling(t, s)
	c := dialPipe(t, ts, "EIO=4&transport=websocket&sid="+sid)
	c.send("2probe")
	c.expect("3probe")
	if r := awaitPoll(t, waiting); r.body != "6" {
		t.Fatalf("waiting poll released with %q, want a noop", r.body)
	}
	// Sent during the upgrade: waits in the queue, then goes over the
	// WebSocket, in order.
	s.Send(NewMessageString("during 1"))
	s.Send(NewMessageString("during 2"))
	c.send("5")
	c.expect("4during 1", "4during 2")
	if s.Transport() != "websocket" {
		t.Fatal(s.Transport())
	}
	if st := ts.Stats(); st.Upgrades != 1 || st.Sessions[StatsWebSocket][1] != 1 || st.Sessions[StatsPolling][1] != 0 || st.Handshakes[StatsPolling][1] != 1 {
		t.Fatalf("stats after the upgrade: %+v", st)
	}
	s.Send(NewMessageString("after"))
	c.expect("4after")
	if st, body := poll(ts, "GET", q, ""); st != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("poll after upgrade: %d %q", st, body)
	}
	c.send("4up")
	if e := ts.rec.nextMessage(t); e.data != "up" {
		t.Fatalf("got %q", e.data)
	}
	// A second WebSocket for the session is closed at once.
	c2 := dialPipe(t, ts, "EIO=4&transport=websocket&sid="+sid)
	if code, _ := c2.expectClose(); code != ws.StatusNormalClosure {
		t.Fatalf("second websocket: close %d", code)
	}
}

func TestUpgradeProbeFailureKeepsPolling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	sid := openPolling(t, ts, "4")
	s := ts.nextSession(t)
	c := dialPipe(t, ts, "EIO=4&transport=websocket&sid="+sid)
	c.send("4not a probe")
	c.expectClose()
	s.Send(NewMessageString("still here"))
	if st, body := poll(ts, "GET", "EIO=4&transport=polling&sid="+sid, ""); st != 200 || body != "4still here" {
		t.Fatalf("poll %d %q", st, body)
	}
}

// --- server -----------------------------------------------------------------

func TestServerCloseClosesEverySession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	ts.nextSession(t)
	sid := openPolling(t, ts, "4")
	ts.nextSession(t)
	ws1 := make(chan ws.StatusCode, 1)
	go func() { code, _ := c.expectClose(); ws1 <- code }()
	closed := make(chan error, 1)
	go func() { closed <- ts.Server.Close(context.Background()) }()
	// The polling client learns of it from its next poll.
	if st, body := poll(ts, "GET", "EIO=4&transport=polling&sid="+sid, ""); st != 200 || body != "1" {
		t.Fatalf("poll during shutdown: %d %q", st, body)
	}
	if code := <-ws1; code != ws.StatusNormalClosure {
		t.Fatalf("websocket close code %d", code)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	for i := 0; i < 2; i++ {
		if ce := ts.rec.nextClose(t); ce.reason != ReasonServerShutdown || ce.reason.String() != "server shutting down" {
			t.Fatalf("reason %v", ce.reason)
		}
	}
	if st, body := poll(ts, "GET", "EIO=4&transport=polling", ""); st != 403 || !strings.Contains(body, `"code":4`) {
		t.Fatalf("handshake after Close: %d %q", st, body)
	}
	if ts.Count() != 0 {
		t.Fatalf("%d sessions left", ts.Count())
	}
}

func TestServerCloseGivesUpAtDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	openPolling(t, ts, "4") // never polls again
	ts.nextSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := ts.Server.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 sessions") {
		t.Fatalf("Close = %v, want one session left at the deadline", err)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonServerShutdown {
		t.Fatalf("reason %v", ce.reason)
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowedOrigins: []string{"https://app.example"}})
	for origin, want := range map[string]int{
		"":                     200,
		"http://example.com":   200, // the request's own origin (httptest's host)
		"https://example.com":  403, // another scheme is another origin
		"https://app.example":  200,
		"https://APP.example/": 200,
		"https://evil.example": 403,
	} {
		r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		r.Header.Set("X-Forwarded-Host", "evil.example") // never trusted
		w := httptest.NewRecorder()
		ts.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Origin %q: %d %s, want %d", origin, w.Code, w.Body, want)
		}
		if origin == "https://app.example" && w.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("Origin %q: no CORS header", origin)
		}
		if w.Code == 200 {
			ts.nextSession(t)
		}
	}
	// A WebSocket from a foreign origin is refused before the upgrade.
	r := wsRequest("EIO=4&transport=websocket")
	r.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	ts.ServeHTTP(w, r)
	if w.Code != 403 || w.Body.String() != `{"code":4,"message":"origin not allowed: https://evil.example"}` {
		t.Fatalf("foreign WebSocket: %d %s", w.Code, w.Body)
	}
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	for _, tc := range []struct {
		method, query string
		status        int
		body          string
	}{
		{"GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"GET", "EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`}, // no Upgrade header
	} {
		st, body := poll(ts, tc.method, tc.query, "")
		if st != tc.status || body != tc.body {
			t.Errorf("%s ?%s: %d %s, want %d %s", tc.method, tc.query, st, body, tc.status, tc.body)
		}
	}
}

// Over a real socket, a session the server drops for a ping timeout gets
// a close frame first (the client sees 1000, not an abnormal 1006).
func TestPingTimeoutSendsCloseFrame(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
	hs := httptest.NewServer(ts)
	defer hs.Close()
	c := siotest.OpenWS(t, hs.URL+"/engine.io/", 4, siotest.Options{})
	// pings are not answered
	if err := c.ExpectClosed(false); siotest.CloseCode(err) != ws.StatusNormalClosure {
		t.Fatalf("connection ended by %v, want a close frame with 1000", err)
	}
	if ce := ts.rec.nextClose(t); ce.reason != ReasonPingTimeout {
		t.Fatalf("reason %v", ce.reason)
	}
}

// Cork holds what is sent for a moment, then writes it in one go.
func TestCork(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	c := dialPipe(t, ts, "EIO=4&transport=websocket")
	s := ts.nextSession(t)
	const d = 30 * time.Millisecond
	start := time.Now()
	s.Cork(d)
	s.Send(NewMessageString("a"))
	s.Send(NewMessageString("b"))
	c.expect("4a", "4b")
	if el := time.Since(start); el < d {
		t.Fatalf("corked messages written after %v, before %v", el, d)
	}
	s.Send(NewMessageString("c")) // uncorked again
	c.expect("4c")
}

// A poll that arrives between the probe and the upgrade packet waits for
// the upgrade (at most upgradePollWait): refused once it completes, else
// released with a noop so that the client can pause and finish it.
func TestPollDuringUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	for _, completes := range []bool{true, false} {
		sid := openPolling(t, ts, "4")
		s := ts.nextSession(t)
		q := "EIO=4&transport=polling&sid=" + sid
		c := dialPipe(t, ts, "EIO=4&transport=websocket&sid="+sid)
		c.send("2probe")
		c.expect("3probe")
		// The probe's answer is written before the session is marked as
		// upgrading; wait for the mark, so that the poll comes after it.
		for deadline := time.Now().Add(waitFor); ; time.Sleep(time.Millisecond) { // polling for a state, bounded
			s.mu.Lock()
			up := s.upgrading
			s.mu.Unlock()
			if up {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the session never started upgrading")
			}
		}
		start := time.Now()
		poll := pollAsync(ts, q)
		waitPolling(t, s)
		if completes {
			c.send("5")
			if r := awaitPoll(t, poll); r.status != 400 || !strings.Contains(r.body, `"code":3`) {
				t.Fatalf("poll waiting when the upgrade completed: %d %q", r.status, r.body)
			}
			continue
		}
		if r := awaitPoll(t, poll); r.status != 200 || r.body != "6" || time.Since(start) < upgradePollWait {
			t.Fatalf("poll during an unfinished upgrade: %d %q after %v", r.status, r.body, time.Since(start))
		}
	}
}
