package engineio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func handshakeFrom(ts *testServer, remote string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	ts.ServeHTTP(w, r)
	return w
}

func TestSessionsPerAddressLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxSessionsPerAddr: 2})
	var first *Session
	for i := range 2 {
		if w := handshakeFrom(ts, "192.0.2.7:1000"); w.Code != 200 {
			t.Fatalf("session %d: %d %s", i+1, w.Code, w.Body)
		}
		s := ts.nextSession(t)
		if first == nil {
			first = s
		}
	}
	w := handshakeFrom(ts, "192.0.2.7:1001")
	if w.Code != http.StatusTooManyRequests || w.Body.String() != `{"code":4,"message":"Too many sessions from this address"}` ||
		w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("third session: %d %q %s", w.Code, w.Header(), w.Body)
	}
	// Another address is not affected; IPv4-mapped IPv6 is the same address.
	if w := handshakeFrom(ts, "192.0.2.8:1000"); w.Code != 200 {
		t.Fatalf("other address: %d %s", w.Code, w.Body)
	}
	ts.nextSession(t)
	if w := handshakeFrom(ts, "[::ffff:192.0.2.7]:1002"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("mapped address: %d %s", w.Code, w.Body)
	}
	if n := ts.SessionsFrom("192.0.2.7"); n != 2 {
		t.Fatalf("SessionsFrom = %d, want 2", n)
	}

	// A closed session gives its place back.
	first.Close()
	if st, body := poll(ts, "GET", "EIO=4&transport=polling&sid="+first.ID(), ""); st != 200 || body != "1" {
		t.Fatalf("poll after close: %d %q", st, body)
	}
	ts.rec.nextClose(t)
	if n := ts.SessionsFrom("192.0.2.7"); n != 1 {
		t.Fatalf("after a close SessionsFrom = %d, want 1", n)
	}
	if w := handshakeFrom(ts, "192.0.2.7:1003"); w.Code != 200 {
		t.Fatalf("after a close: %d %s", w.Code, w.Body)
	}
	ts.nextSession(t)
}

// A handshake that fails after it was counted (a WebSocket request that
// is not a valid upgrade) gives its count back.
func TestFailedHandshakeIsNotCounted(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxSessionsPerAddr: 1})
	for range 3 {
		r := wsRequest("EIO=4&transport=websocket")
		r.Header.Del("Sec-WebSocket-Key")
		w := httptest.NewRecorder() // not a Hijacker either: the upgrade fails
		ts.ServeHTTP(w, r)
		if w.Code < 400 {
			t.Fatalf("bad upgrade: %d %s", w.Code, w.Body)
		}
	}
	if n := ts.SessionsFrom("192.0.2.1"); n != 0 {
		t.Fatalf("SessionsFrom = %d after failed upgrades", n)
	}
	if w := handshakeFrom(ts, "192.0.2.1:1234"); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	ts.nextSession(t)
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{
		MaxSessionsPerAddr: 1,
		TrustedProxies:     []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"198.51.100.1:5", "203.0.113.9", "198.51.100.1"},                   // not a proxy: the header is the client's word
		{"10.1.1.1:5", "203.0.113.9", "203.0.113.9"},                        // a trusted proxy
		{"10.1.1.1:5", "203.0.113.7, 203.0.113.8, 10.2.2.2", "203.0.113.8"}, // nearest untrusted hop
		{"10.1.1.1:5", "", "10.1.1.1"},                                      // no header: the proxy itself
		{"10.1.1.1:5", "203.0.113.6, junk", "10.1.1.1"},                     // a malformed hop: nothing before it
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ts.clientAddr(r); got != tc.want {
			t.Errorf("%s X-Forwarded-For %q: client %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}

	// The limit counts the forwarded client, not the proxy.
	if w := handshakeFrom(ts, "10.1.1.1:5", "X-Forwarded-For", "203.0.113.9"); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	ts.nextSession(t)
	if w := handshakeFrom(ts, "10.1.1.1:6", "X-Forwarded-For", "203.0.113.10"); w.Code != 200 {
		t.Fatalf("another client through the proxy: %d %s", w.Code, w.Body)
	}
	ts.nextSession(t)
	if w := handshakeFrom(ts, "10.1.1.1:7", "X-Forwarded-For", "203.0.113.9"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("same client again: %d %s", w.Code, w.Body)
	}

	// A TLS-terminating proxy: the page's origin is https://chat.example,
	// which only a trusted proxy's X-Forwarded-Proto and -Host vouch for.
	for _, tc := range []struct {
		remote string
		want   int
	}{{"10.1.1.1:8", 200}, {"198.51.100.1:8", 403}} {
		r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
		r.RemoteAddr = tc.remote
		r.Host = "app1:8080"
		r.Header.Set("Origin", "https://chat.example")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "chat.example")
		r.Header.Set("X-Forwarded-For", "203.0.113.50")
		w := httptest.NewRecorder()
		ts.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("origin via %s: %d %s, want %d", tc.remote, w.Code, w.Body, tc.want)
		}
		if w.Code == 200 {
			ts.nextSession(t)
		}
	}
}

// A *Refusal from AllowRequest sets the status; any other error is 403.
func TestAllowRequestRefusals(t *testing.T) {
	t.Parallel()
	var refusal error
	ts := newTestServer(t, Options{AllowRequest: func(*http.Request) error { return refusal }})
	refusal = &Refusal{Status: 503, Message: "busy", RetryAfter: "2"}
	w := handshakeFrom(ts, "192.0.2.1:1")
	if w.Code != 503 || w.Body.String() != `{"code":4,"message":"busy"}` || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("refusal: %d %q %s", w.Code, w.Header(), w.Body)
	}
	refusal = errors.New("no")
	if w := handshakeFrom(ts, "192.0.2.1:1"); w.Code != 403 || w.Body.String() != `{"code":4,"message":"no"}` {
		t.Fatalf("error: %d %s", w.Code, w.Body)
	}
}
