//go:build linux

package engineio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Held polls over loopback: a real http.Server serving through
// Server.Listener, and a client writing HTTP/1.1 by hand on one
// connection, so that what happens to that connection can be seen.

// heldServer serves ts through its Listener on 127.0.0.1.
func heldServer(t *testing.T, opts Options) (*testServer, string) {
	t.Helper()
	ts := newTestServer(t, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ts, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ts.Listener(ln)) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ts, ln.Addr().String()
}

// httpConn is one client connection, requests written by hand.
type httpConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialHTTP(t *testing.T, addr string) *httpConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &httpConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (h *httpConn) write(req string) {
	h.t.Helper()
	if _, err := io.WriteString(h.c, req); err != nil {
		h.t.Fatal(err)
	}
}

func getReq(query string, headers ...string) string {
	return "GET /engine.io/?" + query + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(headers, "") + "\r\n"
}

func postReq(query, body string) string {
	return "POST /engine.io/?" + query + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// post sends a POST with body and expects its "ok".
func (h *httpConn) post(q, body string) {
	h.t.Helper()
	h.write(postReq(q, body))
	if res, got := h.response(); res.StatusCode != http.StatusOK || got != "ok" {
		h.t.Fatalf("POST %q: %d %q", body, res.StatusCode, got)
	}
}

// response reads the next response on the connection.
func (h *httpConn) response() (*http.Response, string) {
	h.t.Helper()
	_ = h.c.SetReadDeadline(time.Now().Add(waitFor))
	res, err := http.ReadResponse(h.r, nil)
	if err != nil {
		h.t.Fatalf("reading a response: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("reading a response body: %v", err)
	}
	_ = h.c.SetReadDeadline(time.Time{})
	return res, string(body)
}

// open does the polling handshake on the connection and returns the session.
func (h *httpConn) open(ts *testServer) (*Session, string) {
	h.t.Helper()
	h.write(getReq("EIO=4&transport=polling"))
	res, body := h.response()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "0{") {
		h.t.Fatalf("handshake: %d %q", res.StatusCode, body)
	}
	s := ts.nextSession(h.t)
	return s, "EIO=4&transport=polling&sid=" + s.ID()
}

// waitHeld waits until s holds its poll (want) or no longer does.
func waitHeld(t *testing.T, s *Session, want bool) {
	t.Helper()
	waitState(t, s, fmt.Sprintf("a held poll: %v", want), func() bool { return (s.held != nil) == want })
}

// pollGoroutines counts goroutines inside handlePoll.
func pollGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "engineio.(*Session).handlePoll")
}

func TestHeldPollIsAnsweredAndItsConnectionKeptAlive(t *testing.T) {
	ts, addr := heldServer(t, Options{})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)

	for i, text := range []string{"first", "second"} {
		h.write(getReq(q))
		waitHeld(t, s, true)
		if n := pollGoroutines(); n != 0 {
			t.Fatalf("poll %d: %d goroutines in handlePoll while the poll is held", i, n)
		}
		s.Send(NewMessageString(text))
		res, body := h.response()
		if res.StatusCode != http.StatusOK || body != "4"+text {
			t.Fatalf("poll %d: %d %q, want 200 %q", i, res.StatusCode, body, "4"+text)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" || res.Header.Get("Cache-Control") != "no-store" || res.Close {
			t.Fatalf("poll %d: headers %v (close %v)", i, res.Header, res.Close)
		}
	}
	// The connection went back to the HTTP server, which serves the POST.
	h.post(q, "4hello")
	if e := ts.rec.nextMessage(t); e.data != "hello" {
		t.Fatalf("server got %q", e.data)
	}
}

func TestHeldPollClientHangsUp(t *testing.T) {
	ts, addr := heldServer(t, Options{})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)
	h.write(getReq(q))
	waitHeld(t, s, true)
	_ = h.c.Close()
	if c := ts.rec.nextClose(t); c.reason != ReasonTransportError || c.err != errPollAbandoned {
		t.Fatalf("closed with %v (%v), want transport error (poll abandoned)", c.reason, c.err)
	}
}

func TestHeldPollKeepsAPipelinedRequest(t *testing.T) {
	ts, addr := heldServer(t, Options{})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)
	h.write(getReq(q))
	waitHeld(t, s, true)
	// A client may pipeline its next request; it waits behind the poll.
	h.write(postReq(q, "4piped"))
	// The parker reads what came; the poll stays held.
	waitState(t, s, "the pipelined request read while the poll is held", func() bool {
		return s.held != nil && len(s.held.pending) > 0
	})
	s.Send(NewMessageString("x"))
	if res, body := h.response(); res.StatusCode != http.StatusOK || body != "4x" {
		t.Fatalf("poll: %d %q", res.StatusCode, body)
	}
	if res, body := h.response(); res.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("pipelined POST: %d %q", res.StatusCode, body)
	}
	if e := ts.rec.nextMessage(t); e.data != "piped" {
		t.Fatalf("server got %q", e.data)
	}
}

func TestHeldPollConnectionClose(t *testing.T) {
	ts, addr := heldServer(t, Options{AllowedOrigins: []string{"http://example.test"}})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)
	h.write(getReq(q, "Connection: close\r\n", "Origin: http://example.test\r\n"))
	waitHeld(t, s, true)
	s.Send(NewMessageString("bye"))
	res, body := h.response()
	if body != "4bye" || !res.Close {
		t.Fatalf("%q, close %v: want the answer with Connection: close", body, res.Close)
	}
	// Headers set before the wait (CORS) are part of the answer.
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "http://example.test" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
	_ = h.c.SetReadDeadline(time.Now().Add(waitFor))
	if n, err := h.r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after Connection: close: read %d, %v; want EOF", n, err)
	}
}

func TestHeldPollServerClose(t *testing.T) {
	ts, addr := heldServer(t, Options{})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)
	h.write(getReq(q))
	waitHeld(t, s, true)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Server.Close(ctx) }()
	if res, body := h.response(); res.StatusCode != http.StatusOK || body != "1" {
		t.Fatalf("held poll at server close: %d %q, want the close packet", res.StatusCode, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestHeldPollAnswersThePing(t *testing.T) {
	ts, addr := heldServer(t, Options{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second})
	h := dialHTTP(t, addr)
	s, q := h.open(ts)
	h.write(getReq(q))
	waitHeld(t, s, true)
	// The heartbeat answers a held poll like any other send.
	if res, body := h.response(); res.StatusCode != http.StatusOK || body != "2" {
		t.Fatalf("held poll at the ping: %d %q", res.StatusCode, body)
	}
	h.post(q, "3")
	waitHeld(t, s, false)
}
