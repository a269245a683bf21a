package main

// These tests replay, over the raw wire, the official compliance suites
// socketio/engine.io-protocol (test-suite/test-suite.js) and
// socketio/socket.io-protocol (test-suite/test-suite.js) against the
// conformance server. The Engine.IO suite targets a bare Engine.IO echo
// server at /engine.io/; here the same Engine.IO behaviours are checked at
// /socket.io/, with Socket.IO packets where the suite echoes raw messages.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ---------------------------------------------------------------------------
// Engine.IO: handshake

func TestEngineHandshakePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.do("GET", "EIO=4&transport=polling", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	parseOpen(t, r.body, []string{"websocket"})
}

func TestEngineHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.openWS("4") // checks upgrades == []
}

func TestEngineHandshakePollingEIO3(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	r := s.do("GET", "EIO=3&transport=polling", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %q", r.status, r.body)
	}
	packets := decodeV3(t, r.body) // checks the length prefixes
	if len(packets) != 1 || r.body != encodeV3(packets[0]) {
		t.Fatalf("body %q, want one length-prefixed open packet", r.body)
	}
	parseOpen(t, packets[0], []string{"websocket"})
}

func TestEngineHandshakeWebSocketEIO3(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	s.openWS("3")
}

// The suites' server speaks Engine.IO v4 only (RejectEIO3): a missing or
// other EIO value is refused.
func TestEngineRejectsInvalidEIO(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, eio := range []string{"", "EIO=abc&", "EIO=5&", "EIO=3&"} {
		expectError(t, s.do("GET", eio+"transport=polling", "", nil), 400, 5, "Unsupported protocol version")
		expectWSRefused(t, s, eio+"transport=websocket")
	}
}

// With v3 accepted, a missing EIO means v3 (as in Node.js), and only other
// values are refused.
func TestEngineRejectsInvalidEIOLegacy(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	for _, eio := range []string{"EIO=abc&", "EIO=5&"} {
		expectError(t, s.do("GET", eio+"transport=polling", "", nil), 400, 5, "Unsupported protocol version")
		expectWSRefused(t, s, eio+"transport=websocket")
	}
	r := s.do("GET", "transport=polling", "", nil)
	packets := decodeV3(t, r.body)
	parseOpen(t, packets[0], []string{"websocket"})
	for _, q := range []string{"EIO=3", "EIO=3&transport=abc"} {
		expectError(t, s.do("GET", q, "", nil), 400, 0, "Transport unknown")
	}
}

func TestEngineRejectsInvalidTransport(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectError(t, s.do("GET", q, "", nil), 400, 0, "Transport unknown")
	}
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectWSRefused(t, s, q)
	}
}

func TestEngineRejectsInvalidHandshakeMethod(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, m := range []string{"POST", "PUT"} {
		expectError(t, s.do(m, "EIO=4&transport=polling", "", nil), 400, 2, "Bad handshake method")
	}
}

func TestEngineRejectsUnknownSid(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	q := "EIO=4&transport=polling&sid=UnknownSessionId0000"
	expectError(t, s.do("GET", q, "", nil), 400, 1, "Session ID unknown")
	expectError(t, s.do("POST", q, "40", nil), 400, 1, "Session ID unknown")
	expectWSRefused(t, s, "EIO=4&transport=websocket&sid=UnknownSessionId0000")
}

// A session's sid is only valid with its own transport (or to upgrade).
func TestEngineRejectsTransportMismatch(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	_, h := s.openWS("4") // the session is known before its open packet leaves
	q := "EIO=4&transport=polling&sid=" + url.QueryEscape(h.Sid)
	expectError(t, s.do("GET", q, "", nil), 400, 3, "Bad request")
	expectError(t, s.do("POST", q, "40", nil), 400, 3, "Bad request")
}

// expectWSRefused dials a WebSocket that the server must refuse: either the
// upgrade fails with HTTP 400, or the socket is closed before any packet.
func expectWSRefused(t *testing.T, s *server, query string) {
	t.Helper()
	c, res, err := s.dialWS(query)
	if err != nil {
		if res == nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("?%s: dial error %v, response %v; want HTTP 400", query, err, res)
		}
		return
	}
	defer c.Close()
	w := &wsClient{t: t, c: c, eio4: true}
	w.expectClosed(false)
}

// ---------------------------------------------------------------------------
// Engine.IO: messages

func TestEngineMessagePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	p.post(`42["message","hello"]`)
	p.expect(`42["message-back","hello"]`)
}

func TestEngineSeveralPacketsPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	p.post(`42["message","test1"]`, `42["message","test2"]`, `42["message","test3"]`)
	p.expect(`42["message-back","test1"]`, `42["message-back","test2"]`, `42["message-back","test3"]`)
}

func TestEngineBinaryPacketPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	// one text packet and one base64 ("b" prefix) binary attachment
	p.post(`451-["message",{"_placeholder":true,"num":0}]`, "bAQIDBA==")
	p.expect(`451-["message-back",{"_placeholder":true,"num":0}]`, "bAQIDBA==")
}

func TestEngineInvalidPacketPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	// The suite's status check sits in a try/catch that swallows its
	// failure; Node's engine.io answers 200 "ok" and then closes the session.
	r, err := s.request("POST", p.query(), "abc", reqOpts{})
	if err == nil && !(r.status == http.StatusOK && r.body == "ok") && r.status != http.StatusBadRequest {
		t.Fatalf("POST abc: HTTP %d %q, want 200 \"ok\" or 400", r.status, r.body)
	}
	expectError(t, p.get(), 400, 1, "Session ID unknown")
}

func TestEngineDuplicatePollClosesSession(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	type result struct {
		r   response
		err error
	}
	first := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		r, err := s.request("GET", p.query(), "", reqOpts{wrote: wrote})
		first <- result{r, err}
	}()
	<-wrote
	r2, err := s.request("GET", p.query()+"&t=burst", "", reqOpts{})
	if err != nil {
		t.Fatal(err)
	}
	r1 := <-first
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	// Whichever request the server saw first gets the close packet "1",
	// the other an error (the suite accepts 400 or 500).
	ok, bad := r1.r, r2
	if ok.status != http.StatusOK {
		ok, bad = bad, ok
	}
	if ok.status != http.StatusOK || ok.body != "1" {
		t.Fatalf("held poll: HTTP %d %q, want 200 \"1\"", ok.status, ok.body)
	}
	if bad.status != http.StatusBadRequest && bad.status != http.StatusInternalServerError {
		t.Fatalf("duplicate poll: HTTP %d %q, want 400 or 500", bad.status, bad.body)
	}
	expectError(t, p.get(), 400, 1, "Session ID unknown")
}

func TestEngineMessageWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`42["message","hello"]`)
	w.expect(`42["message-back","hello"]`)
}

func TestEngineInvalidPacketWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("abc")
	w.expectClosed(false)
}

// ---------------------------------------------------------------------------
// Engine.IO: heartbeat
//
// Timing note: with pingTimeout 200ms a pong must reach the server within
// 200ms of the ping. Tests that depend on it, or that measure a timeout,
// do not call t.Parallel, so they run one at a time before the parallel
// tests start, and are not starved of CPU under -race.

func TestEngineHeartbeatPolling(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	heartbeatPolling(t, pongLatency)
}

func TestEngineHeartbeatPollingInstantPong(t *testing.T) {
	heartbeatPolling(t, 0)
}

// heartbeatPolling: three times, the poll gets a ping and the pong is
// accepted ("ok"); the session stays open through it. The session first
// joins "/", or the connect timeout (1s) would end it during the third ping
// (each pong restarts the 300ms ping interval, as in Node.js).
func heartbeatPolling(t *testing.T, latency time.Duration) {
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	for i := 0; i < 3; i++ {
		r := p.get()
		if r.status != http.StatusOK || r.body != "2" {
			t.Fatalf("poll %d: HTTP %d %q, want 200 \"2\"", i, r.status, r.body)
		}
		time.Sleep(latency)
		p.post("3")
	}
	p.post(`42["message","still open"]`)
	p.expect(`42["message-back","still open"]`)
}

func TestEnginePingTimeoutPolling(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	p := s.openPolling("4")
	if d := p.expectGone(false); d < 400*time.Millisecond {
		t.Fatalf("session closed after %v, before pingInterval+pingTimeout", d)
	}
}

func TestEngineHeartbeatWebSocket(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	heartbeatWebSocket(t, pongLatency)
}

func TestEngineHeartbeatWebSocketInstantPong(t *testing.T) {
	heartbeatWebSocket(t, 0)
}

// heartbeatWebSocket: three pings, each answered; the session must stay
// open, which a fourth frame proves (a lost pong closes it 200ms later).
// The session joins "/" first, or the connect timeout would end it.
func heartbeatWebSocket(t *testing.T, latency time.Duration) {
	s := startServer(t)
	w, _ := s.openWS("4")
	start := time.Now()
	w.send("40")
	parseSid(t, w.readText(), "40")
	if got := w.readText(); got != `42["auth",{}]` {
		t.Fatalf("got %q, want the auth event", got)
	}
	for i := 0; i < 3; i++ {
		if got := w.readText(); got != "2" {
			t.Fatalf("frame %d: %q, want ping \"2\"", i, got)
		}
		if d := time.Since(start); d < time.Duration(i+1)*250*time.Millisecond {
			t.Fatalf("ping %d after %v, want one per pingInterval (300ms)", i, d)
		}
		time.Sleep(latency)
		w.send("3")
	}
	w.send(`42["message","still open"]`)
	if got := w.readText(); got != `42["message-back","still open"]` {
		t.Fatalf("got %q, want the echo", got)
	}
}

func TestEnginePingTimeoutWebSocket(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	w := s.connectWS() // joined, so only the heartbeat can close it
	start := time.Now()
	w.expectClosed(false)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
}

// ---------------------------------------------------------------------------
// Engine.IO: close

func TestEngineClosePolling(t *testing.T) {
	t.Parallel()
	closePolling(t, startServer(t), "4", "6")
}

func TestEIO3ClosePolling(t *testing.T) {
	t.Parallel()
	closePolling(t, startLegacyServer(t), "3", "1:6")
}

// closePolling sends a close packet while a poll is held: the held poll
// ends with a noop (want) and the session is gone. The suite sends both
// requests at once; here the POST leaves once the GET is on the wire. The
// server may still see the POST first: the session then answers that one
// GET with the noop all the same, so the outcome is the same either way.
func closePolling(t *testing.T, s *server, eio, want string) {
	t.Helper()
	p := s.openPolling(eio)
	if eio == "3" {
		p.expect("40", `42["auth",{}]`) // v3: auto-joined to "/"
	}
	type result struct {
		r   response
		err error
	}
	held := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		r, err := s.request("GET", p.query(), "", reqOpts{wrote: wrote, timeout: time.Second})
		held <- result{r, err}
	}()
	select {
	case <-wrote:
	case res := <-held:
		t.Fatalf("held poll: %v", res.err)
	}
	p.post("1")
	res := <-held
	if res.err != nil {
		t.Fatalf("held poll: %v", res.err)
	}
	if res.r.status != http.StatusOK || res.r.body != want {
		t.Fatalf("held poll: HTTP %d %q, want 200 %q", res.r.status, res.r.body, want)
	}
	expectError(t, p.get(), 400, 1, "Session ID unknown")
}

func TestEngineCloseWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("1")
	w.expectClosed(false)
}

// ---------------------------------------------------------------------------
// Engine.IO: upgrade

// upgrade opens a WebSocket for p's session and exchanges the probe
// ("2probe" -> "3probe"); the caller completes the upgrade with "5".
func upgrade(t *testing.T, p *poller) *wsClient {
	t.Helper()
	c, _, err := p.dialWS("EIO=4&transport=websocket&sid=" + url.QueryEscape(p.sid))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wsClient{t: t, c: c, eio4: true}
	w.send("2probe")
	w.expect("3probe")
	return w
}

func TestEngineUpgrade(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	w := upgrade(t, p)
	// the pending or next poll is ended with a noop
	r := p.get()
	if r.status != http.StatusOK || r.body != "6" {
		t.Fatalf("poll during upgrade: HTTP %d %q, want 200 \"6\"", r.status, r.body)
	}
	w.send("5")
	w.send(`42["message","hello"]`)
	w.expect(`42["message-back","hello"]`)
}

func TestEngineUpgradeIgnoresPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	w := upgrade(t, p)
	w.send("5")
	w.send(`42["message","sync"]`)
	w.expect(`42["message-back","sync"]`)
	expectError(t, p.get(), 400, 3, "Bad request")
	w.send(`42["message","hello"]`)
	w.expect(`42["message-back","hello"]`)
}

func TestEngineUpgradeIgnoresSecondWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	w := upgrade(t, p)
	w.send("5")
	w.send(`42["message","sync"]`)
	w.expect(`42["message-back","sync"]`)
	expectWSRefused(t, s, "EIO=4&transport=websocket&sid="+url.QueryEscape(p.sid))
	w.send(`42["message","hello"]`)
	w.expect(`42["message-back","hello"]`)
}

// ---------------------------------------------------------------------------
// Engine.IO: payload limits

func TestEnginePayloadTooLargePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling("4")
	p.connect()
	big := `42["message","` + strings.Repeat("a", 1000000) + `"]`
	r, err := s.request("POST", p.query(), big, reqOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST %d bytes: HTTP %d %q, want 413", len(big), r.status, r.body)
	}
}

func TestEnginePayloadTooLargeWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`42["message","` + strings.Repeat("a", 1000000) + `"]`)
	// as Node's ws: close frame 1009 (message too big)
	if err := w.expectClosed(true); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("closed with %v, want close code 1009", err)
	}
}

// ---------------------------------------------------------------------------
// Engine.IO v3 (socket.io-client 2.x), on the legacy server

func TestEIO3Polling(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	p := s.openPolling("3")
	// v3 clients are connected to the main namespace without a CONNECT
	p.expect("40", `42["auth",{}]`)
	p.post("2") // v3: the client pings
	p.expect("3")
	p.post(`42["message",1,"2",{"3":[true]}]`)
	p.expect(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestEIO3WebSocket(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	w, _ := s.openWS("3")
	w.expect("40", `42["auth",{}]`)
	for i := 0; i < 3; i++ {
		w.send("2")
		w.expect("3")
	}
	w.send(`42["message",1,"2",{"3":[true]}]`)
	w.expect(`42["message-back",1,"2",{"3":[true]}]`)
	w.send(`421["message-with-ack",1,"2",{"3":[true]}]`)
	w.expect(`431[1,"2",{"3":[true]}]`)
	// v3 (Socket.IO protocol v4): the CONNECT answer carries no sid
	w.send("40/custom,")
	w.expect("40/custom,", `42/custom,["auth",{}]`)
	// v3 binary frames carry the Engine.IO type byte (4 = message)
	w.send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.sendBinary([]byte{4, 1, 2, 3})
	w.sendBinary([]byte{4, 4, 5, 6})
	w.expect(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.expectBinary([]byte{4, 1, 2, 3})
	w.expectBinary([]byte{4, 4, 5, 6})
}

func TestEIO3PingTimeoutWebSocket(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startLegacyServer(t)
	w, _ := s.openWS("3")
	w.expect("40", `42["auth",{}]`)
	w.expectClosed(false) // no client ping within pingInterval+pingTimeout
}

// ---------------------------------------------------------------------------
// JSONP polling

func TestJSONPPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.do("GET", "EIO=4&transport=polling&j=0", "", nil)
	open := jsonpPayload(t, r)
	h := parseOpen(t, open, []string{"websocket"})
	q := "EIO=4&transport=polling&j=0&sid=" + url.QueryEscape(h.Sid)
	post := s.do("POST", q, "d="+url.QueryEscape("40"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if post.status != http.StatusOK || post.body != "ok" {
		t.Fatalf("JSONP POST: HTTP %d %q", post.status, post.body)
	}
	packets := strings.Split(jsonpPayload(t, s.do("GET", q, "", nil)), sep)
	if len(packets) == 1 {
		packets = append(packets, strings.Split(jsonpPayload(t, s.do("GET", q, "", nil)), sep)...)
	}
	if len(packets) != 2 || packets[1] != `42["auth",{}]` {
		t.Fatalf("got %q, want CONNECT and auth", packets)
	}
	parseSid(t, packets[0], "40")
}

// jsonpPayload checks a JSONP answer `___eio[0]("<payload>");` and returns
// the payload.
func jsonpPayload(t *testing.T, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("JSONP: HTTP %d %q", r.status, r.body)
	}
	// A script, typed as one (Node's engine.io sends text/plain, which a
	// browser refuses to run as a script under X-Content-Type-Options:
	// nosniff).
	if ct := r.header.Get("Content-Type"); ct != "text/javascript; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/javascript; charset=UTF-8", ct)
	}
	js, ok := strings.CutPrefix(r.body, "___eio[0](")
	js, ok2 := strings.CutSuffix(js, ");")
	var payload string
	if !ok || !ok2 || json.Unmarshal([]byte(js), &payload) != nil {
		t.Fatalf("JSONP body %q, want ___eio[0](\"...\");", r.body)
	}
	return payload
}

// ---------------------------------------------------------------------------
// Socket.IO: connect

func TestSocketIOConnectMain(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("40")
	parseSid(t, w.recv(), "40")
	w.expect(`42["auth",{}]`)
}

func TestSocketIOConnectMainWithPayload(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send(`40{"token":"123"}`)
	parseSid(t, w.recv(), "40")
	w.expect(`42["auth",{"token":"123"}]`)
}

func TestSocketIOConnectCustom(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("40/custom,")
	parseSid(t, w.recv(), "40/custom,")
	w.expect(`42/custom,["auth",{}]`)
}

func TestSocketIOConnectCustomWithPayload(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send(`40/custom,{"token":"abc"}`)
	parseSid(t, w.recv(), "40/custom,")
	w.expect(`42/custom,["auth",{"token":"abc"}]`)
}

func TestSocketIOConnectUnknownNamespace(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("40/random")
	w.expect(`44/random,{"message":"Invalid namespace"}`)
}

func TestSocketIOConnectInvalidHandshake(t *testing.T) {
	t.Parallel()
	for _, pk := range []string{"4abc", "40[]", `40"abc"`, "40/custom,[]", `40/custom,"x"`} {
		t.Run(pk, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			w, _ := s.openWS("4")
			w.send(pk)
			w.expectClosed(true)
		})
	}
}

// The connect-timeout tests answer pings for a whole second (three pings),
// since pingTimeout is shorter than connectTimeout.
func TestSocketIOConnectTimeout(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	w, _ := s.openWS("4")
	start := time.Now()
	w.expectClosed(true) // no CONNECT: the server must close the session
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("closed after %v, before connectTimeout (1s)", d)
	}
}

func TestSocketIOConnectTimeoutPolling(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	p := s.openPolling("4")
	if d := p.expectGone(true); d < 900*time.Millisecond {
		t.Fatalf("closed after %v, before connectTimeout (1s)", d)
	}
}

// ---------------------------------------------------------------------------
// Socket.IO: disconnect

func TestSocketIODisconnectMain(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send("41")
	// the Engine.IO connection stays up: the next frame is a ping
	if got := w.readText(); got != "2" {
		t.Fatalf("got %q, want ping \"2\"", got)
	}
}

func TestSocketIODisconnectCustom(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send("40/custom")
	parseSid(t, w.recv(), "40/custom,")
	w.expect(`42/custom,["auth",{}]`)
	w.send("41/custom")
	w.send(`42["message","message to main namespace",1,2]`)
	w.expect(`42["message-back","message to main namespace",1,2]`)
}

// ---------------------------------------------------------------------------
// Socket.IO: messages

func TestSocketIOEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`42["message",1,"2",{"3":[true]}]`)
	w.expect(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestSocketIOEventCustomNamespace(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS("4")
	w.send("40/custom,")
	parseSid(t, w.recv(), "40/custom,")
	w.expect(`42/custom,["auth",{}]`)
	w.send(`42/custom,["message",1,"2",{"3":[true]}]`)
	w.expect(`42/custom,["message-back",1,"2",{"3":[true]}]`)
}

func TestSocketIOBinaryEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`452-["message",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	w.expect(`452-["message-back",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.expectBinary([]byte{1, 2, 3})
	w.expectBinary([]byte{4, 5, 6})
}

func TestSocketIOAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	w.expect(`43456[1,"2",{"3":[false]}]`)
	w.send(`421["message-with-ack",1,"2",{"3":[true]}]`)
	w.expect(`431[1,"2",{"3":[true]}]`)
}

func TestSocketIOBinaryAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`452-789["message-with-ack",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	w.expect(`462-789[1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.expectBinary([]byte{1, 2, 3})
	w.expectBinary([]byte{4, 5, 6})
}

func TestSocketIOInvalidPackets(t *testing.T) {
	t.Parallel()
	for _, pk := range []string{
		"4abc",      // unknown packet type
		"42{}",      // payload is not an array
		`42{"a":1}`, // payload is not an array
		`42abc["message-with-ack",1,"2",{"3":[false]}]`, // invalid ack id
		"4",                     // empty Socket.IO packet
		"42",                    // EVENT without payload
		"42[]",                  // EVENT without event name
		"42[true]",              // event name of the wrong type
		`42"hello"`,             // payload of the wrong type
		`42["connect"]`,         // reserved event name
		`43{}`,                  // ACK payload is not an array
		`41{}`,                  // DISCONNECT with a payload
		`45["message"]`,         // BINARY_EVENT without attachment count
		"47",                    // packet type out of range
		`42/random,["message"]`, // namespace not joined
		"40",                    // CONNECT to an already joined namespace
	} {
		t.Run(pk, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			w := s.connectWS()
			w.send(pk)
			w.expectClosed(true)
		})
	}
}

func TestSocketIOUnexpectedBinary(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.sendBinary([]byte{1, 2, 3}) // no BINARY_EVENT is awaiting attachments
	w.expectClosed(true)
}

// ---------------------------------------------------------------------------
// Socket.IO: acknowledgements requested by the server

// The suite's "acknowledgements" tests: the server answers "emit-with-ack"
// by emitting it back with an ack request, then emits the ack's arguments.

func TestSocketIOServerAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.send(`42["emit-with-ack",1,"2",{"3":[true]}]`)
	id := ackID(t, w.recv(), "42", `["emit-with-ack",1,"2",{"3":[true]}]`)
	w.send(`43` + id + `[1,"2",{"3":[true]}]`)
	w.expect(`42["emit-with-ack",1,"2",{"3":[true]}]`)
}

func TestSocketIOServerBinaryAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	const data = `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},"test"`
	w.send(`452-["emit-with-ack",1,` + data + `]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	id := ackID(t, w.recv(), "452-", `["emit-with-ack",1,`+data+`]`)
	w.expectBinary([]byte{1, 2, 3})
	w.expectBinary([]byte{4, 5, 6})
	w.send(`462-` + id + `[1,` + data + `]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	w.expect(`452-["emit-with-ack",1,` + data + `]`)
	w.expectBinary([]byte{1, 2, 3})
	w.expectBinary([]byte{4, 5, 6})
}

// ackID checks packet == prefix + <decimal id> + payload and returns the id
// (the suite hard-codes the first id; the counter is the server's business).
func ackID(t *testing.T, packet, prefix, payload string) string {
	t.Helper()
	id, ok := strings.CutPrefix(packet, prefix)
	id, ok2 := strings.CutSuffix(id, payload)
	if !ok || !ok2 || id == "" || strings.Trim(id, "0123456789") != "" {
		t.Fatalf("got %q, want %s<id>%s", packet, prefix, payload)
	}
	return id
}

// ---------------------------------------------------------------------------
// CORS "*" (the suites run in browsers too)

func TestEngineCORS(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	origin := map[string]string{"Origin": "https://example.com"}
	pre := s.do("OPTIONS", "EIO=4&transport=polling", "", map[string]string{
		"Origin":                        "https://example.com",
		"Access-Control-Request-Method": "POST",
	})
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: HTTP %d, Access-Control-Allow-Origin %q; want 204, *", pre.status, pre.header.Get("Access-Control-Allow-Origin"))
	}
	r := s.do("GET", "EIO=4&transport=polling", "", origin)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("handshake: HTTP %d, Access-Control-Allow-Origin %q; want 200, *", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	parseOpen(t, r.body, []string{"websocket"})
}
