package main

// The servers the conformance tests run against, what their configuration
// makes them say (the open packet's values, the "auth" event), and the
// raw-TCP exchanges for what net/http's client would hide (chunked bodies,
// abandoned polls). The Engine.IO / Socket.IO clients are internal/siotest's.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/internal/wire"
	"github.com/socketio-go/chatserver/realtime"
)

const (
	// waitTimeout bounds every single read or HTTP exchange of a test.
	waitTimeout = siotest.DefaultTimeout
	// sep separates the packets of an Engine.IO v4 polling payload.
	sep = "\x1e"
	// pongLatency is how long the clients of the Socket.IO server wait
	// before answering a ping: a simulated network round trip, not a
	// synchronisation (the instant pong has tests of its own). 30ms is
	// well inside pingTimeout (200ms). The clients of the -engine echo
	// server answer at once: that server does not lose an instant pong.
	pongLatency = 30 * time.Millisecond
)

// The -engine configuration (newEngineHandler), which is also what
// parseOpen checks the open packet against.
const (
	enginePingInterval = 300 * time.Millisecond
	enginePingTimeout  = 200 * time.Millisecond
	engineMaxPayload   = 1000000
)

// server is one conformance server, torn down at the end of the test.
type server struct {
	*siotest.Endpoint
}

func startServer(t *testing.T) *server {
	t.Helper()
	return serve(t, newHandler())
}

// startLegacyServer is the conformance server as the product runs it, with
// Engine.IO v3 (socket.io-client 2.x) accepted: realtime's default, which
// the suites' configuration turns off (RejectEIO3).
func startLegacyServer(t *testing.T) *server {
	t.Helper()
	opts := options()
	opts.RejectEIO3 = false
	return serve(t, newHandlerWith(opts))
}

func serve(t *testing.T, h http.Handler) *server {
	t.Helper()
	return serveAt(t, h, "/socket.io/", siotest.Options{PongDelay: pongLatency})
}

// startEngineServer serves newEngineHandler, the echo server of the
// official engine.io-protocol suite, at /engine.io/.
func startEngineServer(t *testing.T) *server {
	t.Helper()
	return serveAt(t, newEngineHandler(), "/engine.io/", siotest.Options{})
}

// startEngineServerV3 is the echo server with Engine.IO v3 accepted too.
func startEngineServerV3(t *testing.T) *server {
	t.Helper()
	return serveAt(t, realtime.EngineEcho(realtime.EngineEchoOptions{
		PingInterval:   enginePingInterval,
		PingTimeout:    enginePingTimeout,
		MaxPayload:     engineMaxPayload,
		AllowedOrigins: []string{"*"},
		AllowEIO3:      true,
	}), "/engine.io/", siotest.Options{})
}

// serveAt serves h on 127.0.0.1 (a random port) for the test, with the
// Engine.IO endpoint at path ("/socket.io/", "/engine.io/").
func serveAt(t *testing.T, h http.Handler, path string, o siotest.Options) *server {
	t.Helper()
	hs := httptest.NewUnstartedServer(h)
	if l, ok := h.(listenerWrapper); ok {
		hs.Listener = l.Listener(hs.Listener)
	}
	hs.Start()
	t.Cleanup(hs.Close)
	return &server{siotest.NewEndpoint(t, hs.URL+path, o)}
}

// parseOpen checks an open packet ("0{...}") field by field: exactly the
// five keys of the protocol with the conformance configuration's values.
func parseOpen(t testing.TB, packet string, upgrades []string) wire.Handshake {
	t.Helper()
	data, ok := strings.CutPrefix(packet, "0")
	if !ok {
		t.Fatalf("open packet %q does not start with 0", packet)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &keys); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	got := make([]string, 0, len(keys))
	for k := range keys {
		got = append(got, k)
	}
	sort.Strings(got)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("open packet keys %v, want %v", got, want)
	}
	var h wire.Handshake
	if err := json.Unmarshal([]byte(data), &h); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if h.SID == "" || h.PingInterval != 300 || h.PingTimeout != 200 || h.MaxPayload != 1000000 ||
		!reflect.DeepEqual(h.Upgrades, upgrades) {
		t.Fatalf("open packet %q: want a sid, upgrades %q, pingInterval 300, pingTimeout 200, maxPayload 1000000", packet, upgrades)
	}
	return h
}

// openPolling performs the polling handshake for protocol eio and checks
// the open packet.
func (s *server) openPolling(eio int) *siotest.Polling {
	s.T.Helper()
	return s.openPollingWith(eio, "")
}

// openPollingWith is openPolling with extra appended to the query of the
// handshake and of every later request of the session.
func (s *server) openPollingWith(eio int, extra string) *siotest.Polling {
	s.T.Helper()
	p := s.OpenPollingWith(eio, extra)
	parseOpen(s.T, p.Open, []string{"websocket"})
	return p
}

// openWS opens an Engine.IO session over WebSocket and checks the open
// packet.
func (s *server) openWS(eio int) (*siotest.WS, wire.Handshake) {
	s.T.Helper()
	w := s.OpenWS(eio)
	return w, parseOpen(s.T, w.Open, []string{})
}

// connectWS opens a WebSocket session joined to the main namespace.
func (s *server) connectWS() *siotest.WS {
	s.T.Helper()
	w, _ := s.openWS(4)
	w.Send("40")
	siotest.ParseSID(s.T, w.Recv(), "40")
	w.Expect(`42["auth",{}]`)
	return w
}

// connectPolling joins the main namespace over polling.
func connectPolling(p *siotest.Polling) {
	p.T.Helper()
	p.Post("40")
	got := p.Recv(2)
	siotest.ParseSID(p.T, got[0], "40")
	if got[1] != `42["auth",{}]` {
		p.T.Fatalf("got %q, want the auth event", got[1])
	}
}

// expectGone polls until the session is unknown to the server (HTTP 400,
// code 1) and returns how long that took. Each poll is a long-poll that the
// server holds until it has something to say or closes the session, so this
// waits on the server, not on a timer. Pings are answered when pong is set.
//
// A poll ends within pingInterval (300ms); one that gets no answer for a
// second fails the test.
func expectGone(p *siotest.Polling, pong bool) time.Duration {
	p.T.Helper()
	start := time.Now()
	for time.Since(start) < 2*waitTimeout {
		r, err := p.Request("GET", p.Query(), "", siotest.Req{Timeout: time.Second})
		if err != nil {
			p.T.Fatalf("poll: %v", err)
		}
		if r.Status != http.StatusOK {
			siotest.ExpectError(p.T, r, 400, 1, "Session ID unknown")
			return time.Since(start)
		}
		for _, pk := range siotest.SplitPayload(p.T, p.EIO, r.Body) {
			switch {
			case pk == "2" && pong:
				time.Sleep(pongLatency)
				if r, err := p.Request("POST", p.Query(), "3", siotest.Req{}); err != nil || r.Status != http.StatusOK {
					p.T.Logf("pong: HTTP %d %q %v (session closing)", r.Status, r.Body, err)
				}
			case pk == "1" || pk == "2" || pk == "6":
				// close, ping (unanswered) or noop: the session is ending
			default:
				p.T.Fatalf("poll: unexpected packet %q in %q", pk, r.Body)
			}
		}
	}
	p.T.Fatalf("session still open after %v", 2*waitTimeout)
	return 0
}

// --- raw HTTP over TCP --------------------------------------------------------

// hostPath is the server's host:port and Engine.IO path.
func (s *server) hostPath() (string, string) {
	u, err := url.Parse(s.URL)
	if err != nil {
		s.T.Fatal(err)
	}
	return u.Host, u.Path
}

// rawExchange sends one request on a new TCP connection: head (the request
// line and headers, without the blank line that ends them), then body from
// another goroutine, since the server may answer and close before it has
// read all of it (write errors are therefore ignored). It returns the
// response.
func (s *server) rawExchange(head string, body func(io.Writer) error) siotest.Response {
	s.T.Helper()
	host, _ := s.hostPath()
	conn, err := net.DialTimeout("tcp", host, waitTimeout)
	if err != nil {
		s.T.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()    // the body's writer, which
	defer conn.Close() // this ends, runs earlier
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		s.T.Fatal(err)
	}
	if body != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = body(conn)
		}()
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		s.T.Fatalf("raw request: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.T.Fatalf("raw response body: %v", err)
	}
	return siotest.Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// plain writes data as a body whose length the head announced.
func plain(data string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, data)
		return err
	}
}

// chunked writes data as an HTTP/1.1 chunked body, in chunks of size.
func chunked(data string, size int) func(io.Writer) error {
	return func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for len(data) > 0 {
			n := min(size, len(data))
			if _, err := fmt.Fprintf(bw, "%x\r\n%s\r\n", n, data[:n]); err != nil {
				return err
			}
			data = data[n:]
		}
		if _, err := io.WriteString(bw, "0\r\n\r\n"); err != nil {
			return err
		}
		return bw.Flush()
	}
}

// requestHook wraps the server's handler to tell a test where the server
// is with one request (the first whose query has t=<mark>): entered is
// closed when the request reaches the handler, so its connection is
// watched for the client going away, and done when the handler returns.
// The handler itself is not changed.
type requestHook struct {
	h       http.Handler
	mark    string
	once    sync.Once
	entered chan struct{}
	done    chan struct{}
}

func newRequestHook(h http.Handler, mark string) *requestHook {
	return &requestHook{h: h, mark: mark, entered: make(chan struct{}), done: make(chan struct{})}
}

func (k *requestHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mine := false
	if r.URL.Query().Get("t") == k.mark {
		k.once.Do(func() { mine = true })
	}
	if mine {
		close(k.entered)
		defer close(k.done)
	}
	k.h.ServeHTTP(w, r)
}

// waitClosed waits for ch to be closed, at most waitTimeout.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: not within %v", what, waitTimeout)
	}
}

// v3Binary appends one element of a v3 binary payload (XHR2): 0 for a
// string or 1 for binary data, the length of pkt as one byte per decimal
// digit, 0xFF, then pkt (the text packet, or the type byte and the data).
func v3Binary(dst []byte, kind byte, pkt []byte) []byte {
	dst = append(dst, kind)
	for _, d := range strconv.Itoa(len(pkt)) {
		dst = append(dst, byte(d-'0'))
	}
	dst = append(dst, 0xFF)
	return append(dst, pkt...)
}
