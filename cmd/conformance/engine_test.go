package main

// Raw-wire tests of the project's own Engine.IO server (realtime/internal/
// engineio) as `go run ./cmd/conformance -engine` serves it: newEngineHandler,
// the echo server at /engine.io/ that the official compliance suite
// socketio/engine.io-protocol (test-suite/test-suite.js) is run against.
//
// The first part replays that suite, one test per `it(...)` (named in the
// comment above each), asserting what the suite asserts. Where the suite
// relies on timing (a 5 ms sleep, two requests sent at once) the test
// either synchronises on something the server says, or accepts every
// order the suite's own assertions allow. The second part covers what the
// suite leaves out (error bodies, CORS, payload limits, heartbeat edge
// cases, abandoned polls, JSONP), the third Engine.IO v3 (socket.io-client
// 2.x) on the same echo server with AllowEIO3.
//
// Every wait is bounded (waitTimeout). A time.Sleep appears only where the
// passage of time is what is tested, and says so.

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/socketio-go/chatserver/internal/siotest"
)

var textPlain = map[string]string{"Content-Type": "text/plain;charset=UTF-8"}

// expectStatus asserts the status of an answer the suite only checks the
// status of (the exact bodies are TestEngineEchoErrorBodies' business).
func expectStatus(t *testing.T, what string, r siotest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: HTTP %d %q, want %d", what, r.Status, siotest.Clip(r.Body), status)
	}
}

// ===========================================================================
// The engine.io-protocol suite
// ===========================================================================

// ---------------------------------------------------------------------------
// handshake > HTTP long-polling

// it("successfully opens a session")
func TestEngineEchoHandshakePolling(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	r := s.Do("GET", "EIO=4&transport=polling", "", nil)
	expectStatus(t, "handshake", r, http.StatusOK)
	if !strings.HasPrefix(r.Body, "0") {
		t.Fatalf("handshake body %q does not start with 0", r.Body)
	}
	// the five keys, a string sid, upgrades ["websocket"], 300, 200, 1e6
	parseOpen(t, r.Body, []string{"websocket"})
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
}

// it("fails with an invalid 'EIO' query parameter")
func TestEngineEchoHandshakePollingInvalidEIO(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		expectStatus(t, "?"+q, s.Do("GET", q, "", nil), http.StatusBadRequest)
	}
}

// it("fails with an invalid 'transport' query parameter")
func TestEngineEchoHandshakePollingInvalidTransport(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectStatus(t, "?"+q, s.Do("GET", q, "", nil), http.StatusBadRequest)
	}
}

// it("fails with an invalid request method")
func TestEngineEchoHandshakePollingInvalidMethod(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	for _, m := range []string{"POST", "PUT"} {
		expectStatus(t, m, s.Do(m, "EIO=4&transport=polling", "", nil), http.StatusBadRequest)
	}
}

// ---------------------------------------------------------------------------
// handshake > WebSocket

// it("successfully opens a session")
func TestEngineEchoHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4) // the open packet, with upgrades []
	w.Close()
}

// it("fails with an invalid 'EIO' query parameter"): the suite only waits
// for "close", which a refused upgrade fires; here it must be refused.
func TestEngineEchoHandshakeWebSocketInvalidEIO(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket"} {
		expectStatus(t, "WebSocket ?"+q, s.Refused(q), http.StatusBadRequest)
	}
}

// it("fails with an invalid 'transport' query parameter")
func TestEngineEchoHandshakeWebSocketInvalidTransport(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectStatus(t, "WebSocket ?"+q, s.Refused(q), http.StatusBadRequest)
	}
}

// ---------------------------------------------------------------------------
// message > HTTP long-polling

// it("sends and receives a payload containing one plain text packet")
func TestEngineEchoMessagePollingText(t *testing.T) {
	t.Parallel()
	echoPolling(t, "4hello")
}

// it("sends and receives a payload containing several plain text packets")
func TestEngineEchoMessagePollingSeveral(t *testing.T) {
	t.Parallel()
	echoPolling(t, "4test1\x1e4test2\x1e4test3")
}

// it("sends and receives a payload containing plain text and binary packets")
func TestEngineEchoMessagePollingBinary(t *testing.T) {
	t.Parallel()
	echoPolling(t, "4hello\x1ebAQIDBA==")
}

// echoPolling posts payload (200 "ok") and polls it back, exactly.
func echoPolling(t *testing.T, payload string) {
	t.Helper()
	s := startEngineServer(t)
	p := s.openPolling(4)
	r := p.PostRaw(payload)
	if r.Status != http.StatusOK || r.Body != "ok" {
		t.Fatalf("POST %q: HTTP %d %q, want 200 \"ok\"", payload, r.Status, r.Body)
	}
	p.ExpectPayload(payload)
}

// it("closes the session upon invalid packet format")
func TestEngineEchoMessagePollingInvalidPacket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	expectStatus(t, `POST "abc"`, p.PostRaw("abc"), http.StatusBadRequest)
	expectStatus(t, "poll after the invalid packet", p.Get(), http.StatusBadRequest)
}

// it("closes the session upon duplicate poll requests"). The suite sends
// the second poll 5 ms after the first; here it leaves once the first is on
// the wire. The server may still see them in either order: whichever it
// holds gets the close packet "1", the other an error.
func TestEngineEchoMessagePollingDuplicatePoll(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	type result struct {
		r   siotest.Response
		err error
	}
	first := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		r, err := s.Request("GET", p.Query(), "", siotest.Req{Wrote: wrote})
		first <- result{r, err}
	}()
	select {
	case <-wrote:
	case res := <-first:
		t.Fatalf("first poll: %v (HTTP %d %q)", res.err, res.r.Status, res.r.Body)
	case <-time.After(waitTimeout):
		t.Fatal("first poll not sent")
	}
	r2, err := s.Request("GET", p.Query()+"&t=burst", "", siotest.Req{})
	if err != nil {
		t.Fatal(err)
	}
	r1 := <-first // bounded by the request's own timeout
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	held, dup := r1.r, r2
	if held.Status != http.StatusOK {
		held, dup = dup, held
	}
	if held.Status != http.StatusOK || held.Body != "1" {
		t.Fatalf("held poll: HTTP %d %q, want 200 \"1\" (other: HTTP %d %q)", held.Status, held.Body, dup.Status, dup.Body)
	}
	// the suite accepts 400 and Node's 500
	if dup.Status != http.StatusBadRequest && dup.Status != http.StatusInternalServerError {
		t.Fatalf("duplicate poll: HTTP %d %q, want 400 or 500", dup.Status, dup.Body)
	}
	expectStatus(t, "poll after the duplicate", p.Get(), http.StatusBadRequest)
}

// ---------------------------------------------------------------------------
// message > WebSocket

// it("sends and receives a plain text packet")
func TestEngineEchoMessageWebSocketText(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	w.Send("4hello")
	w.Expect("4hello")
}

// it("sends and receives a binary packet")
func TestEngineEchoMessageWebSocketBinary(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	w.SendBinary([]byte{1, 2, 3, 4})
	w.ExpectBinary([]byte{1, 2, 3, 4})
}

// it("closes the session upon invalid packet format")
func TestEngineEchoMessageWebSocketInvalidPacket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	w.Send("abc")
	w.ExpectClosed(false)
}

// ---------------------------------------------------------------------------
// heartbeat > HTTP long-polling

// it("sends ping/pong packets")
func TestEngineEchoHeartbeatPolling(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	for i := 0; i < 3; i++ {
		r := p.Get() // held until the server pings
		if r.Status != http.StatusOK || r.Body != "2" {
			t.Fatalf("poll %d: HTTP %d %q, want 200 \"2\"", i, r.Status, r.Body)
		}
		expectStatus(t, "pong", p.PostRaw("3"), http.StatusOK)
	}
}

// it("closes the session upon ping timeout")
func TestEngineEchoHeartbeatPollingTimeout(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	// The suite's wait, and what is tested: pingInterval+pingTimeout pass
	// without a pong.
	time.Sleep(enginePingInterval + enginePingTimeout)
	deadline := time.Now().Add(waitTimeout)
	for {
		r := p.Get()
		if r.Status != http.StatusOK {
			expectStatus(t, "poll after the ping timeout", r, http.StatusBadRequest)
			return
		}
		// The suite sleeps exactly as long as the server waits, so the deadline
		// (which a busy process makes later still) may not have passed yet:
		// the ping may still be waiting ("2"), or this poll is the one the
		// close ends ("1"). Nothing else may come, and not for long.
		for _, pk := range strings.Split(r.Body, sep) {
			if pk != "1" && pk != "2" {
				t.Fatalf("poll after the ping Timeout: %q", r.Body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session still open %v after the ping timeout", waitTimeout)
		}
		t.Logf("poll after pingInterval+pingTimeout got %q: the server's deadline had not quite passed", r.Body)
	}
}

// ---------------------------------------------------------------------------
// heartbeat > WebSocket

// it("sends ping/pong packets")
func TestEngineEchoHeartbeatWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	for i := 0; i < 3; i++ {
		if got := w.ReadText(); got != "2" {
			t.Fatalf("frame %d: %q, want ping \"2\"", i, got)
		}
		w.Send("3")
	}
	w.Close()
}

// it("closes the session upon ping timeout")
func TestEngineEchoHeartbeatWebSocketTimeout(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	start := time.Now()
	w, _ := s.openWS(4)
	w.ExpectClosed(false) // pings are not answered
	if d := time.Since(start); d < enginePingInterval+enginePingTimeout {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
}

// ---------------------------------------------------------------------------
// close

// it("forcefully closes the session") over polling: a poll and a close
// packet sent at once. The server answers the poll with a noop whichever it
// sees first.
func TestEngineEchoClosePolling(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	type result struct {
		r   siotest.Response
		err error
	}
	poll := make(chan result, 1)
	go func() {
		r, err := s.Request("GET", p.Query(), "", siotest.Req{})
		poll <- result{r, err}
	}()
	post, err := s.Request("POST", p.Query(), "1", siotest.Req{Header: textPlain})
	if err != nil {
		t.Fatal(err)
	}
	res := <-poll // bounded by the request's own timeout
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Status != http.StatusOK || res.r.Body != "6" {
		t.Fatalf("poll: HTTP %d %q, want 200 \"6\"", res.r.Status, res.r.Body)
	}
	if post.Status != http.StatusOK || post.Body != "ok" {
		t.Errorf("POST \"1\": HTTP %d %q, want 200 \"ok\"", post.Status, post.Body)
	}
	expectStatus(t, "poll after the close", p.Get(), http.StatusBadRequest)
}

// it("forcefully closes the session") over WebSocket
func TestEngineEchoCloseWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	w.Send("1")
	w.ExpectClosed(false)
}

// ---------------------------------------------------------------------------
// upgrade

// it("successfully upgrades from HTTP long-polling to WebSocket")
func TestEngineEchoUpgrade(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	w := p.Probe() // "2probe" -> "3probe"
	p.ExpectPayload("6")
	w.Send("5")
	w.Send("4hello")
	w.Expect("4hello")
}

// it("ignores HTTP requests with same sid after upgrade"). The suite polls
// right after sending "5" and relies on the server having read it; here an
// echo over the WebSocket, which only an upgraded session sends, proves it.
func TestEngineEchoUpgradeIgnoresPolling(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	w := p.Dial("EIO=4&transport=websocket&sid=" + url.QueryEscape(p.SID))
	w.Send("2probe")
	w.Send("5")
	w.Expect("3probe")
	w.Send("4sync")
	w.Expect("4sync")
	expectStatus(t, "poll after the upgrade", p.Get(), http.StatusBadRequest)
	w.Send("4hello")
	w.Expect("4hello")
}

// it("ignores WebSocket connection with same sid after upgrade")
func TestEngineEchoUpgradeIgnoresWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	w := p.Dial("EIO=4&transport=websocket&sid=" + url.QueryEscape(p.SID))
	w.Send("2probe")
	w.Send("5")
	w.Expect("3probe")
	w.Send("4sync") // as above: the upgrade is complete once this echoes
	w.Expect("4sync")
	// refused with HTTP 400, or closed before any packet: both fire the
	// suite's "close"
	expectWSRefused(t, s, "EIO=4&transport=websocket&sid="+url.QueryEscape(p.SID))
	w.Send("4hello")
	w.Expect("4hello")
}

// ===========================================================================
// Beyond the suite
// ===========================================================================

// Every error is 400 {"code":N,"message":"..."} as application/json, with
// Node's engine.io codes and messages.
func TestEngineEchoErrorBodies(t *testing.T) {
	t.Parallel()
	const unknown = "EIO=4&transport=polling&sid=UnknownSessionId0000"
	cases := []struct {
		name, method, query, body string
		session                   string // "polling", "websocket": open one and add its sid
		code                      int
		message                   string
	}{
		{"0 no transport", "GET", "EIO=4", "", "", 0, "Transport unknown"},
		{"0 transport=abc", "GET", "EIO=4&transport=abc", "", "", 0, "Transport unknown"},
		{"1 GET", "GET", unknown, "", "", 1, "Session ID unknown"},
		{"1 POST", "POST", unknown, "4hello", "", 1, "Session ID unknown"},
		{"2 POST handshake", "POST", "EIO=4&transport=polling", "4hello", "", 2, "Bad handshake method"},
		{"2 PUT handshake", "PUT", "EIO=4&transport=polling", "", "", 2, "Bad handshake method"},
		{"3 websocket without upgrade", "GET", "EIO=4&transport=websocket", "", "", 3, "Bad request"},
		{"3 PUT on a session", "PUT", "EIO=4&transport=polling", "", "polling", 3, "Bad request"},
		{"3 polling a websocket session", "GET", "EIO=4&transport=polling", "", "websocket", 3, "Bad request"},
		{"5 no EIO", "GET", "transport=polling", "", "", 5, "Unsupported protocol version"},
		{"5 EIO=abc", "GET", "EIO=abc&transport=polling", "", "", 5, "Unsupported protocol version"},
		{"5 EIO=3 (v3 not allowed)", "GET", "EIO=3&transport=polling", "", "", 5, "Unsupported protocol version"},
		{"5 EIO=5", "GET", "EIO=5&transport=polling", "", "", 5, "Unsupported protocol version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startEngineServer(t)
			q := c.query
			switch c.session {
			case "polling":
				q += "&sid=" + url.QueryEscape(s.openPolling(4).SID)
			case "websocket":
				w, h := s.openWS(4)
				// The server writes the open packet before it registers
				// the session; an echo proves it is registered.
				w.Send("4sync")
				w.Expect("4sync")
				q += "&sid=" + url.QueryEscape(h.SID)
			}
			siotest.ExpectError(t, s.Do(c.method, q, c.body, nil), 400, c.code, c.message)
		})
	}
}

// CORS with AllowedOrigins "*": every answer to a cross-origin request
// carries Access-Control-Allow-Origin: *, and a preflight gets 204.
func TestEngineEchoCORS(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	const origin = "https://example.com"
	hdr := map[string]string{"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"}
	expectACAO := func(what string, r siotest.Response, status int) {
		t.Helper()
		expectStatus(t, what, r, status)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want *", what, got)
		}
	}

	r := s.Do("GET", "EIO=4&transport=polling", "", hdr)
	expectACAO("handshake", r, http.StatusOK)
	h := parseOpen(t, r.Body, []string{"websocket"})
	q := "EIO=4&transport=polling&sid=" + url.QueryEscape(h.SID)

	pre := s.Do("OPTIONS", q, "", map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type",
	})
	expectACAO("preflight", pre, http.StatusNoContent)
	methods := strings.Split(strings.ReplaceAll(pre.Header.Get("Access-Control-Allow-Methods"), " ", ""), ",")
	if !slices.Contains(methods, "GET") || !slices.Contains(methods, "POST") {
		t.Errorf("preflight: Access-Control-Allow-Methods %q, want GET and POST", pre.Header.Get("Access-Control-Allow-Methods"))
	}
	if got := pre.Header.Get("Access-Control-Allow-Headers"); !strings.EqualFold(got, "content-type") {
		t.Errorf("preflight: Access-Control-Allow-Headers %q, want the requested content-type", got)
	}
	if pre.Body != "" {
		t.Errorf("preflight: body %q, want none", pre.Body)
	}

	post := s.Do("POST", q, "4hello", hdr)
	expectACAO("POST", post, http.StatusOK)
	poll := s.Do("GET", q, "", hdr)
	expectACAO("poll", poll, http.StatusOK)
	if poll.Body != "4hello" && !strings.HasSuffix(poll.Body, sep+"4hello") {
		t.Errorf("poll: %q, want the echo", poll.Body)
	}
	// errors too, or a browser cannot read them
	expectACAO("unknown sid", s.Do("GET", "EIO=4&transport=polling&sid=UnknownSessionId0000", "", hdr), http.StatusBadRequest)
}

// A polling body over maxPayload gets 413 and closes the session, whether
// its length is announced (Content-Length) or not (chunked); one of exactly
// maxPayload bytes is accepted both ways.
func TestEngineEchoPayloadTooLargePolling(t *testing.T) {
	t.Parallel()
	atLimit := "4" + strings.Repeat("a", engineMaxPayload-1)
	over := atLimit + "a"
	for _, c := range []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"Content-Length over", over, false, http.StatusRequestEntityTooLarge},
		{"chunked over", over, true, http.StatusRequestEntityTooLarge},
		{"Content-Length at the limit", atLimit, false, http.StatusOK},
		{"chunked at the limit", atLimit, true, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startEngineServer(t)
			p := s.openPolling(4)
			host, path := s.hostPath()
			head := "POST " + path + "?" + p.Query() + " HTTP/1.1\r\nHost: " + host +
				"\r\nContent-Type: text/plain;charset=UTF-8\r\n"
			var r siotest.Response
			if c.chunked {
				r = s.rawExchange(head+"Transfer-Encoding: chunked\r\n", chunked(c.body, 32<<10))
			} else {
				r = s.rawExchange(head+"Content-Length: "+strconv.Itoa(len(c.body))+"\r\n", plain(c.body))
			}
			expectStatus(t, "POST of "+strconv.Itoa(len(c.body))+" bytes", r, c.status)
			if c.status == http.StatusOK {
				if r.Body != "ok" {
					t.Fatalf("POST: %q, want \"ok\"", r.Body)
				}
				p.ExpectPayload(c.body)
				return
			}
			p.ExpectGone()
		})
	}
}

// A WebSocket message over maxPayload is closed with 1009 (message too big);
// one of exactly maxPayload bytes is echoed.
func TestEngineEchoPayloadTooLargeWebSocket(t *testing.T) {
	t.Parallel()
	atLimit := "4" + strings.Repeat("a", engineMaxPayload-1)
	t.Run("at the limit", func(t *testing.T) {
		t.Parallel()
		s := startEngineServer(t)
		w, _ := s.openWS(4)
		w.Send(atLimit)
		w.Expect(atLimit)
	})
	t.Run("over", func(t *testing.T) {
		t.Parallel()
		s := startEngineServer(t)
		w, _ := s.openWS(4)
		// The server stops reading at the frame header; the write may only
		// end when the connection does.
		wrote := make(chan error, 1)
		go func() { wrote <- w.Write(false, []byte(atLimit+"a")) }()
		err := w.ExpectClosed(false)
		w.Close()
		<-wrote // ended by the close at the latest
		if siotest.CloseCode(err) != ws.StatusMessageTooBig {
			t.Fatalf("closed with %v, want close code 1009", err)
		}
	})
}

// A text frame that is not UTF-8 closes the connection (1007, invalid
// frame payload data).
func TestEngineEchoInvalidUTF8WebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	w.Send("4\xff\xfe") // the client does not check what it sends
	if err := w.ExpectClosed(false); siotest.CloseCode(err) != ws.StatusInvalidFramePayloadData {
		t.Fatalf("closed with %v, want close code 1007", err)
	}
}

// A pong sent the instant the ping arrives is not lost (the old library lost
// it, when it came before the library had armed its ping timeout): the
// session lives through five ping intervals, and each ping comes a full
// pingInterval after the pong before it.
func TestEngineEchoInstantPongPolling(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	p := s.openPolling(4)
	var pongAt time.Time
	for i := 0; i < 5; i++ {
		r := p.Get() // held until the server pings
		if r.Status != http.StatusOK || r.Body != "2" {
			t.Fatalf("poll %d: HTTP %d %q, want 200 \"2\"", i, r.Status, r.Body)
		}
		if d := time.Since(pongAt); i > 0 && d < enginePingInterval {
			t.Fatalf("ping %d came %v after the pong, before pingInterval", i, d)
		}
		pongAt = time.Now()
		p.Pong() // at once
	}
	p.Post("4alive")
	p.ExpectPayload("4alive")
}

func TestEngineEchoInstantPongWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	w, _ := s.openWS(4)
	var pongAt time.Time
	for i := 0; i < 5; i++ {
		if got := w.ReadText(); got != "2" {
			t.Fatalf("frame %d: %q, want ping \"2\"", i, got)
		}
		if d := time.Since(pongAt); i > 0 && d < enginePingInterval {
			t.Fatalf("ping %d came %v after the pong, before pingInterval", i, d)
		}
		pongAt = time.Now()
		w.Send("3") // at once
	}
	w.Send("4alive")
	w.Expect("4alive")
}

// heartbeat.go: a pong the server did not ask for is ignored; it must not
// push the next ping back (else a client that never reads could stay
// forever). A client that sends pongs before the first ping and leaves
// that ping unanswered gets the ping pingInterval after the handshake, not
// after its pongs, and is dropped pingTimeout later. (Node's engine.io
// differs here: any pong restarts its ping interval.)
func TestEngineEchoUnsolicitedPong(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	start := time.Now()
	w, _ := s.openWS(4)
	var last time.Time
	for _, at := range []time.Duration{50, 100, 150} {
		// The passage of time is what is tested: pongs at 50, 100 and
		// 150 ms, well before the first ping is due (300 ms).
		time.Sleep(time.Until(start.Add(at * time.Millisecond)))
		last = time.Now()
		w.Send("3")
	}
	if got := w.ReadText(); got != "2" {
		t.Fatalf("got %q, want the first ping", got)
	}
	if d := time.Since(last); d >= enginePingInterval {
		t.Fatalf("first ping %v after the last unsolicited pong: the pong postponed it", d)
	}
	w.ExpectClosed(false) // the ping is not answered
	if d := time.Since(start); d < enginePingInterval+enginePingTimeout {
		t.Fatalf("closed %v after the handshake, before pingInterval+pingTimeout", d)
	}
	if d := time.Since(last); d >= enginePingInterval+enginePingTimeout {
		t.Fatalf("closed %v after the last unsolicited pong: the pongs postponed the timeout", d)
	}
}

// A poll that the client abandons (closes its TCP connection while the
// server holds the poll) closes the session. requestHook tells when the
// server holds the poll and when it has finished with it.
func TestEngineEchoAbandonedPoll(t *testing.T) {
	t.Parallel()
	for attempt := 1; ; attempt++ {
		hook := newRequestHook(newEngineHandler(), "abandon")
		s := serveAt(t, hook, "/engine.io/", siotest.Options{})
		opened := time.Now()
		p := s.openPolling(4)
		host, path := s.hostPath()
		conn, err := (&net.Dialer{Timeout: waitTimeout}).Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Write([]byte("GET " + path + "?" + p.Query() + "&t=abandon HTTP/1.1\r\nHost: " + host + "\r\n\r\n"))
		if err != nil {
			conn.Close()
			t.Fatal(err)
		}
		waitClosed(t, hook.entered, "the poll reaching the server")
		reached := time.Since(opened)
		conn.Close()
		waitClosed(t, hook.done, "the server ending the abandoned poll")
		r := p.Get()
		if r.Status == http.StatusOK && reached >= enginePingInterval-50*time.Millisecond && attempt < 3 {
			// The poll reached the server so late that a ping may have been
			// due: the poll then carried it instead of waiting, and this is
			// not the case under test.
			t.Logf("attempt %d: the poll reached the server %v after the handshake (%q); retrying", attempt, reached, r.Body)
			continue
		}
		siotest.ExpectError(t, r, 400, 1, "Session ID unknown")
		return
	}
}

// JSONP polling: a poll is answered with ___eio[j]("<payload>"); as
// text/javascript, data arrives as a form body d=<payload> in which the
// client escaped newlines (newline -> \n, \n -> \\n, jsonp.go).
func TestEngineEchoJSONP(t *testing.T) {
	t.Parallel()
	s := startEngineServer(t)
	r := s.Do("GET", "EIO=4&transport=polling&j=0", "", nil)
	h := parseOpen(t, jsonpScript(t, r, "0"), []string{"websocket"})
	q := "EIO=4&transport=polling&j=0&sid=" + url.QueryEscape(h.SID)

	// a real newline and a backslash followed by n, then a second packet
	payload := "4line one\nline two \\n stays" + sep + "4plain"
	// engine.io-client's JSONP transport: \n -> \<newline>, then newline -> \n
	escaped := strings.ReplaceAll(strings.ReplaceAll(payload, `\n`, "\\\n"), "\n", `\n`)
	if want := `4line one\nline two \\n stays` + sep + "4plain"; escaped != want {
		t.Fatalf("test bug: escaped %q, want %q", escaped, want)
	}
	post := s.Do("POST", q, "d="+url.QueryEscape(escaped), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if post.Status != http.StatusOK || post.Body != "ok" {
		t.Fatalf("JSONP POST: HTTP %d %q, want 200 \"ok\"", post.Status, post.Body)
	}
	for deadline := time.Now().Add(waitTimeout); ; {
		got := jsonpScript(t, s.Do("GET", q, "", nil), "0")
		if got == "2" && time.Now().Before(deadline) { // a ping interval went by
			expectStatus(t, "JSONP pong", s.Do("POST", q, "d=3", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), http.StatusOK)
			continue
		}
		if got != payload {
			t.Fatalf("JSONP poll: %q, want %q", got, payload)
		}
		break
	}

	// j keeps only its digits: nothing else reaches the script
	r = s.Do("GET", "EIO=4&transport=polling&j="+url.QueryEscape(`3");alert(1);//`), "", nil)
	parseOpen(t, jsonpScript(t, r, "31"), []string{"websocket"})
}

// jsonpScript checks a JSONP answer, exactly ___eio[<index>]("<payload>");
// as text/javascript, and returns the payload.
func jsonpScript(t *testing.T, r siotest.Response, index string) string {
	t.Helper()
	expectStatus(t, "JSONP poll", r, http.StatusOK)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/javascript" {
		t.Errorf("JSONP Content-Type %q, want text/javascript", r.Header.Get("Content-Type"))
	}
	lit, ok := strings.CutPrefix(r.Body, "___eio["+index+"](")
	lit, ok2 := strings.CutSuffix(lit, ");")
	var payload string
	if !ok || !ok2 || json.Unmarshal([]byte(lit), &payload) != nil {
		t.Fatalf("JSONP body %q, want ___eio[%s](\"...\");", r.Body, index)
	}
	return payload
}

// ===========================================================================
// Engine.IO v3 (socket.io-client 2.x), AllowEIO3
// ===========================================================================

// The polling handshake is a v3 payload, <length>:0{...}; a request
// without EIO is v3 too, as in Node.
func TestEngineEchoV3HandshakePolling(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling"} {
		r := s.Do("GET", q, "", nil)
		expectStatus(t, "?"+q, r, http.StatusOK)
		packets := siotest.SplitPayload(t, 3, r.Body) // checks the length prefix
		if len(packets) != 1 {
			t.Fatalf("?%s: body %q, want <length>:<open packet>", q, r.Body)
		}
		parseOpen(t, packets[0], []string{"websocket"})
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("?%s: Content-Type = %q, want text/plain; charset=UTF-8", q, ct)
		}
	}
}

// v3 lengths count UTF-16 code units, as JavaScript's String.length: "é"
// is one unit (two bytes), "😀" two (four bytes), both ways; a length
// counted in bytes is refused.
func TestEngineEchoV3TextUTF16(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	p := s.openPolling(3)
	payload := siotest.EncodePayload(3, "4héllo 😀", "4é😀")
	if want := "9:4héllo 😀4:4é😀"; payload != want {
		t.Fatalf("test bug: %q, want %q", payload, want)
	}
	r := p.PostRaw(payload)
	if r.Status != http.StatusOK || r.Body != "ok" {
		t.Fatalf("POST %q: HTTP %d %q, want 200 \"ok\"", payload, r.Status, r.Body)
	}
	p.ExpectPayload(payload)

	p2 := s.openPolling(3)
	bytesLength := strconv.Itoa(len("4é")) + ":4é" // 3 bytes, 2 units
	expectStatus(t, "POST "+strconv.Quote(bytesLength), p2.PostRaw(bytesLength), http.StatusBadRequest)
	p2.ExpectGone()
}

// In v3 the client pings and the server answers.
func TestEngineEchoV3Ping(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	p := s.openPolling(3)
	for i := 0; i < 3; i++ {
		p.Post("2")
		p.ExpectPayload("1:3")
	}
}

// The upgrade in v3: "2probe" / "3probe", the poll released with a noop,
// "5"; then the WebSocket carries the session and polling is refused.
func TestEngineEchoV3Upgrade(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	p := s.openPolling(3)
	w := p.Probe()
	p.ExpectPayload("1:6")
	w.Send("5")
	w.Send("4hello")
	w.Expect("4hello")
	w.Send("2")
	w.Expect("3")
	siotest.ExpectError(t, p.Get(), 400, 3, "Bad request")
}

// A v3 client that cannot read binary bodies (b64=1) gets binary packets
// in the text payload as "b4<base64>".
func TestEngineEchoV3BinaryPollingBase64(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	p := s.openPollingWith(3, "&b64=1")
	payload := siotest.EncodePayload(3, "4hi", "b4AQIDBA==")
	p.Post("4hi", "b4AQIDBA==")
	r := p.Get()
	if r.Status != http.StatusOK || r.Body != payload {
		t.Fatalf("poll: HTTP %d %q, want 200 %q", r.Status, r.Body, payload)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
}

// A v3 client that reads binary bodies (XHR2: no b64) gets a poll with a
// binary packet as the v3 binary payload: per packet 0 (string) or 1
// (binary), the length as one byte per digit, 0xFF, the packet (binary:
// type byte 4, then the data); as application/octet-stream. It may send
// one too. A poll with only text stays a text payload.
func TestEngineEchoV3BinaryPollingXHR2(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	p := s.openPolling(3)

	// binary sent base64 in a text payload, received binary
	p.Post("b4AQIDBA==")
	want := string([]byte{0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4})
	r := p.Get()
	if r.Status != http.StatusOK || r.Body != want {
		t.Fatalf("poll: HTTP %d %v, want 200 %v", r.Status, []byte(r.Body), []byte(want))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q, want application/octet-stream", ct)
	}

	// a binary payload both ways: a text packet and 11 bytes of binary
	// (length 12: the digits 1, 2)
	data := []byte{4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	body := string(v3Binary(v3Binary(nil, 0, []byte("4hi")), 1, data))
	post := p.Do("POST", p.Query(), body, map[string]string{"Content-Type": "application/octet-stream"})
	if post.Status != http.StatusOK || post.Body != "ok" {
		t.Fatalf("binary POST: HTTP %d %q, want 200 \"ok\"", post.Status, post.Body)
	}
	if spelled := "\x00\x03\xff4hi\x01\x01\x02\xff\x04\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"; body != spelled {
		t.Fatalf("test bug: %q, want %q", body, spelled)
	}
	r = p.Get()
	if r.Status != http.StatusOK || r.Body != body {
		t.Fatalf("poll: HTTP %d %v, want 200 %v", r.Status, []byte(r.Body), []byte(body))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q, want application/octet-stream", ct)
	}

	// text only: a text payload
	p.Post("4text")
	p.ExpectPayload("5:4text")
}

// v3 binary WebSocket frames start with the packet type byte (4, message).
func TestEngineEchoV3BinaryWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	w, _ := s.openWS(3)
	w.SendBinary([]byte{4, 1, 2, 3, 4})
	w.ExpectBinary([]byte{4, 1, 2, 3, 4})
	w.Send("4hello")
	w.Expect("4hello")
	w.Send("2")
	w.Expect("3")
}

// A v3 session whose client never pings is closed pingInterval+pingTimeout
// after the handshake; the server sends nothing meanwhile (no pings in v3).
func TestEngineEchoV3PingTimeoutWebSocket(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	start := time.Now()
	w, _ := s.openWS(3)
	w.ExpectClosed(false) // fails on any frame
	if d := time.Since(start); d < enginePingInterval+enginePingTimeout {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
}

func TestEngineEchoV3PingTimeoutPolling(t *testing.T) {
	t.Parallel()
	s := startEngineServerV3(t)
	start := time.Now()
	p := s.openPolling(3)
	p.ExpectPayload("1:1") // held until the close, which ends it
	if d := time.Since(start); d < enginePingInterval+enginePingTimeout {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
	p.ExpectGone()
}
