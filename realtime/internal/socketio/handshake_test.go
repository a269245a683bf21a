package socketio

import (
	"maps"
	"net/http/httptest"
	"testing"
)

// The handshake keeps the headers as Node shows them: names lower-cased,
// repeated ones joined, the host added, Cookie and Authorization left out.
func TestHandshakeHeaders(t *testing.T) {
	r := httptest.NewRequest("GET", "http://chat.example:8080/socket.io/?EIO=4&transport=websocket", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Header.Set("User-Agent", "test/1.0")
	r.Header.Add("X-Forwarded-For", "198.51.100.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.2")
	r.Header.Set("Cookie", "io=secret")
	r.Header.Set("Authorization", "Bearer secret")
	r.Header.Set("X-Empty", "")
	hs := newHandshake(r)
	want := map[string]string{
		"user-agent":      "test/1.0",
		"x-forwarded-for": "198.51.100.1, 198.51.100.2",
		"x-empty":         "",
		"host":            "chat.example:8080",
	}
	if got := hs.Headers(); !maps.Equal(got, want) {
		t.Fatalf("Headers() = %v, want %v", got, want)
	}
	if hs.Address != "192.0.2.7" || hs.URL != "/socket.io/?EIO=4&transport=websocket" {
		t.Fatalf("address %q, url %q", hs.Address, hs.URL)
	}
}
