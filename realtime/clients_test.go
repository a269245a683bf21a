package realtime_test

// Interoperability with the real Socket.IO clients: every client generation
// (socket.io-client 2.x, 3.x and 4.x, from node_modules/sio-client-{2,3,4})
// over every transport mode (WebSocket only, polling only, and the default
// polling then upgrade) against this package's Server mounted on Gin.
//
// test/clients/matrix.js drives the clients and prints one JSON line per
// generation x mode x check; each becomes a subtest here ("v4/polling/ack"),
// which also cross-checks what the Go side observed (auth payloads, joins,
// binary sizes, disconnect reasons).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/realtime"
)

const (
	// stepTimeout bounds each server-side wait (the script has its own).
	stepTimeout = 5 * time.Second
	// matrixTimeout and shutdownTimeout bound a whole script run.
	matrixTimeout   = 60 * time.Second
	shutdownTimeout = 30 * time.Second
)

var (
	generations = []string{"v2", "v3", "v4"}
	modes       = []string{"websocket", "polling", "upgrade"}
	checks      = []string{"connect", "transport", "ack", "binary", "room", "disconnect"}
)

// --- what the server observed ----------------------------------------------

type connInfo struct {
	Namespace string
	Auth      map[string]any
	Protocol  int
	Transport string // at connection time
}

// observations records, per socket id, what the server saw.
type observations struct {
	watched
	conns   map[string]connInfo
	reasons map[string]string
	joined  map[string][]string
	binary  map[string]int
}

func newObservations() *observations {
	return &observations{
		conns:   map[string]connInfo{},
		reasons: map[string]string{},
		joined:  map[string][]string{},
		binary:  map[string]int{},
	}
}

// reason waits for the disconnect reason of socket id.
func (o *observations) reason(id string, timeout time.Duration) (string, bool) {
	var r string
	ok := o.wait(timeout, func() bool {
		var found bool
		r, found = o.reasons[id]
		return found
	})
	return r, ok
}

func (o *observations) conn(id string) (connInfo, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.conns[id]
	return c, ok
}

// --- the server under test -----------------------------------------------

// handle sets up ns for the events the script sends.
func handle(ns *realtime.Namespace, obs *observations) {
	ns.OnConnection(func(s *realtime.Socket) {
		id := s.ID()
		obs.update(func() {
			obs.conns[id] = connInfo{
				Namespace: s.Namespace(),
				Auth:      maps.Clone(s.Auth()),
				Protocol:  s.Protocol(),
				Transport: s.Transport(),
			}
		})
		s.OnDisconnect(func(reason string) {
			obs.update(func() { obs.reasons[id] = reason })
		})

		// whoami: what the server knows about this socket.
		s.On("whoami", func(_ []any, ack realtime.Ack) {
			if ack != nil {
				ack(map[string]any{
					"id":        s.ID(),
					"nsp":       s.Namespace(),
					"auth":      s.Auth(),
					"protocol":  s.Protocol(),
					"transport": s.Transport(),
				})
			}
		})

		// ack: {n, s}, extra -> {double: 2n, upper: S, args: len, id}, extra+"-ack"
		s.On("ack", func(args []any, ack realtime.Ack) {
			if ack == nil {
				return
			}
			if len(args) != 2 {
				ack(map[string]any{"error": fmt.Sprintf("want 2 arguments, got %d", len(args))})
				return
			}
			in, _ := args[0].(map[string]any)
			n, _ := in["n"].(float64)
			str, _ := in["s"].(string)
			extra, _ := args[1].(string)
			ack(map[string]any{
				"double": 2 * n,
				"upper":  strings.ToUpper(str),
				"args":   len(args),
				"id":     s.ID(),
			}, extra+"-ack")
		})

		// binary: bytes, {label} -> ack(reversed, len) and
		// emit("binary-back", {label, data: reversed}).
		s.On("binary", func(args []any, ack realtime.Ack) {
			var in []byte
			var label any
			if len(args) > 0 {
				in, _ = args[0].([]byte)
			}
			if len(args) > 1 {
				if m, ok := args[1].(map[string]any); ok {
					label = m["label"]
				}
			}
			obs.update(func() { obs.binary[id] = len(in) })
			rev := make([]byte, len(in))
			for i, b := range in {
				rev[len(in)-1-i] = b
			}
			s.Emit("binary-back", map[string]any{"label": label, "data": rev})
			if ack != nil {
				ack(rev, len(in))
			}
		})

		s.On("join", func(args []any, ack realtime.Ack) {
			room, _ := firstArg(args).(string)
			s.Join(room)
			obs.update(func() { obs.joined[room] = append(obs.joined[room], id) })
			if ack != nil {
				ack(s.InRoom(room))
			}
		})

		// shout: {room, text, markerTo} -> "shout" {text, from} to the room
		// (not the sender), then "marker" text to the sender and markerTo.
		s.On("shout", func(args []any, ack realtime.Ack) {
			m, _ := firstArg(args).(map[string]any)
			room, _ := m["room"].(string)
			text, _ := m["text"].(string)
			s.To(room).Emit("shout", map[string]any{"text": text, "from": s.ID()})
			s.Emit("marker", text)
			markerTo, _ := m["markerTo"].([]any)
			for _, to := range markerTo {
				if to, ok := to.(string); ok {
					ns.To(to).Emit("marker", text)
				}
			}
			if ack != nil {
				ack(true)
			}
		})

		// gone: id -> the disconnect reason the server recorded for id,
		// waiting for it if need be ("" after a timeout).
		s.On("gone", func(args []any, ack realtime.Ack) {
			other, _ := firstArg(args).(string)
			if ack == nil {
				return
			}
			go func() {
				r, _ := obs.reason(other, stepTimeout)
				ack(r)
			}()
		})
	})
}

func firstArg(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

type testServer struct {
	rt  *realtime.Server
	url string
	obs *observations
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	gin.SetMode(gin.TestMode)
	obs := newObservations()
	rt := realtime.NewServer(realtime.Options{AllowedOrigins: nil})
	handle(rt.Of("/"), obs)
	handle(rt.Of("/custom"), obs)
	r := gin.New()
	rt.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return &testServer{rt: rt, url: hs.URL, obs: obs}
}

// --- the script ------------------------------------------------------------

// line is one JSON line printed by test/clients/matrix.js.
type line struct {
	Type    string   `json:"type"` // result, ready, all-ready, fatal
	Gen     string   `json:"gen"`
	Mode    string   `json:"mode"`
	Check   string   `json:"check"`
	Pass    bool     `json:"pass"`
	Details string   `json:"details"`
	MS      int      `json:"ms"`
	Data    lineData `json:"data"`
}

type lineData struct {
	MainID          string   `json:"mainId"`
	CustomID        string   `json:"customId"`
	MainToken       string   `json:"mainToken"`
	CustomToken     string   `json:"customToken"`
	Transport       string   `json:"transport"`
	ServerTransport string   `json:"serverTransport"`
	BinaryLen       int      `json:"binaryLen"`
	Members         []string `json:"members"`
	Outsider        string   `json:"outsider"`
	Disconnected    []string `json:"disconnected"`
	// LastOnConnection are sockets that were the last on their connection
	// when they called disconnect(): the client sends the DISCONNECT packet
	// and closes the transport at once, and the server must still report
	// the DISCONNECT, as Node's does.
	LastOnConnection []string `json:"lastOnConnection"`
}

func key(gen, mode, check string) string { return gen + "/" + mode + "/" + check }

// requireClients returns the repository root and the node binary, or skips
// (fails under CI=true) when Node or the client packages are missing.
func requireClients(t *testing.T) (root, node string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node is not on PATH")
	}
	for _, p := range []string{"sio-client-2", "sio-client-3", "sio-client-4"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", p, "package.json")); err != nil {
			missing = append(missing, "node_modules/"+p+" is missing (run npm ci in "+root+")")
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "real Socket.IO client tests need Node and the npm clients: "+strings.Join(missing, "; "))
	}
	return root, node
}

// skipOrFail skips the test because something it needs is missing, or fails
// it under CI=true, where nothing may be missing.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
}

// runScript runs matrix.js against url, calling onLine for each JSON line as
// it arrives. It returns the lines and stderr once the script exits.
func runScript(t *testing.T, timeout time.Duration, url string, onLine func(line), args ...string) ([]line, string) {
	t.Helper()
	var lines []line
	stderr := runNodeScript(t, timeout, filepath.Join("test", "clients", "matrix.js"), append([]string{url}, args...), func(b []byte) {
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			t.Errorf("script printed a line that is not JSON: %q", b)
			return
		}
		if l.Type == "fatal" {
			t.Errorf("script: %s", l.Details)
		}
		lines = append(lines, l)
		if onLine != nil {
			onLine(l)
		}
	})
	return lines, stderr
}

// runNodeScript runs script (a path from the repository root) with args
// under Node, from the repository root, handing each line it prints on
// stdout to onLine as it arrives. It returns stderr once the script exits;
// the script failing or outliving timeout fails the test. It skips (fails
// under CI=true) as requireClients does.
func runNodeScript(t *testing.T, timeout time.Duration, script string, args []string, onLine func([]byte)) string {
	t.Helper()
	root, node := requireClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = root
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		n++
		onLine(sc.Bytes())
	}
	err = cmd.Wait()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Errorf("script killed after %v (timeout); stderr:\n%s", timeout, stderr.String())
	case err != nil:
		t.Errorf("script failed: %v; stderr:\n%s", err, stderr.String())
	}
	t.Logf("script ran %d lines in %v", n, time.Since(start).Round(time.Millisecond))
	return stderr.String()
}

func results(lines []line) map[string]line {
	m := map[string]line{}
	for _, l := range lines {
		if l.Type == "result" {
			m[key(l.Gen, l.Mode, l.Check)] = l
		}
	}
	return m
}

// --- tests -----------------------------------------------------------------

func TestRealClients(t *testing.T) {
	t.Parallel()
	requireClients(t)
	srv := startServer(t)
	lines, _ := runScript(t, matrixTimeout, srv.url+"/", nil)
	got := results(lines)
	obs := srv.obs

	for _, gen := range generations {
		for _, mode := range modes {
			protocol := 4
			if gen == "v2" {
				protocol = 3
			}
			for _, check := range checks {
				t.Run(key(gen, mode, check), func(t *testing.T) {
					l, ok := got[key(gen, mode, check)]
					if !ok {
						t.Fatal("the script printed no result for this check")
					}
					if !l.Pass {
						t.Errorf("client side: %s", l.Details)
					} else {
						t.Logf("client side: %s (%d ms)", l.Details, l.MS)
					}
					d := l.Data
					switch check {
					case "connect":
						if !l.Pass {
							return
						}
						for _, c := range []struct{ id, nsp, token string }{
							{d.MainID, "/", d.MainToken},
							{d.CustomID, "/custom", d.CustomToken},
						} {
							ci, ok := obs.conn(c.id)
							if !ok {
								t.Errorf("server recorded no connection %q in %s", c.id, c.nsp)
								continue
							}
							// 2.x sends query parameters instead of auth;
							// Auth shows them the same way, as strings.
							wantAuth := map[string]any{"token": c.token}
							if ci.Namespace != c.nsp || ci.Protocol != protocol || !reflect.DeepEqual(ci.Auth, wantAuth) {
								t.Errorf("server recorded %+v for %q; want namespace %s, protocol %d, auth %v",
									ci, c.id, c.nsp, protocol, wantAuth)
							}
						}
					case "transport":
						if !l.Pass {
							return
						}
						ci, ok := obs.conn(d.MainID)
						want := "polling" // the connection starts on it, then upgrades
						if mode == "websocket" {
							want = "websocket"
						}
						if !ok || ci.Transport != want {
							t.Errorf("server saw transport %q at connection time, want %q", ci.Transport, want)
						}
					case "binary":
						if !l.Pass {
							return
						}
						id := d.MainID
						obs.mu.Lock()
						n := obs.binary[id]
						obs.mu.Unlock()
						if n != d.BinaryLen {
							t.Errorf("server read %d bytes as []byte from %q, want %d", n, id, d.BinaryLen)
						}
					case "room":
						if !l.Pass {
							return
						}
						obs.mu.Lock()
						joined := slices.Clone(obs.joined["r1"])
						obs.mu.Unlock()
						for _, id := range d.Members {
							if !slices.Contains(joined, id) {
								t.Errorf("server recorded no join of %q to r1", id)
							}
						}
						if slices.Contains(joined, d.Outsider) {
							t.Errorf("outsider %q joined r1", d.Outsider)
						}
					case "disconnect":
						for _, id := range d.Disconnected {
							r, ok := obs.reason(id, stepTimeout)
							switch {
							case !ok:
								t.Errorf("server saw no disconnect of %q within %v", id, stepTimeout)
							case r != "client namespace disconnect":
								t.Errorf("server saw %q leave with reason %q, want \"client namespace disconnect\"", id, r)
							}
						}
						for _, id := range d.LastOnConnection {
							r, ok := obs.reason(id, stepTimeout)
							switch {
							case !ok:
								t.Errorf("server saw no disconnect of %q (last socket of its connection) within %v", id, stepTimeout)
							case r == "client namespace disconnect":
							default:
								t.Errorf("server saw %q (last socket of its connection) leave with reason %q, want \"client namespace disconnect\"", id, r)
							}
						}
					}
				})
			}
		}
	}
}

// closeServer runs Server.Close with a bound.
func closeServer(t *testing.T, rt *realtime.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*stepTimeout)
	defer cancel()
	if err := rt.Close(ctx); err != nil {
		t.Errorf("Server.Close: %v", err)
	}
}

// TestRealClientsServerClose checks that Server.Close() looks like a lost
// connection to every client generation ("transport close", after which
// socket.io.js reconnects), not like a server-side disconnect ("io server
// disconnect", after which it would not).
func TestRealClientsServerClose(t *testing.T) {
	t.Parallel()
	requireClients(t)
	srv := startServer(t)
	closed := make(chan struct{})
	lines, _ := runScript(t, shutdownTimeout, srv.url+"/", func(l line) {
		if l.Type == "all-ready" {
			closeServer(t, srv.rt)
			close(closed)
		}
	}, "--shutdown")
	select {
	case <-closed:
	default:
		t.Fatal("the script never reported its clients ready, so the server was not closed")
	}
	if !srv.rt.Draining() {
		t.Error("Server.Close() did not leave the server draining")
	}
	got := results(lines)
	ready := map[string]string{}
	for _, l := range lines {
		if l.Type == "ready" {
			ready[l.Gen+"/"+l.Mode] = l.Data.MainID
		}
	}
	for _, gen := range generations {
		for _, mode := range []string{"websocket", "polling"} {
			t.Run(key(gen, mode, "server-close"), func(t *testing.T) {
				l, ok := got[key(gen, mode, "server-close")]
				if !ok {
					t.Fatal("the script printed no result for this check")
				}
				if !l.Pass {
					t.Errorf("client side: %s", l.Details)
				} else {
					t.Logf("client side: %s (%d ms)", l.Details, l.MS)
				}
				id := ready[gen+"/"+mode]
				if id == "" {
					t.Fatal("the client never got ready")
				}
				r, ok := srv.obs.reason(id, stepTimeout)
				switch {
				case !ok:
					t.Errorf("server recorded no disconnect of %q", id)
				case r != "server shutting down":
					t.Errorf("server-side reason for %q is %q, want \"server shutting down\"", id, r)
				}
			})
		}
	}
}
