package socketio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// Tests of the Socket.IO layer over real loopback WebSockets, with a raw
// client that asserts the exact packets.

const wait = 3 * time.Second

type testServer struct {
	*Server
	url string // http://127.0.0.1:port/socket.io/
}

func startServer(t *testing.T, opts Options, setup func(*Server)) *testServer {
	t.Helper()
	if opts.Engine.PingInterval == 0 {
		opts.Engine.PingInterval = time.Minute
		opts.Engine.PingTimeout = time.Minute
	}
	opts.Engine.AllowEIO3 = true
	s := NewServer(opts)
	setup(s)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Close(ctx)
		hs.Close()
	})
	return &testServer{Server: s, url: hs.URL + "/socket.io/"}
}

func (ts *testServer) dial(t *testing.T, eio int) *siotest.WS {
	t.Helper()
	return siotest.OpenWS(t, ts.url, eio, siotest.Options{})
}

// echoServer is the compliance suites' server: auth echoed on connect,
// "message" sent back as "message-back", "message-with-ack" acked.
func echoServer(s *Server) {
	for _, name := range []string{"/", "/custom"} {
		s.Of(name).OnConnection(func(so *Socket) {
			_ = so.Emit("auth", so.Auth())
			so.On("message", func(args []any, _ AckFunc) { _ = so.Emit("message-back", args...) })
			so.On("message-with-ack", func(args []any, ack AckFunc) {
				if ack != nil {
					ack(args...)
				}
			})
		})
	}
}

func TestConnectAndEvents(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{}, echoServer)
	c := ts.dial(t, 4)
	c.Connect("/", "")
	c.Expect(`42["auth",{}]`)
	c.Connect("/custom", `{"token":"123"}`)
	c.Expect(`42/custom,["auth",{"token":"123"}]`)
	c.Send(`42["message",1,"2",{"3":[true]}]`)
	c.Expect(`42["message-back",1,"2",{"3":[true]}]`)
	c.Send(`42/custom,["message","<b>"]`)
	c.Expect(`42/custom,["message-back","<b>"]`)
	c.Send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	c.Expect(`43456[1,"2",{"3":[false]}]`)
	c.Send(`451-789["message-with-ack",{"_placeholder":true,"num":0}]`)
	c.SendBinary([]byte{1, 2, 3})
	c.Expect(`461-789[{"_placeholder":true,"num":0}]`)
	if b := c.RecvBinary(); string(b) != "\x01\x02\x03" {
		t.Fatalf("attachment %v", b)
	}
	c.Send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.SendBinary([]byte{1})
	c.SendBinary([]byte{2})
	c.Expect(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	if a, b := c.RecvBinary(), c.RecvBinary(); string(a) != "\x01" || string(b) != "\x02" {
		t.Fatalf("attachments %v %v", a, b)
	}
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{}, func(s *Server) {
		echoServer(s)
		s.Of("/private").Use(func(so *Socket) error {
			if so.Auth()["token"] != "ok" {
				return &ConnectError{Message: "not authorized", Data: map[string]any{"retry": false}}
			}
			return nil
		})
	})
	c := ts.dial(t, 4)
	c.Send("40/random,")
	c.Expect(`44/random,{"message":"Invalid namespace"}`)
	c.Send(`40/private,{"token":"no"}`)
	c.Expect(`44/private,{"message":"not authorized","data":{"retry":false}}`)
	c.Connect("/private", `{"token":"ok"}`)

	// Protocol 4 (2.x): "/" is joined at once, errors are strings.
	v2 := ts.dial(t, 3)
	v2.Expect("40", `42["auth",{}]`)
	v2.Send("40/random,")
	v2.Expect(`44/random,"Invalid namespace"`)
	v2.Send("40/private?token=no,")
	v2.Expect(`44/private,"not authorized"`)
	v2.Send("40/private?token=ok,")
	v2.Expect("40/private,")
}

func TestInvalidPacketsClose(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{}, echoServer)
	for _, pk := range []string{
		"4abc", "42{}", `42abc["message-with-ack",1]`, "4", "42", "42[]", `42["connect"]`,
		`43{}`, `41{}`, `45["message"]`, "47", `42/random,["message"]`, "40", "44{}",
	} {
		t.Run(pk, func(t *testing.T) {
			c := ts.dial(t, 4)
			c.Connect("/", "")
			c.Expect(`42["auth",{}]`)
			c.Send(pk)
			c.ExpectClosed(false)
		})
	}
	t.Run("binary without packet", func(t *testing.T) {
		c := ts.dial(t, 4)
		c.Connect("/", "")
		c.Expect(`42["auth",{}]`)
		c.SendBinary([]byte{1})
		c.ExpectClosed(false)
	})
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{ConnectTimeout: 100 * time.Millisecond}, echoServer)
	start := time.Now()
	ts.dial(t, 4).ExpectClosed(false)
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("closed after %v", el)
	}
}

func TestDisconnectReasons(t *testing.T) {
	t.Parallel()
	reasons := make(chan string, 16)
	mains := make(chan *Socket, 4) // sockets of "/", as they connect
	ts := startServer(t, Options{}, func(s *Server) {
		for _, n := range []string{"/", "/custom"} {
			s.Of(n).OnConnection(func(so *Socket) {
				so.On("last", func(args []any, _ AckFunc) { reasons <- "event " + args[0].(string) })
				so.OnDisconnect(func(r string) { reasons <- so.Namespace().Name() + " " + r })
				if so.Namespace().Name() == "/" {
					mains <- so // once its handlers are set
				}
			})
		}
	})
	next := func(want string) string {
		t.Helper()
		select {
		case r := <-reasons:
			return r
		case <-time.After(wait):
			t.Fatalf("timeout waiting for %q", want)
			return ""
		}
	}
	c := ts.dial(t, 4)
	c.Connect("/", "")
	c.Connect("/custom", "")
	c.Send("41/custom,")
	if r := next("/custom client namespace disconnect"); r != "/custom client namespace disconnect" {
		t.Fatal(r)
	}
	// The other namespace stays; the server disconnects it.
	so := <-mains
	so.Disconnect(false)
	c.Expect("41")
	if r := next("/ server namespace disconnect"); r != "/ server namespace disconnect" {
		t.Fatal(r)
	}
	// An event sent right before the connection closes is delivered first.
	c2 := ts.dial(t, 4)
	c2.Connect("/", "")
	<-mains
	c2.Send(`42["last","one"]`)
	c2.Close()
	if r := next("event one"); r != "event one" {
		t.Fatal(r)
	}
	if r := next("/ transport close"); r != "/ transport close" {
		t.Fatal(r)
	}
	// Disconnect(true): every namespace gets DISCONNECT and leaves as by
	// Disconnect(false), then the connection closes.
	c3 := ts.dial(t, 4)
	c3.Connect("/", "")
	so = <-mains
	so.Disconnect(true)
	c3.Expect("41")
	c3.ExpectClosed(false)
	if r := next("/ server namespace disconnect"); r != "/ server namespace disconnect" {
		t.Fatal(r)
	}
}

func TestRoomsAndBroadcast(t *testing.T) {
	t.Parallel()
	sockets := make(chan *Socket, 8)
	ts := startServer(t, Options{}, func(s *Server) {
		s.Of("/").OnConnection(func(so *Socket) {
			so.On("join", func(args []any, ack AckFunc) {
				so.Join(args[0].(string))
				ack()
			})
			so.On("say", func(args []any, _ AckFunc) {
				_ = so.To(args[0].(string)).Emit("said", args[1])
			})
			sockets <- so
		})
	})
	var cs []*siotest.WS
	var ids []string
	for i := 0; i < 3; i++ {
		c := ts.dial(t, 4)
		ids = append(ids, c.Connect("/", ""))
		<-sockets
		cs = append(cs, c)
	}
	cs[0].Send(`421["join","r"]`)
	cs[0].Expect("431[]")
	cs[1].Send(`421["join","r"]`)
	cs[1].Expect("431[]")
	// The sender is left out; the outsider gets nothing (the marker that
	// follows is the first thing it sees).
	cs[0].Send(`42["say","r","hi"]`)
	cs[1].Expect(`42["said","hi"]`)
	if err := ts.Of("/").Emit("marker"); err != nil {
		t.Fatal(err)
	}
	cs[2].Expect(`42["marker"]`)
	cs[0].Expect(`42["marker"]`)
	cs[1].Expect(`42["marker"]`)
	if err := ts.Of("/").To("r").Except(ids[1]).Emit("x", []byte{7}); err != nil {
		t.Fatal(err)
	}
	cs[0].Expect(`451-["x",{"_placeholder":true,"num":0}]`)
	if b := cs[0].RecvBinary(); string(b) != "\x07" {
		t.Fatal(b)
	}

	// Broadcast with acks collects every answer.
	answers := make(chan [][]any, 1)
	errs := make(chan error, 1)
	if err := ts.Of("/").To("r").EmitWithAck(wait, func(a [][]any, err error) { answers <- a; errs <- err }, "q"); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs[:2] {
		got := c.Recv()
		id := strings.TrimSuffix(strings.TrimPrefix(got, "42"), `["q"]`)
		c.Send("43" + id + `["a"]`)
	}
	if a, err := <-answers, <-errs; err != nil || !reflect.DeepEqual(a, [][]any{{"a"}, {"a"}}) {
		t.Fatalf("answers %v, %v", a, err)
	}
}

// A latest-value broadcast replaces what still waits for a receiver: a
// polling client that has not polled gets the last cursor position only,
// behind what was queued before it.
func TestLatestReplacesQueuedValue(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Options{}, func(s *Server) {})
	p := siotest.NewEndpoint(t, ts.url, siotest.Options{}).OpenPolling(4)
	p.Post("40")
	deadline := time.Now().Add(wait)
	for ts.Of("/").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the socket never connected")
		}
		time.Sleep(time.Millisecond) // polling for a state, bounded by deadline
	}
	_ = ts.Of("/").Emit("before")
	for i := 0; i < 100; i++ {
		_ = ts.Of("/").Latest("cursor-a").Emit("move", i)
	}
	_ = ts.Of("/").Emit("after")
	r := p.Get()
	if r.Status != http.StatusOK {
		t.Fatalf("poll: HTTP %d %q", r.Status, r.Body)
	}
	payload := siotest.SplitPayload(t, 4, r.Body)
	if len(payload) != 4 || !strings.HasPrefix(payload[0], "40{") ||
		payload[1] != `42["before"]` || payload[2] != `42["move",99]` || payload[3] != `42["after"]` {
		t.Fatalf("poll got %q", payload)
	}
}

// Encode once: a broadcast builds one set of messages, whatever the
// number of receivers.
func TestBroadcastEncodesOnce(t *testing.T) {
	t.Parallel()
	var seen []*engineio.Message
	var mu sync.Mutex
	ts := startServer(t, Options{NewAdapter: func(n *Namespace) Adapter {
		return &spyAdapter{MemoryAdapter: NewMemoryAdapter(n).(*MemoryAdapter), seen: func(m []*engineio.Message) {
			mu.Lock()
			seen = append(seen, m...)
			mu.Unlock()
		}}
	}}, func(s *Server) {})
	for i := 0; i < 5; i++ {
		ts.dial(t, 4).Connect("/", "")
	}
	_ = ts.Of("/").Emit("x", 1)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("%d messages built for one broadcast to 5 sockets", len(seen))
	}
}

type spyAdapter struct {
	*MemoryAdapter
	seen func([]*engineio.Message)
}

func (a *spyAdapter) Broadcast(p *Outgoing, opts BroadcastOptions) {
	a.MemoryAdapter.Broadcast(p, opts)
	m1, _ := p.Messages()
	m2, _ := p.Messages()
	if &m1[0] != &m2[0] {
		panic("a broadcast encoded twice")
	}
	a.seen(m1)
}

// The operations a cluster adapter carries to the other servers, on one
// server: socketsJoin/Leave, disconnectSockets, fetchSockets, allRooms,
// server-side events.
func TestLocalClusterOperations(t *testing.T) {
	t.Parallel()
	sockets := make(chan *Socket, 4)
	ts := startServer(t, Options{}, func(s *Server) {
		s.Of("/").OnConnection(func(so *Socket) { sockets <- so })
	})
	n := ts.Of("/")
	a, b := ts.dial(t, 4), ts.dial(t, 4)
	ida := a.Connect("/", "")
	<-sockets
	b.Connect("/", "")
	<-sockets
	n.To(ida).SocketsJoin("x", "y")
	infos, err := n.To("x").FetchSockets(context.Background())
	if err != nil || len(infos) != 1 || infos[0].ID != ida || infos[0].Handshake["address"] != "127.0.0.1" {
		t.Fatalf("fetch %+v %v", infos, err)
	}
	rooms, _ := n.Adapter().AllRooms(context.Background())
	if !slicesContain(rooms, "x") || !slicesContain(rooms, "y") {
		t.Fatalf("rooms %v", rooms)
	}
	n.To("x").SocketsLeave("y")
	if infos, _ := n.To("y").FetchSockets(context.Background()); len(infos) != 0 {
		t.Fatalf("still in y: %+v", infos)
	}
	all, _ := n.FetchSockets(context.Background())
	if len(all) != 2 {
		t.Fatalf("%d sockets", len(all))
	}
	got := make(chan []any, 1)
	n.OnServerSideEmit("ping", func(args []any, ack AckFunc) { got <- args })
	if !n.DispatchServerSide("ping", []any{1.0}, nil) || !reflect.DeepEqual(<-got, []any{1.0}) {
		t.Fatal("server-side event not dispatched")
	}
	if n.DispatchServerSide("nobody", nil, nil) {
		t.Fatal("dispatched an event without a handler")
	}
	n.To("x").DisconnectSockets(false)
	a.Expect("41")
	if n.Len() != 1 {
		t.Fatalf("%d sockets left", n.Len())
	}
}

func slicesContain(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// Handlers set on the namespace serve every socket; a socket's own come
// first, then the namespace's for the event, then the socket's OnAny, then
// the namespace's. Disconnect handlers run the socket's own, then the
// namespace's.
func TestSharedHandlers(t *testing.T) {
	t.Parallel()
	gone := make(chan string, 8)
	ts := startServer(t, Options{}, func(s *Server) {
		n := s.Of("/")
		n.On("hi", func(so *Socket, args []any, ack AckFunc) {
			if ack != nil {
				ack("shared", so.ID() != "")
			}
		})
		n.On("mine", func(*Socket, []any, AckFunc) { t.Error("the socket's own handler must come first") })
		n.OnAny(func(so *Socket, event string, _ []any, ack AckFunc) {
			if ack != nil {
				ack("shared any " + event)
			}
		})
		n.OnDisconnect(func(so *Socket, reason string) { gone <- "shared " + reason })
		n.OnConnection(func(so *Socket) {
			so.On("mine", func(_ []any, ack AckFunc) { ack("own") })
			so.OnDisconnect(func(reason string) { gone <- "own " + reason })
			if so.Auth()["any"] == true {
				so.OnAny(func(event string, _ []any, ack AckFunc) { ack("own any " + event) })
			}
		})
	})
	c := ts.dial(t, 4)
	c.Connect("/", "")
	c.Send(`421["hi"]`)
	c.Expect(`431["shared",true]`)
	c.Send(`422["mine"]`)
	c.Expect(`432["own"]`)
	c.Send(`423["other"]`)
	c.Expect(`433["shared any other"]`)
	c.Close()
	for _, want := range []string{"own transport close", "shared transport close"} {
		select {
		case got := <-gone:
			if got != want {
				t.Fatalf("disconnect handlers: got %q, want %q", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("timeout waiting for %q", want)
		}
	}
	c2 := ts.dial(t, 4)
	c2.Connect("/", `{"any":true}`)
	c2.Send(`424["other"]`)
	c2.Expect(`434["own any other"]`)
	c2.Send(`425["hi"]`)
	c2.Expect(`435["shared",true]`)
}

// Handle makes the application's value once per socket.
func TestSocketHandle(t *testing.T) {
	t.Parallel()
	made := 0
	so := &Socket{}
	mk := func(*Socket) any { made++; return &made }
	if a, b := so.Handle(mk), so.Handle(mk); a != b || made != 1 {
		t.Fatalf("Handle made %d values (%p, %p), want 1", made, a, b)
	}
}
