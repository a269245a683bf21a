// Package siotest is the raw-wire Engine.IO / Socket.IO client for tests.
//
// It has a WebSocket client (WS, on gobwas/ws) and an HTTP long-polling
// client (Polling, on net/http) that exchange packets as plain strings, so
// that a test asserts the exact bytes on the wire; both speak Engine.IO v3
// and v4, and carry Socket.IO protocol 4 (socket.io 2.x) and 5 (3.x, 4.x)
// as the test writes it. Client, on top of WS, is a small Socket.IO v5
// client for tests that want events rather than bytes: it joins a
// namespace, emits with an ack, waits for events, answers acks, and turns
// binary attachments into []byte.
//
// Every read and every wait is bounded by Options.Timeout (DefaultTimeout
// unless set). The methods that take no error return fail the test, with
// what was received; the ones that return an error (DialWS, ReadMessage,
// NextMessage, Write, Request) may be called from any goroutine.
//
// The framing (polling payloads, Socket.IO packets, the open packet) is
// internal/wire's.
package siotest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/wire"
)

// DefaultTimeout bounds every read and wait when Options.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// Options tune a client. The zero value is the default.
type Options struct {
	// Timeout bounds every read, write, HTTP exchange and wait.
	Timeout time.Duration
	// PongDelay is how long a client waits before it answers an
	// Engine.IO v4 ping: a simulated network round trip.
	PongDelay time.Duration
	// NetDial, if set, opens the TCP connections of WebSockets.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// EncodePayload frames packets as one polling payload of protocol eio
// (v3 lengths in UTF-16 code units).
func EncodePayload(eio int, packets ...string) string {
	bs := make([][]byte, len(packets))
	for i, p := range packets {
		bs[i] = []byte(p)
	}
	return string(wire.EncodePayload(eio, bs...))
}

// SplitPayload splits a polling payload of protocol eio into its packets,
// failing t unless payload is exactly a non-empty sequence of non-empty
// packets in that framing (so a v3 length that does not fall on a
// character boundary fails too).
func SplitPayload(t testing.TB, eio int, payload string) []string {
	t.Helper()
	var out []string
	err := wire.SplitPayload(eio, []byte(payload), func(pkt []byte) error {
		out = append(out, string(pkt))
		return nil
	})
	if err != nil || len(out) == 0 || EncodePayload(eio, out...) != payload {
		t.Fatalf("malformed v%d payload %q (%v)", eio, Clip(payload), err)
	}
	return out
}

// ParseOpen checks an Engine.IO open packet ("0{...}" with a sid, a
// pingInterval and a pingTimeout) and returns its data.
func ParseOpen(t testing.TB, packet string) wire.Handshake {
	t.Helper()
	h, err := wire.ParseOpen([]byte(packet))
	if err != nil {
		t.Fatalf("open packet %q: %v", Clip(packet), err)
	}
	return h
}

// ParseSID checks a Socket.IO CONNECT answer, exactly prefix followed by
// {"sid":"<id>"} with an id of 20 characters (as Node's), and returns the
// id. prefix is "40" for the main namespace, "40/nsp," for another.
func ParseSID(t testing.TB, packet, prefix string) string {
	t.Helper()
	data, ok := strings.CutPrefix(packet, prefix)
	if !ok {
		t.Fatalf("got %q, want a CONNECT packet starting with %q", Clip(packet), prefix)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("CONNECT packet %q: %v", Clip(packet), err)
	}
	sid, ok := m["sid"].(string)
	if len(m) != 1 || !ok || len(sid) != 20 {
		t.Fatalf("CONNECT packet %q: want exactly a sid of 20 characters", Clip(packet))
	}
	return sid
}

// ExpectError asserts an Engine.IO error answer: the status, and exactly
// {"code":<code>,"message":"<message>"} as application/json.
func ExpectError(t testing.TB, r Response, status, code int, message string) {
	t.Helper()
	want := `{"code":` + strconv.Itoa(code) + `,"message":"` + message + `"}`
	if r.Status != status || r.Body != want {
		t.Fatalf("got HTTP %d %q, want HTTP %d %q", r.Status, Clip(r.Body), status, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// Clip shortens s for a failure message.
func Clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:100] + "[... " + strconv.Itoa(len(s)-200) + " bytes ...]" + s[len(s)-100:]
}

// wsURL turns an http(s) URL into the ws(s) one.
func wsURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "http"); ok {
		return "ws" + rest
	}
	return u
}
