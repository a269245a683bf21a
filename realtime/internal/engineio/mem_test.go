package engineio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// In-memory harness: WebSocket sessions over net.Pipe (hijacked through a
// ResponseWriter of our own) and polling through httptest recorders. No
// ports: these tests exercise the session state machine, the queue and
// the close reasons. The real-socket write path (the non-blocking writev)
// is covered by the tests over loopback in server_test.go.

const waitFor = 3 * time.Second

type event struct {
	data   string
	binary bool
}

type closeEvent struct {
	id     string
	reason Reason
	err    error
}

// recorder is a Handler that records what it gets.
type recorder struct {
	msgs   chan event
	closes chan closeEvent
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan event, 1024), closes: make(chan closeEvent, 64)}
}

func (r *recorder) OnMessage(_ *Session, data []byte, binary bool) {
	r.msgs <- event{string(data), binary}
}

func (r *recorder) OnClose(s *Session, reason Reason, err error) {
	r.closes <- closeEvent{s.ID(), reason, err}
}

func (r *recorder) nextMessage(t *testing.T) event {
	t.Helper()
	select {
	case e := <-r.msgs:
		return e
	case <-time.After(waitFor):
		t.Fatal("timeout waiting for a message at the server")
		return event{}
	}
}

func (r *recorder) nextClose(t *testing.T) closeEvent {
	t.Helper()
	select {
	case c := <-r.closes:
		return c
	case <-time.After(waitFor):
		t.Fatal("timeout waiting for a session to close")
		return closeEvent{}
	}
}

// testServer is a Server whose sessions all report to one recorder, and
// which gives access to the sessions it opened.
type testServer struct {
	*Server
	rec      *recorder
	sessions chan *Session
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	ts := &testServer{rec: newRecorder(), sessions: make(chan *Session, 64)}
	if opts.PingInterval == 0 {
		opts.PingInterval = time.Minute
	}
	if opts.PingTimeout == 0 {
		opts.PingTimeout = time.Minute
	}
	opts.OnConnection = func(s *Session, _ *http.Request) {
		s.SetHandler(ts.rec)
		ts.sessions <- s
	}
	ts.Server = NewServer(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = ts.Server.Close(ctx)
	})
	return ts
}

func (ts *testServer) nextSession(t *testing.T) *Session {
	t.Helper()
	select {
	case s := <-ts.sessions:
		return s
	case <-time.After(waitFor):
		t.Fatal("timeout waiting for a session to open")
		return nil
	}
}

// --- WebSocket over a pipe -------------------------------------------------

type hijackWriter struct {
	header http.Header
	conn   net.Conn
	status int
	body   bytes.Buffer
}

func (w *hijackWriter) Header() http.Header         { return w.header }
func (w *hijackWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *hijackWriter) WriteHeader(code int)        { w.status = code }
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

type pipeClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	open map[string]any
}

func wsRequest(query string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?"+query, nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// dialPipe opens a WebSocket to srv over net.Pipe. With a sid in query it
// is an upgrade; otherwise it reads the open packet.
func dialPipe(t *testing.T, srv http.Handler, query string) *pipeClient {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close() })
	w := &hijackWriter{header: http.Header{}, conn: server}
	go srv.ServeHTTP(w, wsRequest(query))
	_ = client.SetReadDeadline(time.Now().Add(waitFor))
	br := bufio.NewReader(client)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the upgrade response: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d", res.StatusCode)
	}
	c := &pipeClient{t: t, conn: client, br: br}
	if !strings.Contains(query, "sid=") {
		open := c.recv()
		if open[0] != '0' {
			t.Fatalf("first packet %q, want the open packet", open)
		}
		if err := json.Unmarshal([]byte(open[1:]), &c.open); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *pipeClient) sid() string { return c.open["sid"].(string) }

func (c *pipeClient) sendFrame(op ws.OpCode, p []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitFor))
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(op, true, p))); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *pipeClient) send(text string) { c.t.Helper(); c.sendFrame(ws.OpText, []byte(text)) }

// frame reads the next frame from the server.
func (c *pipeClient) frame() (ws.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 1<<24 {
		return ws.Frame{}, fmt.Errorf("a frame of %d bytes", h.Length)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return ws.Frame{}, err
	}
	if h.Masked {
		ws.Cipher(payload, h.Mask, 0)
	}
	return ws.Frame{Header: h, Payload: payload}, nil
}

// recv returns the next text packet.
func (c *pipeClient) recv() string {
	c.t.Helper()
	f, err := c.frame()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	if f.Header.OpCode != ws.OpText {
		c.t.Fatalf("recv: opcode %v, want text", f.Header.OpCode)
	}
	return string(f.Payload)
}

func (c *pipeClient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.recv(); got != w {
			c.t.Fatalf("got %q, want %q", got, w)
		}
	}
}

// expectClose reads until the server's close frame (or EOF) and returns
// the close code (0 for EOF without one). Text packets before it are
// returned too.
func (c *pipeClient) expectClose() (ws.StatusCode, []string) {
	c.t.Helper()
	var texts []string
	for {
		f, err := c.frame()
		if err != nil {
			if isTimeout(err) {
				c.t.Fatalf("timeout waiting for the connection to close (got %q)", texts)
			}
			return 0, texts
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return code, texts
		case ws.OpText:
			texts = append(texts, string(f.Payload))
		}
	}
}

// --- polling through recorders ---------------------------------------------

// poll does one polling request and returns status and body. It runs
// ServeHTTP in the calling goroutine (a GET waits for data).
func poll(srv http.Handler, method, query, body string) (int, string) {
	var r *http.Request
	if body != "" || method == http.MethodPost {
		r = httptest.NewRequest(method, "/engine.io/?"+query, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, "/engine.io/?"+query, nil)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

type pollResult struct {
	status int
	body   string
}

// pollAsync starts a GET and returns where its answer will arrive.
func pollAsync(srv http.Handler, query string) <-chan pollResult {
	ch := make(chan pollResult, 1)
	go func() {
		st, b := poll(srv, http.MethodGet, query, "")
		ch <- pollResult{st, b}
	}()
	return ch
}

func awaitPoll(t *testing.T, ch <-chan pollResult) pollResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatal("timeout waiting for a poll to be answered")
		return pollResult{}
	}
}

// openPolling does a v4 polling handshake and returns the sid.
func openPolling(t *testing.T, srv http.Handler, eio string) string {
	t.Helper()
	st, body := poll(srv, http.MethodGet, "EIO="+eio+"&transport=polling", "")
	if st != 200 {
		t.Fatalf("handshake: %d %s", st, body)
	}
	if eio == "3" {
		_, body, _ = strings.Cut(body, ":")
	}
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil {
		t.Fatalf("handshake body %q: %v", body, err)
	}
	return open.SID
}

// waitState waits until cond, read under s.mu, holds; what names the
// state for the failure.
func waitState(t *testing.T, s *Session, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); ; time.Sleep(time.Millisecond) { // polling for a state, bounded by deadline
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout after %v waiting for %s", waitFor, what)
		}
	}
}

// waitPolling waits until the session has a GET waiting.
func waitPolling(t *testing.T, s *Session) {
	t.Helper()
	waitState(t, s, "the poll to wait", func() bool { return s.polling })
}

// isTimeout reports whether err is a deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
