package realtime_test

// Interoperability of the project's Engine.IO server
// (realtime/internal/engineio) with the real engine.io-client packages:
// 3.5.6 (protocol v3, inside socket.io-client 2.5), 4.1.4 and 6.6.8
// (protocol v4, inside socket.io-client 3.1 and 4.8), over WebSocket only,
// polling only and the default (polling, then the upgrade), and for 3.5.6
// also JSONP polling and polling with forceBase64.
//
// The server is an echo server like realtime.EngineEcho (same options, same
// echo), built here on the engineio package so the test also sees what the
// server received and when each session closed, which EngineEcho does not
// report. test/engineio/matrix.js drives the clients and prints one JSON
// line per client x mode x check; each becomes a subtest here
// ("6.6.8/upgrade/binary") that also cross-checks the server's side.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// The server's configuration, which the script is told.
const (
	enginePingInterval = 300 * time.Millisecond
	enginePingTimeout  = 200 * time.Millisecond
	engineMaxPayload   = 1e6
	// engineMatrixTimeout bounds the script (its own watchdog is at 100 s;
	// it takes about 20 s).
	engineMatrixTimeout = 120 * time.Second
)

type engineClient struct {
	version  string
	protocol int
	dir      string // from the repository root
	modes    []string
}

var engineClients = []engineClient{
	{"3.5.6", 3, "node_modules/engine.io-client", []string{"websocket", "polling", "upgrade", "websocket-base64", "polling-jsonp", "polling-base64"}},
	{"4.1.4", 4, "node_modules/sio-client-3/node_modules/engine.io-client", []string{"websocket", "polling", "upgrade", "websocket-base64"}},
	{"6.6.8", 4, "node_modules/sio-client-4/node_modules/engine.io-client", []string{"websocket", "polling", "upgrade", "websocket-base64"}},
}

// engineModes are the modes matrix.js runs for c.
func engineModes(c engineClient) []string { return c.modes }

// engineChecks are the checks of a mode, as matrix.js runs them.
func engineChecks(mode string) []string {
	base := []string{"open", "text", "binary", "many", "mixed", "large", "heartbeat", "close"}
	if mode == "upgrade" {
		return append([]string{"open", "upgrade-burst", "upgrade"}, base[1:]...)
	}
	return base
}

// --- what the server observed ----------------------------------------------

type engineMessage struct {
	data      []byte
	binary    bool
	transport string // the session's, when the message arrived
}

type engineSession struct {
	protocol       int
	openTransport  string
	messages       []engineMessage
	closed         bool
	reason         string
	closeErr       error
	closeTransport string
}

// engineObservations records every session by sid. It uses observations
// (clients_test.go) for its lock and change notification: the mutex guards
// sessions too, and update and wait work on it as they do there.
type engineObservations struct {
	*observations
	sessions map[string]*engineSession
}

// session returns a copy of what was recorded for sid.
func (o *engineObservations) session(sid string) (engineSession, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.sessions[sid]
	if !ok {
		return engineSession{}, false
	}
	c := *s
	c.messages = slices.Clone(s.messages)
	return c, true
}

// closedSession waits for the session sid to close.
func (o *engineObservations) closedSession(sid string, timeout time.Duration) (engineSession, bool) {
	ok := o.wait(timeout, func() bool {
		s, found := o.sessions[sid]
		return found && s.closed
	})
	s, _ := o.session(sid)
	return s, ok
}

// engineRecorder echoes every message, as EngineEcho's handler does, after
// recording it (so the server has recorded a message before its sender can
// see the echo).
type engineRecorder struct{ obs *engineObservations }

func (h engineRecorder) OnMessage(s *engineio.Session, data []byte, binary bool) {
	transport := s.Transport()
	h.obs.update(func() {
		if r := h.obs.sessions[s.ID()]; r != nil {
			r.messages = append(r.messages, engineMessage{data: data, binary: binary, transport: transport})
		}
	})
	if binary {
		s.Send(engineio.NewBinaryMessage(data))
		return
	}
	s.Send(engineio.NewMessage(data))
}

func (h engineRecorder) OnClose(s *engineio.Session, reason engineio.Reason, err error) {
	transport := s.Transport()
	h.obs.update(func() {
		if r := h.obs.sessions[s.ID()]; r != nil {
			r.closed, r.reason, r.closeErr, r.closeTransport = true, reason.String(), err, transport
		}
	})
}

// startEngineServer serves the echo server at /engine.io/ on 127.0.0.1.
func startEngineServer(t *testing.T) (string, *engineObservations) {
	t.Helper()
	obs := &engineObservations{observations: newObservations(), sessions: map[string]*engineSession{}}
	srv := engineio.NewServer(engineio.Options{
		PingInterval:   enginePingInterval,
		PingTimeout:    enginePingTimeout,
		MaxPayload:     engineMaxPayload,
		AllowedOrigins: []string{"*"},
		AllowEIO3:      true,
		OnConnection: func(s *engineio.Session, _ *http.Request) {
			rec := &engineSession{protocol: s.Protocol(), openTransport: s.Transport()}
			obs.update(func() { obs.sessions[s.ID()] = rec })
			s.SetHandler(engineRecorder{obs})
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	// On 127.0.0.1 and nowhere else (httptest would fall back to [::1]).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(mux)
	_ = hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() {
		// WebSocket connections are hijacked: the engine closes them.
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("engine server Close: %v", err)
		}
		hs.CloseClientConnections()
		hs.Close()
	})
	return hs.URL, obs
}

// --- the script ------------------------------------------------------------

// engineLine is one JSON line printed by test/engineio/matrix.js.
type engineLine struct {
	Type    string         `json:"type"` // result, clients, fatal
	Client  string         `json:"client"`
	Mode    string         `json:"mode"`
	Check   string         `json:"check"`
	Pass    bool           `json:"pass"`
	Details string         `json:"details"`
	MS      int            `json:"ms"`
	Data    engineLineData `json:"data"`
	Clients []struct {
		Version  string `json:"version"`
		Protocol int    `json:"protocol"`
		Dir      string `json:"dir"`
	} `json:"clients"`
}

type engineLineData struct {
	SID       string `json:"sid"`
	Transport string `json:"transport"`
	Text      string `json:"text"`
	Binary    []byte `json:"binary"` // base64 in JSON
	Count     int    `json:"count"`
	Prefix    string `json:"prefix"`
	Split     int    `json:"split"`
	Sequence  []struct {
		Text   *string `json:"text"`
		Binary []byte  `json:"binary"`
	} `json:"sequence"`
	LargeTextBytes    int    `json:"largeTextBytes"`
	LargeTextSHA256   string `json:"largeTextSha256"`
	LargeBinaryBytes  int    `json:"largeBinaryBytes"`
	LargeBinarySHA256 string `json:"largeBinarySha256"`
}

// requireEngineClients skips (fails under CI=true) unless Node and the
// three engine.io-client packages are there.
func requireEngineClients(t *testing.T) {
	t.Helper()
	root, _ := requireClients(t)
	var missing []string
	for _, c := range engineClients {
		if _, err := os.Stat(filepath.Join(root, c.dir, "package.json")); err != nil {
			missing = append(missing, c.dir+" is missing (run npm ci in "+root+")")
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "real Engine.IO client tests need the npm clients: "+strings.Join(missing, "; "))
	}
}

// TestEngineIOClients is not parallel, and matrix.js runs one client and
// mode at a time: with the heartbeat timed in 100s of ms, clients that share
// the CPU with other clients (their own Node processes, under -race) time
// out now and then for no fault of the server's.
func TestEngineIOClients(t *testing.T) {
	requireEngineClients(t)
	url, obs := startEngineServer(t)
	stalls := watchStalls()
	defer func() {
		t.Logf("the server's process was stalled up to %v at a time (timed checks failing after long stalls may be the machine's doing)", stalls())
	}()

	got := map[string]engineLine{}
	var order []string
	loaded := map[string]int{} // engine.io-client version -> protocol
	args := []string{
		url,
		fmt.Sprintf("--ping-interval=%d", enginePingInterval.Milliseconds()),
		fmt.Sprintf("--ping-timeout=%d", enginePingTimeout.Milliseconds()),
		fmt.Sprintf("--max-payload=%d", int64(engineMaxPayload)),
	}
	stderr := runNodeScript(t, engineMatrixTimeout, filepath.Join("test", "engineio", "matrix.js"), args, func(b []byte) {
		var l engineLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Errorf("script printed a line that is not JSON: %q", b)
			return
		}
		switch l.Type {
		case "fatal":
			t.Errorf("script: %s", l.Details)
		case "clients":
			for _, c := range l.Clients {
				t.Logf("engine.io-client %s (protocol v%d) from %s", c.Version, c.Protocol, c.Dir)
				loaded[c.Version] = c.Protocol
			}
		case "result":
			k := key(l.Client, l.Mode, l.Check)
			if _, dup := got[k]; dup {
				t.Errorf("script printed %s twice", k)
			}
			got[k] = l
			order = append(order, k)
		}
	})
	if strings.TrimSpace(stderr) != "" {
		t.Logf("script stderr:\n%s", stderr)
	}
	for _, c := range engineClients {
		if p, ok := loaded[c.version]; !ok || p != c.protocol {
			t.Errorf("the script did not load engine.io-client %s (protocol v%d) from %s; it loaded %v (version: protocol); has package-lock.json changed?",
				c.version, c.protocol, c.dir, loaded)
		}
	}

	expected := map[string]bool{}
	for _, c := range engineClients {
		for _, mode := range engineModes(c) {
			for _, check := range engineChecks(mode) {
				k := key(c.version, mode, check)
				expected[k] = true
				t.Run(k, func(t *testing.T) {
					l, ok := got[k]
					if !ok {
						t.Fatalf("the script printed no result for %s", k)
					}
					if !l.Pass {
						t.Errorf("client side: %s", l.Details)
						if s, ok := obs.session(l.Data.SID); ok {
							t.Logf("server side of session %s: protocol %d, opened on %s, %d messages received, closed %v (reason %q, error %v, on %s)",
								l.Data.SID, s.protocol, s.openTransport, len(s.messages), s.closed, s.reason, s.closeErr, s.closeTransport)
						}
						return
					}
					t.Logf("client side: %s (%d ms)", l.Details, l.MS)
					checkEngineServerSide(t, obs, c, mode, check, l.Data)
				})
			}
		}
	}
	for _, k := range order {
		if !expected[k] {
			t.Errorf("the script printed a result nobody expects: %s", k)
		}
	}
}

// watchStalls measures, until the function it returns is called, how late
// a 10 ms ticker in this process runs at worst: how long the server could
// not run. It returns the worst delay.
func watchStalls() func() time.Duration {
	const tick = 10 * time.Millisecond
	stop := make(chan struct{})
	done := make(chan time.Duration)
	go func() {
		var worst time.Duration
		tk := time.NewTicker(tick)
		defer tk.Stop()
		last := time.Now()
		for {
			select {
			case <-tk.C:
				now := time.Now()
				worst = max(worst, now.Sub(last)-tick)
				last = now
			case <-stop:
				done <- worst
				return
			}
		}
	}()
	return func() time.Duration {
		close(stop)
		return (<-done).Round(time.Millisecond)
	}
}

// checkEngineServerSide checks that the server saw what the client did.
func checkEngineServerSide(t *testing.T, obs *engineObservations, c engineClient, mode, check string, d engineLineData) {
	t.Helper()
	if d.SID == "" {
		t.Fatal("the script reported no session id")
	}
	if check == "close" {
		s, ok := obs.closedSession(d.SID, stepTimeout)
		switch {
		case !ok:
			t.Errorf("the server did not close session %s within %v of the client closing it", d.SID, stepTimeout)
		case s.reason != "transport close":
			t.Errorf("the server closed session %s with reason %q (error %v), want \"transport close\"", d.SID, s.reason, s.closeErr)
		default:
			t.Logf("server: session closed on %s, reason %q", s.closeTransport, s.reason)
		}
		return
	}
	s, ok := obs.session(d.SID)
	if !ok {
		t.Fatalf("the server has no session %s", d.SID)
	}
	// Where messages must have arrived: polling modes stay on polling; the
	// default mode's checks after the upgrade are on the WebSocket.
	want := "polling"
	if strings.HasPrefix(mode, "websocket") || mode == "upgrade" {
		want = "websocket"
	}
	find := func(f func(engineMessage) bool) (engineMessage, bool) {
		i := slices.IndexFunc(s.messages, f)
		if i < 0 {
			return engineMessage{}, false
		}
		return s.messages[i], true
	}
	text := func(what, str string) {
		t.Helper()
		m, ok := find(func(m engineMessage) bool { return !m.binary && string(m.data) == str })
		if !ok {
			t.Errorf("the server received no text message equal to the %s %q", what, str)
			return
		}
		if m.transport != want {
			t.Errorf("the server received the %s over %s, want %s", what, m.transport, want)
		}
	}
	switch check {
	case "open":
		wantOpen := "polling"
		if strings.HasPrefix(mode, "websocket") {
			wantOpen = "websocket"
		}
		if s.protocol != c.protocol || s.openTransport != wantOpen {
			t.Errorf("the server opened session %s with protocol %d over %s, want protocol %d over %s",
				d.SID, s.protocol, s.openTransport, c.protocol, wantOpen)
		}
	case "upgrade":
		text("message sent after the upgrade", d.Text)
	case "text":
		text("text", d.Text)
	case "heartbeat":
		text("message sent after the heartbeats", d.Text)
	case "binary":
		m, ok := find(func(m engineMessage) bool { return bytes.Equal(m.data, d.Binary) })
		switch {
		case !ok:
			t.Errorf("the server received no message with the bytes %x", d.Binary)
		case !m.binary:
			t.Errorf("the server received the bytes %x as a text message", d.Binary)
		case m.transport != want:
			t.Errorf("the server received the bytes over %s, want %s", m.transport, want)
		}
	case "many", "upgrade-burst":
		// Messages are "<prefix><i>", maybe followed by a space and more. The
		// burst starts on polling; the client sends its messages from Split
		// on after the upgrade (see matrix.js), and the server must see the
		// switch once, in order.
		n := 0
		upgraded := false
		byTransport := map[string]int{}
		for _, m := range s.messages {
			if m.binary || !bytes.HasPrefix(m.data, []byte(d.Prefix)) {
				continue
			}
			byTransport[m.transport]++
			if name, _, _ := bytes.Cut(m.data, []byte(" ")); string(name) != d.Prefix+strconv.Itoa(n) {
				t.Errorf("the server received message %d as %q: out of order", n, m.data)
				return
			}
			switch {
			case check == "upgrade-burst" && n < d.Split && m.transport == "websocket":
				upgraded = true // the client may have held some of them for the upgrade
			case check == "upgrade-burst" && n < d.Split && upgraded:
				t.Errorf("the server received message %d (%q) over %s after earlier ones over websocket", n, m.data, m.transport)
				return
			case check == "upgrade-burst" && n < d.Split:
			case m.transport != want:
				t.Errorf("the server received message %d (%q) over %s, want %s", n, m.data, m.transport, want)
				return
			}
			n++
		}
		if n != d.Count {
			t.Errorf("the server received %d messages starting %q, want %d", n, d.Prefix, d.Count)
		}
		t.Logf("server: received them in order, over %v", byTransport)
	case "mixed":
		// The sequence arrived in order, each message with its type.
		if len(d.Sequence) == 0 {
			t.Fatal("the script reported no sequence")
		}
		same := func(m engineMessage, i int) bool {
			e := d.Sequence[i]
			if e.Text != nil {
				return !m.binary && string(m.data) == *e.Text
			}
			return m.binary && bytes.Equal(m.data, e.Binary)
		}
		start := slices.IndexFunc(s.messages, func(m engineMessage) bool { return same(m, 0) })
		if start < 0 {
			t.Fatal("the server did not receive the first message of the sequence")
		}
		for i := range d.Sequence {
			j := start + i
			switch {
			case j >= len(s.messages):
				t.Errorf("the server received only %d of the %d messages", i, len(d.Sequence))
			case !same(s.messages[j], i):
				t.Errorf("the server received message %d of the sequence as %q (binary %v)", i, s.messages[j].data, s.messages[j].binary)
			case s.messages[j].transport != want:
				t.Errorf("the server received message %d of the sequence over %s, want %s", i, s.messages[j].transport, want)
			default:
				continue
			}
			break
		}
	case "large":
		for _, want := range []struct {
			binary bool
			n      int
			sum    string
		}{{false, d.LargeTextBytes, d.LargeTextSHA256}, {true, d.LargeBinaryBytes, d.LargeBinarySHA256}} {
			_, ok := find(func(m engineMessage) bool {
				if m.binary != want.binary || len(m.data) != want.n {
					return false
				}
				sum := sha256.Sum256(m.data)
				return hex.EncodeToString(sum[:]) == want.sum
			})
			if !ok {
				t.Errorf("the server received no %s message of %d bytes with SHA-256 %s", map[bool]string{false: "text", true: "binary"}[want.binary], want.n, want.sum)
			}
		}
	}
}
