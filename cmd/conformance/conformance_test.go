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

	"github.com/gobwas/ws"

	"github.com/socketio-go/chatserver/internal/siotest"
)

// ---------------------------------------------------------------------------
// Engine.IO: handshake

func TestEngineHandshakePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.Do("GET", "EIO=4&transport=polling", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d %q", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	parseOpen(t, r.Body, []string{"websocket"})
}

func TestEngineHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.openWS(4) // checks upgrades == []
}

func TestEngineHandshakePollingEIO3(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	r := s.Do("GET", "EIO=3&transport=polling", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d %q", r.Status, r.Body)
	}
	packets := siotest.SplitPayload(t, 3, r.Body) // checks the length prefixes
	if len(packets) != 1 || r.Body != siotest.EncodePayload(3, packets[0]) {
		t.Fatalf("body %q, want one length-prefixed open packet", r.Body)
	}
	parseOpen(t, packets[0], []string{"websocket"})
}

func TestEngineHandshakeWebSocketEIO3(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	s.openWS(3)
}

// The suites' server speaks Engine.IO v4 only (RejectEIO3): a missing or
// other EIO value is refused.
func TestEngineRejectsInvalidEIO(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, eio := range []string{"", "EIO=abc&", "EIO=5&", "EIO=3&"} {
		siotest.ExpectError(t, s.Do("GET", eio+"transport=polling", "", nil), 400, 5, "Unsupported protocol version")
		expectWSRefused(t, s, eio+"transport=websocket")
	}
}

// With v3 accepted, a missing EIO means v3 (as in Node.js), and only other
// values are refused.
func TestEngineRejectsInvalidEIOLegacy(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	for _, eio := range []string{"EIO=abc&", "EIO=5&"} {
		siotest.ExpectError(t, s.Do("GET", eio+"transport=polling", "", nil), 400, 5, "Unsupported protocol version")
		expectWSRefused(t, s, eio+"transport=websocket")
	}
	r := s.Do("GET", "transport=polling", "", nil)
	packets := siotest.SplitPayload(t, 3, r.Body)
	parseOpen(t, packets[0], []string{"websocket"})
	for _, q := range []string{"EIO=3", "EIO=3&transport=abc"} {
		siotest.ExpectError(t, s.Do("GET", q, "", nil), 400, 0, "Transport unknown")
	}
}

func TestEngineRejectsInvalidTransport(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		siotest.ExpectError(t, s.Do("GET", q, "", nil), 400, 0, "Transport unknown")
	}
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectWSRefused(t, s, q)
	}
}

func TestEngineRejectsInvalidHandshakeMethod(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, m := range []string{"POST", "PUT"} {
		siotest.ExpectError(t, s.Do(m, "EIO=4&transport=polling", "", nil), 400, 2, "Bad handshake method")
	}
}

func TestEngineRejectsUnknownSid(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	q := "EIO=4&transport=polling&sid=UnknownSessionId0000"
	siotest.ExpectError(t, s.Do("GET", q, "", nil), 400, 1, "Session ID unknown")
	siotest.ExpectError(t, s.Do("POST", q, "40", nil), 400, 1, "Session ID unknown")
	expectWSRefused(t, s, "EIO=4&transport=websocket&sid=UnknownSessionId0000")
}

// A session's sid is only valid with its own transport (or to upgrade).
func TestEngineRejectsTransportMismatch(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	_, h := s.openWS(4) // the session is known before its open packet leaves
	q := "EIO=4&transport=polling&sid=" + url.QueryEscape(h.SID)
	siotest.ExpectError(t, s.Do("GET", q, "", nil), 400, 3, "Bad request")
	siotest.ExpectError(t, s.Do("POST", q, "40", nil), 400, 3, "Bad request")
}

// expectWSRefused dials a WebSocket that the server must refuse: either the
// upgrade fails with HTTP 400, or the socket is closed before any packet.
func expectWSRefused(t *testing.T, s *server, query string) {
	t.Helper()
	w, res, err := s.DialWS(query)
	if err != nil {
		if res == nil || res.Status != http.StatusBadRequest {
			t.Fatalf("?%s: dial error %v, response %+v; want HTTP 400", query, err, res)
		}
		return
	}
	defer w.Close()
	w.ExpectClosed(false)
}

// ---------------------------------------------------------------------------
// Engine.IO: messages

func TestEngineMessagePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	p.Post(`42["message","hello"]`)
	p.Expect(`42["message-back","hello"]`)
}

func TestEngineSeveralPacketsPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	p.Post(`42["message","test1"]`, `42["message","test2"]`, `42["message","test3"]`)
	p.Expect(`42["message-back","test1"]`, `42["message-back","test2"]`, `42["message-back","test3"]`)
}

func TestEngineBinaryPacketPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	// one text packet and one base64 ("b" prefix) binary attachment
	p.Post(`451-["message",{"_placeholder":true,"num":0}]`, "bAQIDBA==")
	p.Expect(`451-["message-back",{"_placeholder":true,"num":0}]`, "bAQIDBA==")
}

func TestEngineInvalidPacketPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	// The suite's status check sits in a try/catch that swallows its
	// failure; Node's engine.io answers 200 "ok" and then closes the session.
	r, err := s.Request("POST", p.Query(), "abc", siotest.Req{})
	if err == nil && !(r.Status == http.StatusOK && r.Body == "ok") && r.Status != http.StatusBadRequest {
		t.Fatalf("POST abc: HTTP %d %q, want 200 \"ok\" or 400", r.Status, r.Body)
	}
	siotest.ExpectError(t, p.Get(), 400, 1, "Session ID unknown")
}

func TestEngineDuplicatePollClosesSession(t *testing.T) {
	t.Parallel()
	s := startServer(t)
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
	<-wrote
	r2, err := s.Request("GET", p.Query()+"&t=burst", "", siotest.Req{})
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
	if ok.Status != http.StatusOK {
		ok, bad = bad, ok
	}
	if ok.Status != http.StatusOK || ok.Body != "1" {
		t.Fatalf("held poll: HTTP %d %q, want 200 \"1\"", ok.Status, ok.Body)
	}
	if bad.Status != http.StatusBadRequest && bad.Status != http.StatusInternalServerError {
		t.Fatalf("duplicate poll: HTTP %d %q, want 400 or 500", bad.Status, bad.Body)
	}
	siotest.ExpectError(t, p.Get(), 400, 1, "Session ID unknown")
}

func TestEngineMessageWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`42["message","hello"]`)
	w.Expect(`42["message-back","hello"]`)
}

func TestEngineInvalidPacketWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("abc")
	w.ExpectClosed(false)
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
	p := s.openPolling(4)
	connectPolling(p)
	for i := 0; i < 3; i++ {
		r := p.Get()
		if r.Status != http.StatusOK || r.Body != "2" {
			t.Fatalf("poll %d: HTTP %d %q, want 200 \"2\"", i, r.Status, r.Body)
		}
		time.Sleep(latency)
		p.Post("3")
	}
	p.Post(`42["message","still open"]`)
	p.Expect(`42["message-back","still open"]`)
}

func TestEnginePingTimeoutPolling(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	p := s.openPolling(4)
	if d := expectGone(p, false); d < 400*time.Millisecond {
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
	w, _ := s.openWS(4)
	start := time.Now()
	w.Send("40")
	siotest.ParseSID(t, w.ReadText(), "40")
	if got := w.ReadText(); got != `42["auth",{}]` {
		t.Fatalf("got %q, want the auth event", got)
	}
	for i := 0; i < 3; i++ {
		if got := w.ReadText(); got != "2" {
			t.Fatalf("frame %d: %q, want ping \"2\"", i, got)
		}
		if d := time.Since(start); d < time.Duration(i+1)*250*time.Millisecond {
			t.Fatalf("ping %d after %v, want one per pingInterval (300ms)", i, d)
		}
		time.Sleep(latency)
		w.Send("3")
	}
	w.Send(`42["message","still open"]`)
	if got := w.ReadText(); got != `42["message-back","still open"]` {
		t.Fatalf("got %q, want the echo", got)
	}
}

func TestEnginePingTimeoutWebSocket(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	w := s.connectWS() // joined, so only the heartbeat can close it
	start := time.Now()
	w.ExpectClosed(false)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
	}
}

// ---------------------------------------------------------------------------
// Engine.IO: close

func TestEngineClosePolling(t *testing.T) {
	t.Parallel()
	closePolling(t, startServer(t), 4, "6")
}

func TestEIO3ClosePolling(t *testing.T) {
	t.Parallel()
	closePolling(t, startLegacyServer(t), 3, "1:6")
}

// closePolling sends a close packet while a poll is held: the held poll
// ends with a noop (want) and the session is gone. The suite sends both
// requests at once; here the POST leaves once the GET is on the wire. The
// server may still see the POST first: the session then answers that one
// GET with the noop all the same, so the outcome is the same either way.
func closePolling(t *testing.T, s *server, eio int, want string) {
	t.Helper()
	p := s.openPolling(eio)
	if eio == 3 {
		p.Expect("40", `42["auth",{}]`) // v3: auto-joined to "/"
	}
	type result struct {
		r   siotest.Response
		err error
	}
	held := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		r, err := s.Request("GET", p.Query(), "", siotest.Req{Wrote: wrote, Timeout: time.Second})
		held <- result{r, err}
	}()
	select {
	case <-wrote:
	case res := <-held:
		t.Fatalf("held poll: %v", res.err)
	}
	p.Post("1")
	res := <-held
	if res.err != nil {
		t.Fatalf("held poll: %v", res.err)
	}
	if res.r.Status != http.StatusOK || res.r.Body != want {
		t.Fatalf("held poll: HTTP %d %q, want 200 %q", res.r.Status, res.r.Body, want)
	}
	siotest.ExpectError(t, p.Get(), 400, 1, "Session ID unknown")
}

func TestEngineCloseWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("1")
	w.ExpectClosed(false)
}

// ---------------------------------------------------------------------------
// Engine.IO: upgrade

func TestEngineUpgrade(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	w := p.Probe()
	// the pending or next poll is ended with a noop
	r := p.Get()
	if r.Status != http.StatusOK || r.Body != "6" {
		t.Fatalf("poll during upgrade: HTTP %d %q, want 200 \"6\"", r.Status, r.Body)
	}
	w.Send("5")
	w.Send(`42["message","hello"]`)
	w.Expect(`42["message-back","hello"]`)
}

func TestEngineUpgradeIgnoresPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	w := p.Probe()
	w.Send("5")
	w.Send(`42["message","sync"]`)
	w.Expect(`42["message-back","sync"]`)
	siotest.ExpectError(t, p.Get(), 400, 3, "Bad request")
	w.Send(`42["message","hello"]`)
	w.Expect(`42["message-back","hello"]`)
}

func TestEngineUpgradeIgnoresSecondWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	w := p.Probe()
	w.Send("5")
	w.Send(`42["message","sync"]`)
	w.Expect(`42["message-back","sync"]`)
	expectWSRefused(t, s, "EIO=4&transport=websocket&sid="+url.QueryEscape(p.SID))
	w.Send(`42["message","hello"]`)
	w.Expect(`42["message-back","hello"]`)
}

// ---------------------------------------------------------------------------
// Engine.IO: payload limits

func TestEnginePayloadTooLargePolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := s.openPolling(4)
	connectPolling(p)
	big := `42["message","` + strings.Repeat("a", 1000000) + `"]`
	r, err := s.Request("POST", p.Query(), big, siotest.Req{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST %d bytes: HTTP %d %q, want 413", len(big), r.Status, r.Body)
	}
}

func TestEnginePayloadTooLargeWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	// The server stops reading at the frame header; the write may only
	// end when the connection does, with an error.
	wrote := make(chan error, 1)
	go func() { wrote <- w.Write(false, []byte(`42["message","`+strings.Repeat("a", 1000000)+`"]`)) }()
	// as Node's ws: close frame 1009 (message too big)
	err := w.ExpectClosed(true)
	w.Close()
	<-wrote // ended by the close at the latest
	if siotest.CloseCode(err) != ws.StatusMessageTooBig {
		t.Fatalf("closed with %v, want close code 1009", err)
	}
}

// ---------------------------------------------------------------------------
// Engine.IO v3 (socket.io-client 2.x), on the legacy server

func TestEIO3Polling(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	p := s.openPolling(3)
	// v3 clients are connected to the main namespace without a CONNECT
	p.Expect("40", `42["auth",{}]`)
	p.Post("2") // v3: the client pings
	p.Expect("3")
	p.Post(`42["message",1,"2",{"3":[true]}]`)
	p.Expect(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestEIO3WebSocket(t *testing.T) {
	t.Parallel()
	s := startLegacyServer(t)
	w, _ := s.openWS(3)
	w.Expect("40", `42["auth",{}]`)
	for i := 0; i < 3; i++ {
		w.Send("2")
		w.Expect("3")
	}
	w.Send(`42["message",1,"2",{"3":[true]}]`)
	w.Expect(`42["message-back",1,"2",{"3":[true]}]`)
	w.Send(`421["message-with-ack",1,"2",{"3":[true]}]`)
	w.Expect(`431[1,"2",{"3":[true]}]`)
	// v3 (Socket.IO protocol v4): the CONNECT answer carries no sid
	w.Send("40/custom,")
	w.Expect("40/custom,", `42/custom,["auth",{}]`)
	// v3 binary frames carry the Engine.IO type byte (4 = message)
	w.Send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.SendBinary([]byte{4, 1, 2, 3})
	w.SendBinary([]byte{4, 4, 5, 6})
	w.Expect(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.ExpectBinary([]byte{4, 1, 2, 3})
	w.ExpectBinary([]byte{4, 4, 5, 6})
}

func TestEIO3PingTimeoutWebSocket(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startLegacyServer(t)
	w, _ := s.openWS(3)
	w.Expect("40", `42["auth",{}]`)
	w.ExpectClosed(false) // no client ping within pingInterval+pingTimeout
}

// ---------------------------------------------------------------------------
// JSONP polling

func TestJSONPPolling(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.Do("GET", "EIO=4&transport=polling&j=0", "", nil)
	open := jsonpPayload(t, r)
	h := parseOpen(t, open, []string{"websocket"})
	q := "EIO=4&transport=polling&j=0&sid=" + url.QueryEscape(h.SID)
	post := s.Do("POST", q, "d="+url.QueryEscape("40"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if post.Status != http.StatusOK || post.Body != "ok" {
		t.Fatalf("JSONP POST: HTTP %d %q", post.Status, post.Body)
	}
	packets := strings.Split(jsonpPayload(t, s.Do("GET", q, "", nil)), sep)
	if len(packets) == 1 {
		packets = append(packets, strings.Split(jsonpPayload(t, s.Do("GET", q, "", nil)), sep)...)
	}
	if len(packets) != 2 || packets[1] != `42["auth",{}]` {
		t.Fatalf("got %q, want CONNECT and auth", packets)
	}
	siotest.ParseSID(t, packets[0], "40")
}

// jsonpPayload checks a JSONP answer `___eio[0]("<payload>");` and returns
// the payload.
func jsonpPayload(t *testing.T, r siotest.Response) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("JSONP: HTTP %d %q", r.Status, r.Body)
	}
	// A script, typed as one (Node's engine.io sends text/plain, which a
	// browser refuses to run as a script under X-Content-Type-Options:
	// nosniff).
	if ct := r.Header.Get("Content-Type"); ct != "text/javascript; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/javascript; charset=UTF-8", ct)
	}
	js, ok := strings.CutPrefix(r.Body, "___eio[0](")
	js, ok2 := strings.CutSuffix(js, ");")
	var payload string
	if !ok || !ok2 || json.Unmarshal([]byte(js), &payload) != nil {
		t.Fatalf("JSONP body %q, want ___eio[0](\"...\");", r.Body)
	}
	return payload
}

// ---------------------------------------------------------------------------
// Socket.IO: connect

func TestSocketIOConnectMain(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("40")
	siotest.ParseSID(t, w.Recv(), "40")
	w.Expect(`42["auth",{}]`)
}

func TestSocketIOConnectMainWithPayload(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send(`40{"token":"123"}`)
	siotest.ParseSID(t, w.Recv(), "40")
	w.Expect(`42["auth",{"token":"123"}]`)
}

func TestSocketIOConnectCustom(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("40/custom,")
	siotest.ParseSID(t, w.Recv(), "40/custom,")
	w.Expect(`42/custom,["auth",{}]`)
}

func TestSocketIOConnectCustomWithPayload(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send(`40/custom,{"token":"abc"}`)
	siotest.ParseSID(t, w.Recv(), "40/custom,")
	w.Expect(`42/custom,["auth",{"token":"abc"}]`)
}

func TestSocketIOConnectUnknownNamespace(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("40/random")
	w.Expect(`44/random,{"message":"Invalid namespace"}`)
}

func TestSocketIOConnectInvalidHandshake(t *testing.T) {
	t.Parallel()
	for _, pk := range []string{"4abc", "40[]", `40"abc"`, "40/custom,[]", `40/custom,"x"`} {
		t.Run(pk, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			w, _ := s.openWS(4)
			w.Send(pk)
			w.ExpectClosed(true)
		})
	}
}

// The connect-timeout tests answer pings for a whole second (three pings),
// since pingTimeout is shorter than connectTimeout.
func TestSocketIOConnectTimeout(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	w, _ := s.openWS(4)
	start := time.Now()
	w.ExpectClosed(true) // no CONNECT: the server must close the session
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("closed after %v, before connectTimeout (1s)", d)
	}
}

func TestSocketIOConnectTimeoutPolling(t *testing.T) {
	// not parallel: timing-sensitive (see timing note)
	s := startServer(t)
	p := s.openPolling(4)
	if d := expectGone(p, true); d < 900*time.Millisecond {
		t.Fatalf("closed after %v, before connectTimeout (1s)", d)
	}
}

// ---------------------------------------------------------------------------
// Socket.IO: disconnect

func TestSocketIODisconnectMain(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send("41")
	// the Engine.IO connection stays up: the next frame is a ping
	if got := w.ReadText(); got != "2" {
		t.Fatalf("got %q, want ping \"2\"", got)
	}
}

func TestSocketIODisconnectCustom(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send("40/custom")
	siotest.ParseSID(t, w.Recv(), "40/custom,")
	w.Expect(`42/custom,["auth",{}]`)
	w.Send("41/custom")
	w.Send(`42["message","message to main namespace",1,2]`)
	w.Expect(`42["message-back","message to main namespace",1,2]`)
}

// ---------------------------------------------------------------------------
// Socket.IO: messages

func TestSocketIOEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`42["message",1,"2",{"3":[true]}]`)
	w.Expect(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestSocketIOEventCustomNamespace(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w, _ := s.openWS(4)
	w.Send("40/custom,")
	siotest.ParseSID(t, w.Recv(), "40/custom,")
	w.Expect(`42/custom,["auth",{}]`)
	w.Send(`42/custom,["message",1,"2",{"3":[true]}]`)
	w.Expect(`42/custom,["message-back",1,"2",{"3":[true]}]`)
}

func TestSocketIOBinaryEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`452-["message",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	w.Expect(`452-["message-back",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
}

func TestSocketIOAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	w.Expect(`43456[1,"2",{"3":[false]}]`)
	w.Send(`421["message-with-ack",1,"2",{"3":[true]}]`)
	w.Expect(`431[1,"2",{"3":[true]}]`)
}

func TestSocketIOBinaryAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`452-789["message-with-ack",1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	w.Expect(`462-789[1,{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
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
			w.Send(pk)
			w.ExpectClosed(true)
		})
	}
}

func TestSocketIOUnexpectedBinary(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.SendBinary([]byte{1, 2, 3}) // no BINARY_EVENT is awaiting attachments
	w.ExpectClosed(true)
}

// ---------------------------------------------------------------------------
// Socket.IO: acknowledgements requested by the server

// The suite's "acknowledgements" tests: the server answers "emit-with-ack"
// by emitting it back with an ack request, then emits the ack's arguments.

func TestSocketIOServerAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	w.Send(`42["emit-with-ack",1,"2",{"3":[true]}]`)
	id := ackID(t, w.Recv(), "42", `["emit-with-ack",1,"2",{"3":[true]}]`)
	w.Send(`43` + id + `[1,"2",{"3":[true]}]`)
	w.Expect(`42["emit-with-ack",1,"2",{"3":[true]}]`)
}

func TestSocketIOServerBinaryAck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.connectWS()
	const data = `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},"test"`
	w.Send(`452-["emit-with-ack",1,` + data + `]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	id := ackID(t, w.Recv(), "452-", `["emit-with-ack",1,`+data+`]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
	w.Send(`462-` + id + `[1,` + data + `]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	w.Expect(`452-["emit-with-ack",1,` + data + `]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
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
	pre := s.Do("OPTIONS", "EIO=4&transport=polling", "", map[string]string{
		"Origin":                        "https://example.com",
		"Access-Control-Request-Method": "POST",
	})
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: HTTP %d, Access-Control-Allow-Origin %q; want 204, *", pre.Status, pre.Header.Get("Access-Control-Allow-Origin"))
	}
	r := s.Do("GET", "EIO=4&transport=polling", "", origin)
	if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("handshake: HTTP %d, Access-Control-Allow-Origin %q; want 200, *", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
	parseOpen(t, r.Body, []string{"websocket"})
}
