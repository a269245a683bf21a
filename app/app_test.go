package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/config"
	"github.com/socketio-go/chatserver/handlers"
)

// start serves a fresh app on a random loopback port; stop cancels it and
// returns Serve's result.
func start(t *testing.T, args ...string) (base string, a *App, stop func() error) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	args = append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--shutdown-timeout", "5s"}, args...)
	cfg, err := config.Parse(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10s of the cancel")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), a, stop
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestRoutes(t *testing.T) {
	base, _, _ := start(t)
	for _, tc := range []struct {
		path, contains, contentType string
		status                      int
	}{
		{"/healthz", `"ok"`, "application/json", 200},
		{"/readyz", `"ready"`, "application/json", 200},
		{"/", "<form", "text/html", 200},
		{"/rooms/lobby", "/socket.io/socket.io.min.js", "text/html", 200},
		{"/legacy/rooms/lobby", "/socket.io/socket.io.v2.js", "text/html", 200},
		{"/rooms/Not%20Valid", "room", "text/html", 400},
		{"/api/rooms", `{"rooms":[]}`, "application/json", 200},
		{"/api/rooms/lobby/messages?limit=x", `"bad_request"`, "application/json", 400},
		{"/static/css/app.css", "{", "text/css", 200},
		{"/socket.io/socket.io.min.js", "io", "application/javascript", 200},
		{"/socket.io/socket.io.v2.js", "io", "application/javascript", 200},
		{"/socket.io/?EIO=4&transport=polling", `"sid"`, "text/plain", 200},
		{"/socket.io/?EIO=9&transport=polling", `"Unsupported protocol version"`, "application/json", 400},
		{"/socket.io/?EIO=4&transport=carrier-pigeon", `"Transport unknown"`, "application/json", 400},
		{"/no/such/page", "404", "text/plain", 404},
		{"/metrics", "socketio_engine_sessions{", "text/plain", 200},
	} {
		status, h, body := get(t, base+tc.path)
		if status != tc.status || !strings.Contains(body, tc.contains) || !strings.HasPrefix(h.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s = %d %q %.80q; want %d %s containing %q", tc.path, status, h.Get("Content-Type"), body, tc.status, tc.contentType, tc.contains)
		}
		// Every response carries the security headers, errors included;
		// Socket.IO's only nosniff.
		if strings.HasPrefix(tc.path, "/socket.io/") {
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s: X-Content-Type-Options = %q", tc.path, got)
			}
			continue
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": handlers.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
	}
}

// The policy admits the shared player's YouTube embed and nothing more:
// scripts from this origin and YouTube's IFrame API only, frames from the
// YouTube player only, never inline code or eval.
func TestContentSecurityPolicy(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(handlers.ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if _, dup := directives[name]; dup {
			t.Fatalf("directive %s given twice", name)
		}
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self' https://www.youtube.com",
		"style-src":       "'self'",
		"frame-src":       "https://www.youtube-nocookie.com https://www.youtube.com",
		"media-src":       "'self' https: http:",
		"connect-src":     "'self'",
		"object-src":      "'none'",
		"frame-ancestors": "'none'",
	} {
		if got := directives[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if strings.Contains(handlers.ContentSecurityPolicy, "unsafe") {
		t.Errorf("policy allows unsafe sources: %s", handlers.ContentSecurityPolicy)
	}
}

// The room page hands the configured ICE servers to its script as data.
func TestRoomPageICEServers(t *testing.T) {
	base, _, _ := start(t)
	if _, _, body := get(t, base+"/rooms/lobby"); !strings.Contains(body, `data-ice-servers="[]"`) {
		t.Errorf("room page without --ice-servers lacks data-ice-servers=\"[]\"")
	}
	base, _, _ = start(t, "--ice-servers", `[{"urls":"turn:t.example.com","username":"u\"><script>","credential":"c"}]`)
	_, _, body := get(t, base+"/rooms/lobby")
	want := `data-ice-servers="[{&#34;urls&#34;:[&#34;turn:t.example.com&#34;],&#34;username&#34;:&#34;u\&#34;\u003e\u003cscript\u003e&#34;,&#34;credential&#34;:&#34;c&#34;}]"`
	if !strings.Contains(body, want) {
		i := strings.Index(body, "data-ice-servers")
		t.Errorf("room page's ICE servers attribute = %.200s, want %s", body[max(i, 0):], want)
	}
}

// A browser page of another origin may not open a session unless allowed.
func TestForeignOriginRefused(t *testing.T) {
	base, _, _ := start(t)
	req, _ := http.NewRequest(http.MethodGet, base+"/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "https://elsewhere.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "origin not allowed") {
		t.Fatalf("foreign origin: %d %s", res.StatusCode, b)
	}
	req.Header.Set("Origin", base)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("same origin: %d", res.StatusCode)
	}
}

func TestShutdownMarksNotReadyAndReturns(t *testing.T) {
	base, a, stop := start(t)
	if !a.Ready() {
		t.Fatal("not ready after start")
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
	if a.Ready() {
		t.Error("still ready after shutdown")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestStaticDirectoriesAreNotListed(t *testing.T) {
	base, _, _ := start(t)
	for _, path := range []string{"/static/", "/static/js/", "/static/vendor/"} {
		if st, _, body := get(t, base+path); st != http.StatusNotFound {
			t.Errorf("GET %s = %d %.80q, want 404", path, st, body)
		}
	}
	if st, _, _ := get(t, base+"/static/js/common.js"); st != http.StatusOK {
		t.Errorf("GET /static/js/common.js = %d, want 200", st)
	}
}

// expectClosed waits until the server closes c: a read ends with EOF (or a
// reset) before the deadline.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", within, b)
	}
}

// sendRaw opens a connection to the app and writes req on it.
func sendRaw(t *testing.T, base, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIdleKeptAliveConnectionIsClosed(t *testing.T) {
	base, _, _ := start(t, "--http-idle-timeout", "300ms")
	c := sendRaw(t, base, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("first request: %v %v", res, err)
	}
	// Kept alive, then nothing: closed after the idle timeout.
	expectClosed(t, c, 5*time.Second)
}

func TestSlowRequestBodyIsCut(t *testing.T) {
	base, _, _ := start(t, "--http-read-timeout", "500ms", "--ping-interval", "200ms")
	// A body announced and never sent: the request is cut at the read
	// timeout instead of holding its goroutine and descriptor.
	c := sendRaw(t, base, "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4")
	expectClosed(t, c, 5*time.Second)
}

// The connection limits are on by default and configured by flags; behind
// a trusted proxy the forwarded client address is what is counted.
func TestConnectionLimits(t *testing.T) {
	base, _, _ := start(t, "--max-sessions-per-address", "2", "--trusted-proxies", "127.0.0.0/8")
	handshake := func(client string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("X-Forwarded-For", client)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for i := range 2 {
		if st, body := handshake("203.0.113.1"); st != 200 {
			t.Fatalf("session %d: %d %s", i+1, st, body)
		}
	}
	if st, body := handshake("203.0.113.1"); st != 429 || !strings.Contains(body, "Too many sessions from this address") {
		t.Fatalf("third: %d %s", st, body)
	}
	if st, body := handshake("203.0.113.2"); st != 200 {
		t.Fatalf("another client: %d %s", st, body)
	}
}
