//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The integration tests run every scenario against the real server binary,
// built once by TestMain (or taken from $CHAT_BIN) and started on a free loopback port with a short
// heartbeat (so that v4 server pings and v3 client pings happen during the
// runs).
var (
	serverURL  string // http://127.0.0.1:PORT, "" when unavailable
	serverSkip string // why the integration tests are skipped
	serverErr  string // why they fail
	serverLog  = &tailBuffer{max: 64 << 10}
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "sioload-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		stop := startServer(dir)
		defer stop()
		return m.Run()
	}())
}

// startServer builds and starts the chat server, recording in serverSkip or
// serverErr why it could not.
func startServer(dir string) (stop func()) {
	stop = func() {}
	bin := os.Getenv("CHAT_BIN") // a prebuilt server, as for the Node tests
	if bin == "" {
		goTool, err := exec.LookPath("go")
		if err != nil {
			serverSkip = "the go tool is not available to build the chat server: " + err.Error()
			return
		}
		bin = filepath.Join(dir, "chatserver")
		build := exec.Command(goTool, "build", "-o", bin, "github.com/socketio-go/chatserver")
		if out, err := build.CombinedOutput(); err != nil {
			serverErr = fmt.Sprintf("building the chat server: %v\n%s", err, out)
			return
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		serverErr = err.Error()
		return
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(bin, "--addr", addr, "--data", filepath.Join(dir, "data"),
		"--ping-interval", "1s", "--ping-timeout", "5s")
	cmd.Stdout, cmd.Stderr = serverLog, serverLog
	if err := cmd.Start(); err != nil {
		serverErr = err.Error()
		return
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	client := http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			serverErr = "the chat server exited at start:\n" + serverLog.String()
			return stop
		default:
		}
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				serverURL = "http://" + addr
				return stop
			}
		}
	}
	serverErr = "the chat server did not become ready within 30s:\n" + serverLog.String()
	return stop
}

func needServer(t *testing.T) string {
	t.Helper()
	if serverSkip != "" {
		t.Skip(serverSkip)
	}
	if serverErr != "" {
		t.Fatal(serverErr)
	}
	return serverURL
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// testLog sends a run's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testConfig(url, scenario, transport string, eio, n int) Config {
	return Config{
		URL: url, Path: "/socket.io/", Scenario: scenario, N: n,
		Duration: 2 * time.Second, EIO: eio, Transport: transport,
		Ramp: 0, Timeout: 20 * time.Second, Sources: 1,
		PongDelay: 20 * time.Millisecond, Progress: 0,
		// Events go out the instant the namespace CONNECT arrives, as
		// socket.io-client sends them.
		ConnectDelay: 0,
	}
}

func runScenario[T any](t *testing.T, cfg Config) T {
	t.Helper()
	res, err := Run(cfg, testLog{t})
	if err != nil {
		t.Fatalf("%s: %v", cfg.Scenario, err)
	}
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", line)
	r, ok := res.(T)
	if !ok {
		t.Fatalf("result is %T", res)
	}
	return r
}

// TestScenarios runs each scenario briefly with 20 connections for every
// transport and protocol version.
func TestScenarios(t *testing.T) {
	url := needServer(t)
	for _, transport := range []string{"websocket", "polling"} {
		for _, eio := range []int{4, 3} {
			t.Run(fmt.Sprintf("%s/EIO%d", transport, eio), func(t *testing.T) {
				t.Parallel()
				const n = 20

				// idle: the hold (2s) spans several 1s heartbeats.
				idle := runScenario[*IdleResult](t, testConfig(url, "idle", transport, eio, n))
				if !idle.OK || idle.Connected != n || idle.StillUp != n || idle.Dropped != 0 {
					t.Errorf("idle: connected %d, still_up %d, dropped %d, errors %v; want all %d up",
						idle.Connected, idle.StillUp, idle.Dropped, idle.Errors, n)
				}

				cfg := testConfig(url, "fanout", transport, eio, n)
				cfg.Rate = 8 // two senders at 4/s each
				fan := runScenario[*FanoutResult](t, cfg)
				if fan.Senders != 2 || fan.Sent == 0 || fan.Sent != fan.Attempted || fan.Rejected != 0 {
					t.Errorf("fanout: %d senders, attempted %d, sent %d, rejected %d (errors %v)",
						fan.Senders, fan.Attempted, fan.Sent, fan.Rejected, fan.Errors)
				}
				if fan.Expected != fan.Sent*n || fan.Delivered != fan.Expected {
					t.Errorf("fanout: delivered %d, expected %d (sent %d x %d)", fan.Delivered, fan.Expected, fan.Sent, n)
				}
				if fan.Latency.Count != uint64(fan.Delivered) || fan.Latency.P50 <= 0 || fan.Latency.Max < fan.Latency.P99 {
					t.Errorf("fanout latency %+v", fan.Latency)
				}

				cfg = testConfig(url, "echo", transport, eio, 5)
				cfg.Duration = time.Second
				echo := runScenario[*EchoResult](t, cfg)
				if echo.Acks <= 0 || echo.Latency.Count != uint64(echo.Acks) || echo.ClientsDown != 0 {
					t.Errorf("echo: acks %d, rtt %+v, down %d, errors %v", echo.Acks, echo.Latency, echo.ClientsDown, echo.Errors)
				}

				cfg = testConfig(url, "cursors", transport, eio, 5)
				cfg.Rate = 20
				cfg.Duration = time.Second
				cur := runScenario[*CursorsResult](t, cfg)
				// Relays are volatile: the server drops them while a
				// transport is busy, so only some must arrive.
				if cur.Sent == 0 || cur.Received == 0 || cur.ExpectedRelays != cur.Sent*4 || cur.Received > cur.ExpectedRelays {
					t.Errorf("cursors: sent %d, expected %d, received %d", cur.Sent, cur.ExpectedRelays, cur.Received)
				}
			})
		}
	}
}

// TestChurn: connections come and go at a steady rate, every one through
// register, join and rtt, and none is left open.
func TestChurn(t *testing.T) {
	url := needServer(t)
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(url, "churn", transport, 4, 10)
			cfg.Rate = 40 // each open 250 ms
			cfg.Duration = time.Second
			res := runScenario[*ChurnResult](t, cfg)
			if res.Started < 30 || res.Completed != res.Started || res.Failed != 0 || res.NotStarted != 0 || res.OpenAtClose != 0 {
				t.Errorf("churn: started %d, completed %d, failed %d, not started %d, open at close %d (errors %v)",
					res.Started, res.Completed, res.Failed, res.NotStarted, res.OpenAtClose, res.Errors)
			}
			if res.Setup.Count != uint64(res.Started) || res.MaxOpen < 2 || res.MaxOpen > 30 {
				t.Errorf("churn: setup %+v, max open %d", res.Setup, res.MaxOpen)
			}
		})
	}
}

// TestChurnChatVanish: churning users post to their rooms and half of them
// vanish without a goodbye (a reset WebSocket, an abandoned polling
// session); every one still completes, and the messages are delivered.
func TestChurnChatVanish(t *testing.T) {
	url := needServer(t)
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(url, "churn", transport, 4, 20)
			cfg.Rate = 20 // each open 1 s, posting at 333 and 667 ms
			cfg.Duration = time.Second
			cfg.Chat = 2
			cfg.Vanish = 0.5
			res := runScenario[*ChurnResult](t, cfg)
			if res.Started < 15 || res.Completed != res.Started || res.Failed != 0 || res.OpenAtClose != 0 {
				t.Errorf("churn: started %d, completed %d, failed %d, open at close %d (errors %v)",
					res.Started, res.Completed, res.Failed, res.OpenAtClose, res.Errors)
			}
			if res.Vanished != res.Started/2 || res.Left != res.Started-res.Vanished {
				t.Errorf("churn: %d started, %d vanished, %d left; want half vanished", res.Started, res.Vanished, res.Left)
			}
			if res.ChatSent != 2*res.Started || res.ChatAcked != res.ChatSent || res.ChatRejected != 0 {
				t.Errorf("churn: messages sent %d, acked %d, rejected %d (errors %v)", res.ChatSent, res.ChatAcked, res.ChatRejected, res.Errors)
			}
			if res.ChatReceived == 0 {
				t.Errorf("churn: no room message received")
			}
		})
	}
}

func TestChurnVanishes(t *testing.T) {
	for _, f := range []float64{0, 0.25, 0.5, 1} {
		n := 0
		for i := range 1000 {
			if churnVanishes(i, f) {
				n++
			}
		}
		if n != int(1000*f) {
			t.Errorf("vanish %v: %d of 1000", f, n)
		}
	}
}

// TestSources spreads connections over two source addresses.
func TestSources(t *testing.T) {
	url := needServer(t)
	cfg := testConfig(url, "idle", "websocket", 4, 10)
	cfg.Sources = 2
	cfg.Duration = 200 * time.Millisecond
	res := runScenario[*IdleResult](t, cfg)
	if res.StillUp != 10 {
		t.Fatalf("still_up %d, errors %v", res.StillUp, res.Errors)
	}
}

// TestCommandLine runs the command's entry point: one JSON line on stdout.
func TestCommandLine(t *testing.T) {
	url := needServer(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-url", url, "-scenario", "echo", "-n", "2", "-duration", "300ms", "-progress", "100ms", "-connect-delay", "50ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout has %d lines: %q", len(lines), stdout.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("stdout %q: %v", lines[0], err)
	}
	if m["scenario"] != "echo" || m["acks"].(float64) <= 0 {
		t.Fatalf("result %v", m)
	}
	if _, ok := m["rtt_ms"].(map[string]any)["p99"]; !ok {
		t.Fatalf("no rtt_ms.p99 in %v", m)
	}
	if !strings.Contains(stderr.String(), "sioload: echo") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
}

// TestSetupFailure: nothing listens on the port, so setup fails within
// -timeout: exit status 1, a clear message, and idle still reports.
func TestSetupFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-url", "http://" + addr, "-scenario", "idle", "-n", "3", "-timeout", "2s", "-progress", "0"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "setup failed: 0 of 3 connections ready") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var res IdleResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Connected != 0 || res.ConnectErrors != 3 || res.OK {
		t.Fatalf("stdout %q (%v)", stdout.String(), err)
	}
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"-url", "http://" + addr, "-scenario", "fanout", "-n", "3", "-timeout", "1s", "-progress", "0"}, &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "setup failed") {
		t.Fatalf("fanout: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "nope"},
		{"-eio", "2"},
		{"-transport", "webtransport"},
		{"-n", "-1"},
		{"-n", "1", "-scenario", "cursors"},
		{"-duration", "0s"},
		{"-room", "Bad Room"},
		{"-url", "http://192.168.1.10:8080"},
		{"-url", "http://example.com"},
		{"-url", "https://127.0.0.1"},
		{"-sources", "300"},
		{"-connect-delay", "-1s"},
		{"-engine", "-scenario", "fanout"},
		{"-engine", "-scenario", "echo"},
		{"-chat", "1"},
		{"-scenario", "echo", "-vanish", "0.5"},
		{"-scenario", "churn", "-vanish", "1.5"},
		{"-scenario", "churn", "-chat", "-1"},
		{"-scenario", "churn", "-chat", "10"}, // 11 in 1 s: over 5/s
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "-scenario") {
		t.Errorf("-h: exit %d, %q", code, stderr.String())
	}
}

func TestParseTarget(t *testing.T) {
	ok := map[string]string{
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080/socket.io/",
		"http://localhost:9000/":       "http://127.0.0.1:9000/socket.io/",
		"ws://127.3.4.5:1":             "http://127.3.4.5:1/socket.io/",
		"http://[::1]:8080":            "http://[::1]:8080/socket.io/",
		"http://[::ffff:127.0.0.1]:80": "http://127.0.0.1:80/socket.io/",
		"http://127.0.0.1":             "http://127.0.0.1:80/socket.io/",
	}
	for in, want := range ok {
		u, err := parseTarget(in, "")
		if err != nil || u.String() != want {
			t.Errorf("parseTarget(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"http://10.0.0.1:80", "http://example.com", "http://0.0.0.0:80", "http://[::]:80",
		"http://[fe80::1%25lo]:80", "https://127.0.0.1", "ftp://127.0.0.1", "http://127.0.0.1:0", "http://127.0.0.1:99999", "::"} {
		if u, err := parseTarget(in, ""); err == nil {
			t.Errorf("parseTarget(%q) = %v, want an error", in, u)
		}
	}
	if _, err := parseTarget("http://8.8.8.8", ""); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("refusal does not say why: %v", err)
	}
	if u, _ := parseTarget("http://127.0.0.1:1", "custom"); u.Path != "/custom/" {
		t.Errorf("path %q", u.Path)
	}
	// The dialer itself refuses non-loopback destinations.
	d := &dialer{timeout: time.Second}
	for _, addr := range []string{"8.8.8.8:53", "example.com:80", "[2001:db8::1]:80"} {
		if _, err := d.DialContext(context.Background(), "tcp", addr); !errors.Is(err, errNotLoopback) {
			t.Errorf("dial %s: %v, want errNotLoopback", addr, err)
		}
	}
	if _, err := sourceAddrs(2, mustTarget(t, "http://[::1]:80")); err == nil {
		t.Error("-sources 2 accepted for an IPv6 target")
	}
	srcs, err := sourceAddrs(3, mustTarget(t, "http://127.0.0.1:8080"))
	if err != nil || len(srcs) != 3 || srcs[2].IP.String() != "127.0.0.3" {
		t.Errorf("sourceAddrs(3) = %v, %v", srcs, err)
	}
}

func mustTarget(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := parseTarget(s, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFracNanos(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "0.5": 500000000, "0.123456789": 123456789, "0.000000001": 1,
		"1.23e-07": 123, "1E-9": 1, "0.1234567891": 123456789, "5e-1": 500000000,
	} {
		if got, ok := fracNanos([]byte(in)); !ok || got != want {
			t.Errorf("fracNanos(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1", "1.5", "-0.5", "x", "0.5x", "1e", "\"0.5\""} {
		if _, ok := fracNanos([]byte(bad)); ok {
			t.Errorf("fracNanos(%q) succeeded", bad)
		}
	}
	if got := string(appendPadded9(nil, 1234)); got != "000001234" {
		t.Errorf("appendPadded9 = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = fracNanos([]byte("0.123456789")) }); n != 0 {
		t.Errorf("fracNanos allocates %v", n)
	}
}

func TestErrCount(t *testing.T) {
	var e errCount
	for i := 0; i < 40; i++ {
		e.add("connect", fmt.Errorf("kind %d", i))
	}
	e.add("connect", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")})
	m := e.Map()
	if len(m) != errKinds || e.Total() != 41 || m["other"] != 41-(errKinds-1) {
		t.Fatalf("%d kinds, total %d: %v", len(m), e.Total(), m)
	}
	if k := errKind(&net.OpError{Op: "dial", Err: errors.New("connect: connection refused")}); k != "dial: connect: connection refused" {
		t.Errorf("errKind = %q", k)
	}
}

// TestHotPathAllocs: handling a received message, relay or ack does not
// allocate.
func TestHotPathAllocs(t *testing.T) {
	f := &fanoutState{nrecv: 1, delivered: make([]atomic.Int64, 1)}
	c := &Conn{cc: &connConfig{nsp: "/chat", eio: 4}, h: f, connected: true, done: make(chan struct{})}
	msg := []byte(`42/chat,["message",{"id":7,"room":"r","from":{"id":"x","name":"u1-0"},"text":"t` +
		fmt.Sprint(time.Now().UnixNano()) + `","ts":1,"clientId":"c1"}]`)
	ack := []byte(`43/chat,9[{"ok":true,"message":{"id":7}}]`)
	if n := testing.AllocsPerRun(200, func() {
		if err := c.handle(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.handle(ack)
	}); n != 0 {
		t.Errorf("fanout receive path: %v allocations", n)
	}
	if f.delivered[0].Load() == 0 || f.hist.Count() == 0 || f.accepted.Load() == 0 {
		t.Fatalf("not counted: delivered %d, latencies %d, acks %d", f.delivered[0].Load(), f.hist.Count(), f.accepted.Load())
	}
	s := &cursorState{recv: make([]atomic.Int64, 1), sent: make([]atomic.Int64, 1)}
	c.h = s
	move := []byte(`42/chat,["mousemove",{"id":"x","name":"u1-0","room":"r","x":0.5,"y":0.123456789}]`)
	if n := testing.AllocsPerRun(200, func() { _ = c.handle(move) }); n != 0 {
		t.Errorf("cursor receive path: %v allocations", n)
	}
	if s.recv[0].Load() == 0 || s.hist.Count() == 0 {
		t.Fatal("relay not counted")
	}
}
