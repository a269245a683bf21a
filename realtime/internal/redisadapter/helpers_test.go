package redisadapter

// Test helpers: a throwaway redis-server, Go socketio servers on it, a raw
// Socket.IO v5 client over real loopback WebSockets, and the Node side of
// the protocol played with raw Redis messages.
//
// Every wait is bounded by wait. "Did not receive" is checked with a
// sentinel: a later message that travels the same way (Redis delivers one
// connection's messages in publish order, and a client's in send order).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	goredis "github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

const (
	wait      = 5 * time.Second // bound on anything awaited
	nodeUID   = "nodeJS"        // the uid of the pretend Node server
	chatNsp   = "/chat"
	bcastChan = "socket.io#/chat#"
	reqChan   = "socket.io-request#/chat#"
	respChan  = "socket.io-response#/chat#"
)

// needed skips (or, under CI=true, fails) a test that lacks a tool.
func needed(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: not skipping)", what)
	}
	t.Skip(what)
}

// ------------------------------------------------------------ redis-server

// startRedis runs a throwaway redis-server on a free loopback port, stopped
// when the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		needed(t, bin+" is not on PATH: these tests need a real Redis")
	}
	for attempt := 0; ; attempt++ {
		addr, err := tryRedis(t, path)
		if err == nil {
			return addr
		}
		if attempt == 2 { // the free port may have been taken meanwhile
			t.Fatal(err)
		}
	}
}

func tryRedis(t *testing.T, path string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			t.Cleanup(stop)
			return addr, nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("redis-server on %s exited: %s", addr, out.String())
		case <-deadline:
			stop()
			return "", fmt.Errorf("redis-server on %s did not answer within %v: %s", addr, wait, out.String())
		case <-tick.C:
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRedis(t *testing.T, addr string) *goredis.Client {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitNumSub waits until n connections listen on /chat's request channel
// (Redis has no event for it: polled, bounded).
func waitNumSub(t *testing.T, rdb *goredis.Client, n int64) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		res, err := rdb.PubSubNumSub(context.Background(), reqChan).Result()
		if err == nil && res[reqChan] == n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%d subscribers on %s after %v, want %d (%v)", res[reqChan], reqChan, wait, n, err)
		case <-tick.C:
		}
	}
}

// ------------------------------------------------------------ Go servers

type goNode struct {
	srv *socketio.Server
	nsp *socketio.Namespace
	url string // http://127.0.0.1:port
}

func (n *goNode) adapter() *Adapter { return n.nsp.Adapter().(*Adapter) }

// socket returns the local socket with the id.
func (n *goNode) socket(t *testing.T, id string) *socketio.Socket {
	t.Helper()
	s := n.nsp.Socket(id)
	if s == nil {
		t.Fatalf("no socket %s here", id)
	}
	return s
}

// startGoNode serves a socketio server whose /chat namespace has the Redis
// adapter at addr; its sockets join and leave rooms on request ("join",
// room -> ack true).
func startGoNode(t *testing.T, addr string, opts Options) *goNode {
	t.Helper()
	rdb := newRedis(t, addr)
	if opts.RequestsTimeout == 0 {
		opts.RequestsTimeout = 2 * time.Second
	}
	srv := socketio.NewServer(socketio.Options{
		Engine:     engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute},
		NewAdapter: New(rdb, opts),
	})
	nsp := srv.Of(chatNsp)
	nsp.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(args []any, ack socketio.AckFunc) {
			room, _ := first(args).(string)
			s.Join(room)
			if ack != nil {
				ack(true)
			}
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
		srv.Of("/").Adapter().Close()
		nsp.Adapter().Close()
	})
	return &goNode{srv: srv, nsp: nsp, url: hs.URL}
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// ------------------------------------------- a raw Socket.IO v5 client

type sioEvent struct {
	name  string
	args  []any
	ackID int // -1 without
}

// sioClient speaks Engine.IO 4 / Socket.IO 5 over a WebSocket (gobwas/ws),
// enough to join /chat on a Go or a Node server, receive events (binary
// attachments as []byte), emit, and acknowledge.
type sioClient struct {
	t      *testing.T
	conn   net.Conn
	rw     io.ReadWriter // conn, after what the dialer buffered
	sid    string
	events chan sioEvent

	wmu     sync.Mutex
	amu     sync.Mutex
	nextAck int
	acks    map[int]chan []any
}

func dialClient(t *testing.T, url string) *sioClient {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, wsURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &sioClient{t: t, conn: conn, rw: conn, events: make(chan sioEvent, 256), acks: map[int]chan []any{}}
	if br != nil {
		c.rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, conn), conn}
	}
	t.Cleanup(func() { _ = conn.Close() })
	connected := make(chan string, 1)
	go c.read(connected)
	c.send("40" + chatNsp + ",")
	select {
	case sid, ok := <-connected:
		if !ok {
			t.Fatal("client: connection closed before CONNECT")
		}
		c.sid = sid
	case <-time.After(wait):
		t.Fatal("client: no CONNECT to /chat")
	}
	return c
}

func (c *sioClient) send(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientText(c.conn, []byte(s))
}

func (c *sioClient) read(connected chan string) {
	defer close(c.events)
	defer close(connected)
	var pending *sioPacket
	var bins [][]byte
	for {
		b, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			return
		}
		if op == ws.OpBinary {
			if pending == nil {
				continue
			}
			bins = append(bins, b)
			if len(bins) == pending.attachments {
				pending.data = fillPlaceholders(pending.data, bins)
				c.dispatch(*pending, connected)
				pending, bins = nil, nil
			}
			continue
		}
		s := string(b)
		switch {
		case s == "2":
			c.send("3")
			continue
		case !strings.HasPrefix(s, "4"):
			continue
		}
		p, ok := parsePacket(s[1:])
		if !ok {
			continue
		}
		if p.attachments > 0 {
			pending = &p
			continue
		}
		c.dispatch(p, connected)
	}
}

type sioPacket struct {
	typ         byte
	attachments int
	id          int
	data        any
}

func parsePacket(s string) (sioPacket, bool) {
	if s == "" {
		return sioPacket{}, false
	}
	p := sioPacket{typ: s[0], id: -1}
	rest := s[1:]
	if p.typ == '5' || p.typ == '6' {
		i := strings.IndexByte(rest, '-')
		if i < 0 {
			return p, false
		}
		p.attachments, _ = strconv.Atoi(rest[:i])
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "/") {
		i := strings.IndexByte(rest, ',')
		if i < 0 {
			rest = ""
		} else {
			rest = rest[i+1:]
		}
	}
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j > 0 {
		p.id, _ = strconv.Atoi(rest[:j])
		rest = rest[j:]
	}
	if rest != "" {
		if err := json.Unmarshal([]byte(rest), &p.data); err != nil {
			return p, false
		}
	}
	return p, true
}

func (c *sioClient) dispatch(p sioPacket, connected chan string) {
	switch p.typ {
	case '0':
		m, _ := p.data.(map[string]any)
		sid, _ := m["sid"].(string)
		select {
		case connected <- sid:
		default:
		}
	case '1':
		c.events <- sioEvent{name: "disconnect", ackID: -1}
	case '2', '5':
		arr, _ := p.data.([]any)
		if len(arr) == 0 {
			return
		}
		name, _ := arr[0].(string)
		c.events <- sioEvent{name: name, args: arr[1:], ackID: p.id}
	case '3', '6':
		c.amu.Lock()
		ch := c.acks[p.id]
		delete(c.acks, p.id)
		c.amu.Unlock()
		if ch != nil {
			arr, _ := p.data.([]any)
			ch <- arr
		}
	}
}

func fillPlaceholders(v any, bins [][]byte) any {
	switch t := v.(type) {
	case []any:
		for i := range t {
			t[i] = fillPlaceholders(t[i], bins)
		}
	case map[string]any:
		if p, _ := t["_placeholder"].(bool); p {
			if n, ok := t["num"].(float64); ok && int(n) < len(bins) {
				return bins[int(n)]
			}
		}
		for k := range t {
			t[k] = fillPlaceholders(t[k], bins)
		}
	}
	return v
}

// call emits an event asking for an acknowledgement and returns its
// arguments.
func (c *sioClient) call(event string, args ...any) []any {
	c.t.Helper()
	c.amu.Lock()
	id := c.nextAck
	c.nextAck++
	ch := make(chan []any, 1)
	c.acks[id] = ch
	c.amu.Unlock()
	b, _ := json.Marshal(append([]any{event}, args...))
	c.send(fmt.Sprintf("42%s,%d%s", chatNsp, id, b))
	select {
	case res := <-ch:
		return res
	case <-time.After(wait):
		c.t.Fatalf("client: no ack for %s", event)
		return nil
	}
}

// join joins a room on a Go node ("join" handler).
func (c *sioClient) join(room string) {
	c.t.Helper()
	if res := c.call("join", room); !reflect.DeepEqual(res, []any{true}) {
		c.t.Fatalf("join %s: %v", room, res)
	}
}

// ack answers a server event that asked for an acknowledgement.
func (c *sioClient) ack(id int, args ...any) {
	b, _ := json.Marshal(args)
	c.send(fmt.Sprintf("43%s,%d%s", chatNsp, id, b))
}

// ackBinary answers with one binary attachment as the first argument.
func (c *sioClient) ackBinary(id int, bin []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientText(c.conn, fmt.Appendf(nil, `461-%s,%d[{"_placeholder":true,"num":0}]`, chatNsp, id))
	_ = wsutil.WriteClientBinary(c.conn, bin)
}

func (c *sioClient) next() (sioEvent, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return ev, errors.New("client: connection closed")
		}
		return ev, nil
	case <-time.After(wait):
		return sioEvent{}, fmt.Errorf("client: no event within %v", wait)
	}
}

// until returns the events received before the first one named name, and
// that one.
func (c *sioClient) until(name string) ([]sioEvent, sioEvent, error) {
	var before []sioEvent
	for {
		ev, err := c.next()
		if err != nil {
			return before, ev, fmt.Errorf("waiting for %q (got %v first): %w", name, names(before), err)
		}
		if ev.name == name {
			return before, ev, nil
		}
		before = append(before, ev)
	}
}

// mustGet is until for a test that cannot go on without the event.
func (c *sioClient) mustGet(name string) sioEvent {
	c.t.Helper()
	_, ev, err := c.until(name)
	if err != nil {
		c.t.Fatal(err)
	}
	return ev
}

// nothingBefore checks that the next event is the sentinel.
func (c *sioClient) nothingBefore(sentinel string) error {
	before, _, err := c.until(sentinel)
	if err != nil {
		return err
	}
	if len(before) > 0 {
		return fmt.Errorf("got %v before %s", names(before), sentinel)
	}
	return nil
}

func names(evs []sioEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.name
	}
	return out
}

// ------------------------------------------------------- the Node side

func mustMsgpack(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodeBroadcast publishes what Node's adapter (or, with uid "emitter", the
// emitter) publishes for a broadcast: msgpack [uid, {type, data, nsp},
// {rooms, except, flags}] on the namespace channel, or the room's when
// there is exactly one room.
func nodeBroadcast(t *testing.T, rdb *goredis.Client, uid string, data []any, rooms, except []string, flags map[string]any) {
	t.Helper()
	if rooms == nil {
		rooms = []string{}
	}
	if except == nil {
		except = []string{}
	}
	if flags == nil {
		flags = map[string]any{}
	}
	channel := bcastChan
	if len(rooms) == 1 {
		channel += rooms[0] + "#"
	}
	msg := mustMsgpack(t, []any{uid, map[string]any{"type": 2, "data": data, "nsp": chatNsp},
		map[string]any{"rooms": rooms, "except": except, "flags": flags}})
	if err := rdb.Publish(context.Background(), channel, msg).Err(); err != nil {
		t.Fatal(err)
	}
}

// nodeRequest publishes a request as Node's adapter (and the emitter) do:
// JSON.
func nodeRequest(t *testing.T, rdb *goredis.Client, req map[string]any) {
	t.Helper()
	b, _ := json.Marshal(req)
	if err := rdb.Publish(context.Background(), reqChan, b).Err(); err != nil {
		t.Fatal(err)
	}
}

// listen subscribes (channels, or patterns ending in *) and waits for each
// confirmation.
func listen(t *testing.T, rdb *goredis.Client, channels ...string) *goredis.PubSub {
	t.Helper()
	ctx := context.Background()
	ps := rdb.Subscribe(ctx)
	t.Cleanup(func() { _ = ps.Close() })
	for _, ch := range channels {
		var err error
		if strings.HasSuffix(ch, "*") {
			err = ps.PSubscribe(ctx, ch)
		} else {
			err = ps.Subscribe(ctx, ch)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ps.ReceiveTimeout(ctx, wait); err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

// received is a published message as a Node program decodes it: JSON if it
// starts with "{", msgpack otherwise.
type received struct {
	channel string
	raw     []byte
	value   any
	json    bool
}

func receive(ps *goredis.PubSub) (received, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	msg, err := ps.ReceiveMessage(ctx)
	if err != nil {
		return received{}, fmt.Errorf("no message published within %v: %w", wait, err)
	}
	r := received{channel: msg.Channel, raw: []byte(msg.Payload)}
	if strings.HasPrefix(msg.Payload, "{") {
		r.json = true
		err = json.Unmarshal(r.raw, &r.value)
	} else {
		r.value, err = msgpack.NewDecoder(bytes.NewReader(r.raw)).DecodeInterface()
		r.value = fromWire(r.value) // numbers as in JavaScript
	}
	return r, err
}

// receiveWhere returns the first message for which keep is true.
func receiveWhere(ps *goredis.PubSub, keep func(received) bool) (received, error) {
	for {
		r, err := receive(ps)
		if err != nil || keep(r) {
			return r, err
		}
	}
}

func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}
