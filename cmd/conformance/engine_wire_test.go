package main

// Raw-wire helpers for engine_test.go, the tests of the project's own
// Engine.IO server (realtime/internal/engineio) as the -engine echo server
// serves it. They build on wire_test.go's clients; what is new here answers
// pings at once (the server under test does not lose an instant pong, so
// there is no simulated latency), speaks Engine.IO v3 with lengths in UTF-16
// code units and the v3 binary payload, and talks raw TCP where net/http's
// client would hide what is being tested (chunked bodies, abandoned polls).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/socketio-go/chatserver/realtime"
)

// The -engine configuration (newEngineHandler), which is also what
// parseOpen checks the open packet against.
const (
	enginePingInterval = 300 * time.Millisecond
	enginePingTimeout  = 200 * time.Millisecond
	engineMaxPayload   = 1000000
)

// startEngineServer serves newEngineHandler, the echo server of the
// official engine.io-protocol suite, at /engine.io/.
func startEngineServer(t *testing.T) *server {
	t.Helper()
	return serveAt(t, newEngineHandler(), "/engine.io/")
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
	}), "/engine.io/")
}

// pong answers a v4 ping over polling.
func (p *poller) pong() {
	p.t.Helper()
	p.post("3")
}

// expectPayload polls once for exactly want, the whole body of a poll
// response. A v4 ping the server sent because a ping interval went by
// meanwhile (a slow test process) is answered at once and left out of the
// comparison; a poll that carried nothing else is repeated. That pong is
// a courtesy: if the session timed out all the same (a test that spent
// more than pingInterval+pingTimeout, say on a 1 MB body, before polling),
// it is only logged; whatever the test does with the session next fails.
func (p *poller) expectPayload(want string) {
	p.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		r := p.get()
		if r.status != http.StatusOK {
			p.t.Fatalf("poll: HTTP %d %q, want 200 %q", r.status, clip(r.body), clip(want))
		}
		body := r.body
		if p.eio == "4" {
			var kept []string
			pinged := false
			for _, pk := range strings.Split(body, sep) {
				if pk == "2" {
					pinged = true
					continue
				}
				kept = append(kept, pk)
			}
			if pinged {
				pong, err := p.request("POST", p.query(), "3", reqOpts{hdr: textPlain})
				p.t.Logf("poll %q carried a ping; answered it: HTTP %d %q %v", clip(body), pong.status, pong.body, err)
			}
			if len(kept) == 0 {
				if time.Now().After(deadline) {
					p.t.Fatalf("only pings for %v, want %q", waitTimeout, clip(want))
				}
				continue
			}
			body = strings.Join(kept, sep)
		}
		if body != want {
			p.t.Fatalf("poll: got %q, want %q", clip(body), clip(want))
		}
		return
	}
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:100] + "[... " + strconv.Itoa(len(s)-200) + " bytes ...]" + s[len(s)-100:]
}

// expectGoneNow asserts that the session is unknown to the server now.
func (p *poller) expectGoneNow() {
	p.t.Helper()
	expectError(p.t, p.get(), 400, 1, "Session ID unknown")
}

// nextFrame returns the next frame other than a v4 ping, answering pings
// at once.
func (w *wsClient) nextFrame() (int, []byte) {
	w.t.Helper()
	for {
		typ, b := w.read()
		if w.eio4 && typ == websocket.TextMessage && string(b) == "2" {
			w.send("3")
			continue
		}
		return typ, b
	}
}

// expectText reads the next frame (pings aside), which must be text want.
func (w *wsClient) expectText(want string) {
	w.t.Helper()
	typ, b := w.nextFrame()
	if typ != websocket.TextMessage || string(b) != want {
		w.t.Fatalf("received frame type %d %q, want text %q", typ, clip(string(b)), clip(want))
	}
}

// expectBinaryFrame reads the next frame (pings aside), which must be
// binary want.
func (w *wsClient) expectBinaryFrame(want []byte) {
	w.t.Helper()
	typ, b := w.nextFrame()
	if typ != websocket.BinaryMessage || !reflect.DeepEqual(b, want) {
		w.t.Fatalf("received frame type %d %v, want binary %v", typ, b, want)
	}
}

// dialSession opens a WebSocket with the raw query (an upgrade of a
// polling session, or a second one); it reads nothing.
func (s *server) dialSession(query string, eio4 bool) *wsClient {
	s.t.Helper()
	c, _, err := s.dialWS(query)
	if err != nil {
		s.t.Fatalf("dial ?%s: %v", query, err)
	}
	s.t.Cleanup(func() { c.Close() })
	return &wsClient{t: s.t, c: c, eio4: eio4}
}

// probe opens the upgrade WebSocket of p's session and exchanges the probe
// ("2probe" -> "3probe"); the caller completes the upgrade with "5".
func (p *poller) probe() *wsClient {
	p.t.Helper()
	w := p.dialSession("EIO="+p.eio+"&transport=websocket&sid="+url.QueryEscape(p.sid), p.eio == "4")
	w.send("2probe")
	w.expectText("3probe")
	return w
}

// dialRefused dials a WebSocket that the server must refuse with an HTTP
// error before the upgrade, and returns that answer.
func (s *server) dialRefused(query string) response {
	s.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, res, err := d.Dial(s.ws+"?"+query, nil)
	if err == nil {
		c.Close()
		s.t.Fatalf("WebSocket ?%s: accepted, want an HTTP error", query)
	}
	if res == nil {
		s.t.Fatalf("WebSocket ?%s: %v, want an HTTP error", query, err)
	}
	// gorilla keeps (up to 1 KiB of) the body of a failed handshake.
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// --- raw HTTP over TCP --------------------------------------------------------

// hostPath is the server's host:port and Engine.IO path.
func (s *server) hostPath() (string, string) {
	u, err := url.Parse(s.base)
	if err != nil {
		s.t.Fatal(err)
	}
	return u.Host, u.Path
}

// rawExchange sends one request on a new TCP connection: head (the request
// line and headers, without the blank line that ends them), then body from
// another goroutine, since the server may answer and close before it has
// read all of it (write errors are therefore ignored). It returns the
// response.
func (s *server) rawExchange(head string, body func(io.Writer) error) response {
	s.t.Helper()
	host, _ := s.hostPath()
	conn, err := net.DialTimeout("tcp", host, waitTimeout)
	if err != nil {
		s.t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()    // the body's writer, which
	defer conn.Close() // this ends, runs earlier
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		s.t.Fatal(err)
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
		s.t.Fatalf("raw request: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("raw response body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
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

// --- Engine.IO v3 payloads ------------------------------------------------------

// utf16Len is the length JavaScript gives s: UTF-16 code units.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// encodeV3Units frames packets as a v3 text payload, "<length>:<packet>"
// with the length in UTF-16 code units, as engine.io-parser v2 does.
func encodeV3Units(packets ...string) string {
	var b strings.Builder
	for _, p := range packets {
		b.WriteString(strconv.Itoa(utf16Len(p)) + ":" + p)
	}
	return b.String()
}

// decodeV3Units splits a v3 text payload whose lengths count UTF-16 code
// units, failing on any length that does not fall on a character boundary.
func decodeV3Units(t *testing.T, payload string) []string {
	t.Helper()
	var out []string
	for rest := payload; rest != ""; {
		n, tail, ok := strings.Cut(rest, ":")
		units, err := strconv.Atoi(n)
		if !ok || err != nil || units < 0 {
			t.Fatalf("bad v3 payload %q", payload)
		}
		end := 0
		for units > 0 {
			if end >= len(tail) {
				t.Fatalf("v3 payload %q: length %s beyond the payload", payload, n)
			}
			r, size := utf8.DecodeRuneInString(tail[end:])
			if units < utf16.RuneLen(r) {
				t.Fatalf("v3 payload %q: length %s splits a character", payload, n)
			}
			units -= utf16.RuneLen(r)
			end += size
		}
		out = append(out, tail[:end])
		rest = tail[end:]
	}
	return out
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
