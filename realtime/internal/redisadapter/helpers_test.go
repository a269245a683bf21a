package redisadapter

// Go socketio servers on a throwaway redis-server (internal/redistest),
// Socket.IO v5 clients over real loopback WebSockets (internal/siotest),
// and the Node side of the protocol played with raw Redis messages.
//
// Every wait is bounded by wait. "Did not receive" is checked with a
// sentinel: a later message that travels the same way (Redis delivers one
// connection's messages in publish order, and a client's in send order).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/socketio-go/chatserver/internal/siotest"
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

// ------------------------------------------------------------ Redis

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

// ------------------------------------------- Socket.IO clients

// dialClient joins /chat on the server at url (http://127.0.0.1:port).
func dialClient(t *testing.T, url string) *siotest.Client {
	t.Helper()
	return siotest.Connect(t, url+"/socket.io/", chatNsp, siotest.Options{Timeout: wait})
}

// join joins a room on a Go node ("join" handler) or the Node peer.
func join(c *siotest.Client, room string) {
	c.T.Helper()
	if res := c.Call("join", room); !reflect.DeepEqual(res, []any{true}) {
		c.T.Fatalf("join %s: %v", room, res)
	}
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

// emitWithAck starts op.EmitWithAck(timeout, event, args...) and returns
// the function that waits for its answers, failing the test if it never
// completes.
func emitWithAck(t *testing.T, op *socketio.BroadcastOperator, timeout time.Duration, event string, args ...any) func() ([][]any, error) {
	t.Helper()
	type result struct {
		answers [][]any
		err     error
	}
	res := make(chan result, 1)
	if err := op.EmitWithAck(timeout, func(answers [][]any, err error) { res <- result{answers, err} }, event, args...); err != nil {
		t.Fatal(err)
	}
	return func() ([][]any, error) {
		t.Helper()
		select {
		case got := <-res:
			return got.answers, got.err
		case <-time.After(timeout + time.Second):
			t.Fatal("EmitWithAck never completed")
			return nil, nil
		}
	}
}
