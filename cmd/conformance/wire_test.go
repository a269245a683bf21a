package main

// Raw-wire helpers for the conformance tests: a tiny HTTP long-polling
// client and a tiny WebSocket client that speak Engine.IO / Socket.IO packets
// as plain strings, so that every test can assert the exact bytes exchanged.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// waitTimeout bounds every single read or HTTP exchange of a test.
	waitTimeout = 3 * time.Second
	// sep separates the packets of an Engine.IO v4 polling payload.
	sep = "\x1e"
	// pongLatency is how long the helpers wait before answering a ping:
	// a simulated network round trip, not a synchronisation (the instant
	// pong has tests of its own). 30ms is well inside pingTimeout (200ms).
	pongLatency = 30 * time.Millisecond
)

// server is one conformance server, torn down at the end of the test.
type server struct {
	t    *testing.T
	base string // http://127.0.0.1:port/socket.io/
	ws   string // ws://127.0.0.1:port/socket.io/
	http *http.Client
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
	return serveAt(t, h, "/socket.io/")
}

// serveAt serves h on 127.0.0.1 (a random port) for the test, with the
// Engine.IO endpoint at path ("/socket.io/", "/engine.io/").
func serveAt(t *testing.T, h http.Handler, path string) *server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &server{
		t:    t,
		base: hs.URL + path,
		ws:   "ws" + strings.TrimPrefix(hs.URL, "http") + path,
		http: &http.Client{Transport: tr}, // each request has its own timeout
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// do runs one HTTP request against the Engine.IO endpoint; query is the raw
// query string (without "?").
func (s *server) do(method, query, body string, hdr map[string]string) response {
	s.t.Helper()
	r, err := s.request(method, query, body, reqOpts{hdr: hdr})
	if err != nil {
		s.t.Fatalf("%s ?%s: %v", method, query, err)
	}
	return r
}

// reqOpts tunes request.
type reqOpts struct {
	hdr map[string]string
	// wrote, if not nil, is closed once the request is on the wire.
	wrote chan<- struct{}
	// timeout bounds the exchange; waitTimeout if zero. Its expiry makes
	// request return an error matching context.DeadlineExceeded.
	timeout time.Duration
	// client, if set, replaces the server's client (and its connections).
	client *http.Client
}

// request is do without failing the test.
func (s *server) request(method, query, body string, o reqOpts) (response, error) {
	if o.timeout == 0 {
		o.timeout = waitTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if o.wrote != nil {
		wrote := o.wrote
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
		})
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+"?"+query, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range o.hdr {
		req.Header.Set(k, v)
	}
	client := s.http
	if o.client != nil {
		client = o.client
	}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// expectError asserts an Engine.IO error answer: status and exact JSON body.
func expectError(t *testing.T, r response, status, code int, message string) {
	t.Helper()
	want := `{"code":` + strconv.Itoa(code) + `,"message":"` + message + `"}`
	if r.status != status || r.body != want {
		t.Fatalf("got HTTP %d %q, want HTTP %d %q", r.status, r.body, status, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// handshake is the payload of an Engine.IO open packet.
type handshake struct {
	Sid          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen checks an open packet ("0{...}") field by field: exactly the
// five keys of the protocol with the conformance configuration's values.
func parseOpen(t *testing.T, packet string, upgrades []string) handshake {
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
	var h handshake
	if err := json.Unmarshal([]byte(data), &h); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if h.Sid == "" || h.PingInterval != 300 || h.PingTimeout != 200 || h.MaxPayload != 1000000 ||
		!reflect.DeepEqual(h.Upgrades, upgrades) {
		t.Fatalf("open packet %q: want a sid, upgrades %q, pingInterval 300, pingTimeout 200, maxPayload 1000000", packet, upgrades)
	}
	return h
}

// parseSid checks a Socket.IO CONNECT answer (prefix + `{"sid":"..."}`) and
// returns the socket id.
func parseSid(t *testing.T, packet, prefix string) string {
	t.Helper()
	data, ok := strings.CutPrefix(packet, prefix)
	if !ok {
		t.Fatalf("got %q, want a CONNECT packet starting with %q", packet, prefix)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("CONNECT packet %q: %v", packet, err)
	}
	sid, ok := m["sid"].(string)
	if len(m) != 1 || !ok || sid == "" {
		t.Fatalf("CONNECT packet %q: want exactly a string sid", packet)
	}
	return sid
}

// decodeV3 splits an Engine.IO v3 text payload ("<len>:<packet>..."), checking
// each length; lengths count UTF-16 units, i.e. bytes for the ASCII used here.
func decodeV3(t *testing.T, payload string) []string {
	t.Helper()
	var out []string
	for rest := payload; rest != ""; {
		n, tail, ok := strings.Cut(rest, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l < 0 || l > len(tail) {
			t.Fatalf("bad v3 payload %q", payload)
		}
		out = append(out, tail[:l])
		rest = tail[l:]
	}
	return out
}

// encodeV3 frames packets as an Engine.IO v3 text payload.
func encodeV3(packets ...string) string {
	var b strings.Builder
	for _, p := range packets {
		b.WriteString(strconv.Itoa(len(p)) + ":" + p)
	}
	return b.String()
}

// poller is an Engine.IO session over HTTP long-polling.
type poller struct {
	*server
	eio  string // "4" or "3"
	sid  string
	open handshake
	// extra is appended to every request's query ("&b64=1"); usually empty.
	extra string
}

// openPolling performs the polling handshake for protocol eio ("4" or "3").
func (s *server) openPolling(eio string) *poller {
	s.t.Helper()
	return s.openPollingWith(eio, "")
}

// openPollingWith is openPolling with extra appended to the query of the
// handshake and of every later request of the session.
func (s *server) openPollingWith(eio, extra string) *poller {
	s.t.Helper()
	r := s.do("GET", "EIO="+eio+"&transport=polling"+extra, "", nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("handshake: HTTP %d %q", r.status, r.body)
	}
	p := &poller{server: s, eio: eio, extra: extra}
	packets := p.decode(r.body)
	if len(packets) != 1 {
		s.t.Fatalf("handshake response %q, want just the open packet", r.body)
	}
	p.open = parseOpen(s.t, packets[0], []string{"websocket"})
	p.sid = p.open.Sid
	return p
}

func (p *poller) query() string {
	return "EIO=" + p.eio + "&transport=polling&sid=" + url.QueryEscape(p.sid) + p.extra
}

func (p *poller) decode(body string) []string {
	if p.eio == "3" {
		return decodeV3(p.t, body)
	}
	return strings.Split(body, sep)
}

func (p *poller) encode(packets ...string) string {
	if p.eio == "3" {
		return encodeV3(packets...)
	}
	return strings.Join(packets, sep)
}

// get is one raw poll.
func (p *poller) get() response {
	p.t.Helper()
	return p.do("GET", p.query(), "", nil)
}

// post sends packets in one payload and expects "ok".
func (p *poller) post(packets ...string) {
	p.t.Helper()
	r := p.do("POST", p.query(), p.encode(packets...), map[string]string{"Content-Type": "text/plain;charset=UTF-8"})
	if r.status != http.StatusOK || r.body != "ok" {
		p.t.Fatalf("POST %q: HTTP %d %q, want 200 \"ok\"", packets, r.status, r.body)
	}
}

// recv polls until n packets other than pings arrived (answering pings
// with pongs) and returns them.
func (p *poller) recv(n int) []string {
	p.t.Helper()
	var got []string
	deadline := time.Now().Add(waitTimeout)
	for len(got) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("received %q, want %d packets", got, n)
		}
		r := p.get()
		if r.status != http.StatusOK {
			p.t.Fatalf("poll: HTTP %d %q (after %q)", r.status, r.body, got)
		}
		for _, pk := range p.decode(r.body) {
			if pk == "2" && p.eio == "4" {
				time.Sleep(pongLatency)
				p.post("3")
				continue
			}
			got = append(got, pk)
		}
	}
	if len(got) != n {
		p.t.Fatalf("received %q, want %d packets", got, n)
	}
	return got
}

// expect polls for exactly the given packets.
func (p *poller) expect(want ...string) {
	p.t.Helper()
	if got := p.recv(len(want)); !reflect.DeepEqual(got, want) {
		p.t.Fatalf("received %q, want %q", got, want)
	}
}

// connect joins the main namespace over polling.
func (p *poller) connect() {
	p.t.Helper()
	p.post("40")
	got := p.recv(2)
	parseSid(p.t, got[0], "40")
	if got[1] != `42["auth",{}]` {
		p.t.Fatalf("got %q, want the auth event", got[1])
	}
}

// expectGone polls until the session is unknown to the server (HTTP 400,
// code 1) and returns how long that took. Each poll is a long-poll that the
// server holds until it has something to say or closes the session, so this
// waits on the server, not on a timer. Pings are answered when pong is set.
//
// A poll ends within pingInterval (300ms); one that gets no answer for a
// second fails the test.
func (p *poller) expectGone(pong bool) time.Duration {
	p.t.Helper()
	start := time.Now()
	for time.Since(start) < 2*waitTimeout {
		r, err := p.request("GET", p.query(), "", reqOpts{timeout: time.Second})
		if err != nil {
			p.t.Fatalf("poll: %v", err)
		}
		if r.status != http.StatusOK {
			expectError(p.t, r, 400, 1, "Session ID unknown")
			return time.Since(start)
		}
		for _, pk := range p.decode(r.body) {
			switch {
			case pk == "2" && pong:
				time.Sleep(pongLatency)
				if r, err := p.request("POST", p.query(), "3", reqOpts{}); err != nil || r.status != http.StatusOK {
					p.t.Logf("pong: HTTP %d %q %v (session closing)", r.status, r.body, err)
				}
			case pk == "1" || pk == "2" || pk == "6":
				// close, ping (unanswered) or noop: the session is ending
			default:
				p.t.Fatalf("poll: unexpected packet %q in %q", pk, r.body)
			}
		}
	}
	p.t.Fatalf("session still open after %v", 2*waitTimeout)
	return 0
}

// wsClient is one raw WebSocket connection.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
	// eio4 makes recv answer the server's pings (v3 clients ping instead).
	eio4 bool
}

// dialWS opens a WebSocket with the raw query; it does not read anything.
func (s *server) dialWS(query string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, res, err := d.Dial(s.ws+"?"+query, nil)
	if res != nil && res.Body != nil {
		// gorilla already buffered the body of failed handshakes.
		defer res.Body.Close()
	}
	return c, res, err
}

// openWS opens an Engine.IO session over WebSocket and checks the open packet.
func (s *server) openWS(eio string) (*wsClient, handshake) {
	s.t.Helper()
	c, _, err := s.dialWS("EIO=" + eio + "&transport=websocket")
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	w := &wsClient{t: s.t, c: c, eio4: eio == "4"}
	s.t.Cleanup(func() { c.Close() })
	return w, parseOpen(s.t, w.readText(), []string{})
}

// connectWS opens a WebSocket session joined to the main namespace.
func (s *server) connectWS() *wsClient {
	s.t.Helper()
	w, _ := s.openWS("4")
	w.send("40")
	parseSid(s.t, w.recv(), "40")
	w.expect(`42["auth",{}]`)
	return w
}

func (w *wsClient) send(text string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		w.t.Fatalf("send %q: %v", text, err)
	}
}

func (w *wsClient) sendBinary(b []byte) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatalf("send binary: %v", err)
	}
}

// read returns the next frame, whatever it is.
func (w *wsClient) read() (int, []byte) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(waitTimeout))
	typ, b, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return typ, b
}

// readText returns the next frame, which must be text.
func (w *wsClient) readText() string {
	w.t.Helper()
	typ, b := w.read()
	if typ != websocket.TextMessage {
		w.t.Fatalf("got binary frame %v, want text", b)
	}
	return string(b)
}

// next returns the next frame other than a ping ("2"), answering pings.
func (w *wsClient) next() (int, []byte) {
	w.t.Helper()
	for {
		typ, b := w.read()
		if w.eio4 && typ == websocket.TextMessage && string(b) == "2" {
			time.Sleep(pongLatency)
			w.send("3")
			continue
		}
		return typ, b
	}
}

// recv returns the next text frame other than a ping.
func (w *wsClient) recv() string {
	w.t.Helper()
	typ, b := w.next()
	if typ != websocket.TextMessage {
		w.t.Fatalf("got binary frame %v, want text", b)
	}
	return string(b)
}

// expect reads the next text frames (pings aside) and compares them.
func (w *wsClient) expect(want ...string) {
	w.t.Helper()
	for _, s := range want {
		if got := w.recv(); got != s {
			w.t.Fatalf("received %q, want %q", got, s)
		}
	}
}

// expectBinary reads the next frame (pings aside), which must be binary b.
func (w *wsClient) expectBinary(b []byte) {
	w.t.Helper()
	typ, got := w.next()
	if typ != websocket.BinaryMessage || !reflect.DeepEqual(got, b) {
		w.t.Fatalf("received frame type %d %q, want binary %v", typ, got, b)
	}
}

// expectClosed reads until the server closes the connection and fails if
// anything but pings arrives first or nothing happens within waitTimeout.
// pong says whether pings are answered meanwhile.
func (w *wsClient) expectClosed(pong bool) error {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		typ, b, err := w.c.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.t.Fatalf("connection still open after %v", waitTimeout)
			}
			return err
		}
		if typ == websocket.TextMessage && string(b) == "2" && w.eio4 {
			if pong {
				time.Sleep(pongLatency)
				_ = w.c.WriteMessage(websocket.TextMessage, []byte("3"))
			}
			continue
		}
		w.t.Fatalf("received %d %q, want the connection closed", typ, b)
	}
}
