package redisadapter

// The adapter against Node's wire format, without Node: the tests play the
// Node side (a @socket.io/redis-adapter server or a @socket.io/redis-emitter)
// with raw Redis messages shaped exactly as those packages write them, and
// read what the Go server publishes the way they would. interop_test.go
// does the same against the real Node packages.
//
// The checks named "defect N" are the seven defects of the library's Redis
// adapter listed in doc.go (ported from realtime/cluster_test.go, where
// each also ran against the library's adapter and failed there).

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/redistest"
	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

var nodeProtocolChecks = []struct {
	name string
	run  func(t *testing.T, addr string)
}{
	{"defect 1: broadcasts on the namespace channel (Node, emitter, Go)", checkBroadcastAll},
	{"defect 2: Go struct arguments keep their json names", checkJSONNames},
	{"defect 3: a server-side event is answered with the one value", checkServerEventAnswer},
	{"defect 3: Go's serverSideEmitWithAck reads Node's answers", checkServerEventFromGo},
	{"defect 4: fetchSockets and allRooms answers carry their lists", checkFetchAnswers},
	{"defect 5: Node's broadcast with acks gets clientCount and first arguments", checkBroadcastAck},
	{"defect 5: Go's broadcast with acks reads Node's clientCount and acks", checkBroadcastAckFromGo},
	{"defect 6: flags.timeout in milliseconds", checkTimeoutUnits},
	{"defect 7: values as Node's clients get them (numbers, null, dates)", checkValues},
	{"rooms, except, volatile and latest both ways", checkRoomsExceptVolatile},
	{"binary both ways", checkBinary},
	{"emitter socketsJoin, socketsLeave and disconnectSockets", checkRemoteJoin},
	{"socket.io-redis 5.x remoteJoin by socket id", checkLegacyRemoteJoin},
	{"allSockets request (type 0)", checkSocketsRequest},
	{"publishOnSpecificResponseChannel", checkSpecificResponseChannel},
	{"own broadcasts and requests are not handled twice; local stays local", checkOwnAndLocal},
	{"a broadcast's bytes are notepack's", checkBroadcastBytes},
	{"Close unsubscribes", checkClose},
}

func TestNodeProtocol(t *testing.T) {
	t.Parallel()
	for _, c := range nodeProtocolChecks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, redistest.Start(t))
		})
	}
}

// Defect 1. Node publishes broadcasts to no room (io.of("/chat").emit, the
// emitter's emit) and to several rooms on the namespace channel itself, and
// so do Go servers.
func checkBroadcastAll(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	other := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)

	nodeBroadcast(t, rdb, nodeUID, []any{"from-node", "hi"}, nil, nil, nil)
	if ev := c.MustGet("from-node"); !reflect.DeepEqual(ev.Args, []any{"hi"}) {
		t.Fatalf("Node's broadcast to all: args %v", ev.Args)
	}
	nodeBroadcast(t, rdb, "emitter", []any{"from-emitter"}, nil, nil, nil)
	c.MustGet("from-emitter")
	if err := other.nsp.Emit("from-go", "hello"); err != nil {
		t.Fatal(err)
	}
	c.MustGet("from-go")
	join(c, "x")
	if err := other.nsp.To("x").To("y").Emit("two-rooms"); err != nil {
		t.Fatal(err)
	}
	c.MustGet("two-rooms")
}

type wireMessage struct {
	ID   int64  `json:"id"`
	Room string `json:"room"`
	From struct {
		Name string `json:"name"`
	} `json:"from"`
	ClientID string `json:"clientId,omitempty"`
	Secret   string `json:"-"`
}

// Defect 2. What the other servers get is what this server's clients get.
func checkJSONNames(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, bcastChan+"*")
	c := dialClient(t, a.url)
	join(c, "r")

	m := wireMessage{ID: 7, Room: "r", Secret: "no"}
	m.From.Name = "ann"
	if err := a.nsp.To("r").Emit("message", m); err != nil {
		t.Fatal(err)
	}
	local := c.MustGet("message")
	if want := map[string]any{"id": float64(7), "room": "r", "from": map[string]any{"name": "ann"}}; !reflect.DeepEqual(first(local.Args), want) {
		t.Fatalf("local client got %v", local.Args)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := r.value.([]any)
	if r.channel != bcastChan+"r#" || len(arr) != 3 {
		t.Fatalf("published %v on %s, want [uid, packet, opts] on %sr#", r.value, r.channel, bcastChan)
	}
	if want := map[string]any{"type": float64(2), "nsp": chatNsp, "data": append([]any{"message"}, local.Args...)}; !reflect.DeepEqual(arr[1], want) {
		t.Fatalf("other servers get %v; this server's clients get %v", arr[1], want)
	}
}

// Defect 3 (Node asks). Node's serverSideEmitWithAck collects one value per
// server: response.data. A namespace without a handler does not answer;
// an ack with no argument answers without data.
func checkServerEventAnswer(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	got := make(chan []any, 1)
	a.nsp.OnServerSideEmit("node-info", func(args []any, ack socketio.AckFunc) {
		got <- args
		if ack != nil {
			ack(map[string]any{"node": "go-1", "sockets": a.nsp.Len()}, "ignored")
		}
	})
	a.nsp.OnServerSideEmit("nothing", func(_ []any, ack socketio.AckFunc) { ack() })
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, respChan)
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "none", "type": 6, "data": []any{"no-handler"}})
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "sse1", "type": 6, "data": []any{"node-info", map[string]any{"verbose": true}}})
	select {
	case args := <-got:
		if !reflect.DeepEqual(args, []any{map[string]any{"verbose": true}}) {
			t.Fatalf("handler got %v", args)
		}
	case <-time.After(wait):
		t.Fatal("the server event never reached the handler")
	}
	r, err := receive(ps) // the first answer: none for "no-handler"
	if err != nil {
		t.Fatal(err)
	}
	if !r.json || field(r.value, "requestId") != "sse1" || field(r.value, "type") != float64(6) {
		t.Fatalf("answer %s (json %v), want the answer to sse1", r.raw, r.json)
	}
	if want := map[string]any{"node": "go-1", "sockets": float64(0)}; !reflect.DeepEqual(field(r.value, "data"), want) {
		t.Fatalf("answer data %#v, want %v (Node pushes data as the server's one answer)", field(r.value, "data"), want)
	}
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "sse2", "type": 6, "data": []any{"nothing"}})
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	if string(r.raw) != `{"type":6,"requestId":"sse2"}` {
		t.Fatalf("answer of ack() %s, want no data (JSON.stringify drops undefined)", r.raw)
	}
}

// Defect 3 (Go asks). Node answers a server-side event with one value, of
// any JSON type; without a requestId the handler gets no ack.
func checkServerEventFromGo(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, reqChan) // the pretend Node server counts in NUMSUB
	waitNumSub(t, rdb, 2)
	type result struct {
		answers []any
		err     error
	}
	res := make(chan result, 1)
	go func() {
		answers, err := a.nsp.ServerSideEmitWithAck(context.Background(), "ping", 1, map[string]any{"k": "v"})
		res <- result{answers, err}
	}()
	r, err := receiveWhere(ps, func(r received) bool { return field(r.value, "type") == float64(6) })
	if err != nil {
		t.Fatal(err)
	}
	if !r.json || field(r.value, "uid") != a.adapter().UID() || field(r.value, "requestId") == nil {
		t.Fatalf("request %s", r.raw)
	}
	if d := field(r.value, "data"); !reflect.DeepEqual(d, []any{"ping", float64(1), map[string]any{"k": "v"}}) {
		t.Fatalf("request data %v", d)
	}
	reply, _ := json.Marshal(map[string]any{"type": 6, "requestId": field(r.value, "requestId"), "data": map[string]any{"node": "n1", "n": 2}})
	if err := rdb.Publish(context.Background(), respChan, reply).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-res:
		if want := []any{map[string]any{"node": "n1", "n": float64(2)}}; got.err != nil || !reflect.DeepEqual(got.answers, want) {
			t.Fatalf("ServerSideEmitWithAck: %v, %v; want %v", got.answers, got.err, want)
		}
	case <-time.After(wait):
		t.Fatal("ServerSideEmitWithAck did not return")
	}

	// Node's serverSideEmit without ack reaches the handler with no ack.
	type call struct {
		args   []any
		hasAck bool
	}
	calls := make(chan call, 1)
	a.nsp.OnServerSideEmit("hello", func(args []any, ack socketio.AckFunc) { calls <- call{args, ack != nil} })
	nodeRequest(t, rdb, map[string]any{"uid": "emitter", "type": 6, "data": []any{"hello", "no ack", 1}})
	select {
	case c := <-calls:
		if c.hasAck || !reflect.DeepEqual(c.args, []any{"no ack", float64(1)}) {
			t.Fatalf("handler got %v (ack %v)", c.args, c.hasAck)
		}
	case <-time.After(wait):
		t.Fatal("server event did not arrive")
	}

	// A server that does not answer: the wait ends with the request
	// timeout, an error and the answers so far.
	start := time.Now()
	answers, err := a.nsp.ServerSideEmitWithAck(context.Background(), "unanswered")
	if err == nil || !strings.Contains(err.Error(), "0 of 1") || len(answers) != 0 {
		t.Fatalf("unanswered: %v, %v", answers, err)
	}
	if d := time.Since(start); d > wait {
		t.Fatalf("unanswered returned after %v", d)
	}
}

// Defect 4. Node's adapter ignores an answer without its list (and then
// never completes the request).
func checkFetchAnswers(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, respChan)

	// Only the "/" namespace's sockets... none in /chat: no rooms at all.
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "rooms0", "type": 1})
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.raw) != `{"requestId":"rooms0","rooms":[]}` {
		t.Fatalf("allRooms answer of a server without rooms: %s", r.raw)
	}

	c := dialClient(t, a.url)
	join(c, "r")
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "f0", "type": 5, "opts": map[string]any{"rooms": []string{"nobody"}, "except": []string{}}})
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	if string(r.raw) != `{"requestId":"f0","sockets":[]}` {
		t.Fatalf("fetchSockets answer without a match: %s", r.raw)
	}
	a.socket(t, c.SID).SetData(map[string]any{"user": "ann"})
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "f1", "type": 5, "opts": map[string]any{"rooms": []string{"r"}, "except": []string{}}})
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	socks, _ := field(r.value, "sockets").([]any)
	if len(socks) != 1 || field(socks[0], "id") != c.SID {
		t.Fatalf("fetchSockets of room r: %s, want socket %s", r.raw, c.SID)
	}
	rooms, _ := field(socks[0], "rooms").([]any)
	got := []string{}
	for _, r := range rooms {
		got = append(got, r.(string))
	}
	sort.Strings(got)
	want := []string{c.SID, "r"}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("socket rooms %v, want %v", got, want)
	}
	if d := field(socks[0], "data"); !reflect.DeepEqual(d, map[string]any{"user": "ann"}) {
		t.Fatalf("socket data %v", d)
	}
	hs, _ := field(socks[0], "handshake").(map[string]any)
	if ip, _ := hs["address"].(string); ip != "127.0.0.1" {
		t.Fatalf("handshake %v: address", hs)
	}
	if q, _ := hs["query"].(map[string]any); q["transport"] != "websocket" {
		t.Fatalf("handshake %v: query", hs)
	}
	for _, k := range []string{"time", "issued", "secure", "xdomain", "headers", "auth"} {
		if _, ok := hs[k]; !ok {
			t.Fatalf("handshake %v has no %s", hs, k)
		}
	}
	// A socket without data has Node's default, {}.
	c2 := dialClient(t, a.url)
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "f2", "type": 5, "opts": map[string]any{"rooms": []string{c2.SID}, "except": []string{}}})
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	socks, _ = field(r.value, "sockets").([]any)
	if len(socks) != 1 || !reflect.DeepEqual(field(socks[0], "data"), map[string]any{}) {
		t.Fatalf("fetchSockets of a socket without data: %s", r.raw)
	}
}

// Defect 5 (Node asks). Node's emitWithAck across servers: each server says
// how many clients it asked ({type: 8, clientCount}), then relays each
// client's acknowledgement ({type: 9, packet: its first argument}).
func checkBroadcastAck(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c1 := dialClient(t, a.url)
	join(c1, "r")
	c2 := dialClient(t, a.url)
	join(c2, "r")
	c3 := dialClient(t, a.url)
	join(c3, "r")
	ps := listen(t, rdb, respChan)
	req := map[string]any{
		"uid": nodeUID, "requestId": "ack1", "type": 7,
		"packet": map[string]any{"type": 2, "data": []any{"ping", 1}, "nsp": chatNsp},
		"opts":   map[string]any{"rooms": []string{"r"}, "except": []string{c3.SID}, "flags": map[string]any{"timeout": 2000}},
	}
	if err := rdb.Publish(context.Background(), reqChan, mustMsgpack(t, req)).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.raw) != `{"type":8,"requestId":"ack1","clientCount":2}` {
		t.Fatalf("client count answer %s, want {type: 8, requestId, clientCount: 2}", r.raw)
	}
	ev1 := c1.MustGet("ping")
	ev2 := c2.MustGet("ping")
	if ev1.AckID < 0 || ev2.AckID < 0 || !reflect.DeepEqual(ev1.Args, []any{float64(1)}) {
		t.Fatalf("clients got %+v, %+v: not asked for an acknowledgement", ev1, ev2)
	}
	c1.Ack(ev1.AckID, "pong", 2)
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	if r.json || field(r.value, "type") != float64(9) || field(r.value, "requestId") != "ack1" || field(r.value, "packet") != "pong" {
		t.Fatalf("ack answer %v (json %v), want msgpack {type: 9, requestId: ack1, packet: pong}", r.value, r.json)
	}
	c2.AckBinary(ev2.AckID, []byte{7, 8})
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(field(r.value, "packet"), []byte{7, 8}) {
		t.Fatalf("binary ack answer %v, want packet as bin", r.value)
	}
	// c3 was excepted: the sentinel shows it got nothing.
	nodeBroadcast(t, rdb, nodeUID, []any{"sentinel"}, nil, nil, nil)
	if err := c3.NothingBefore("sentinel"); err != nil {
		t.Fatal(err)
	}
}

// Defect 5 (Go asks). Go's EmitWithAck publishes the broadcast request as
// Node's does and completes with a Node server's count and answers.
func checkBroadcastAckFromGo(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, reqChan) // the pretend Node server
	waitNumSub(t, rdb, 2)
	c := dialClient(t, a.url)
	join(c, "r")
	answered := emitWithAck(t, a.nsp.To("r"), wait, "question", 41)
	r, err := receiveWhere(ps, func(r received) bool { return field(r.value, "type") == float64(7) })
	if err != nil {
		t.Fatal(err)
	}
	if r.json {
		t.Fatal("broadcast request as JSON; Node's is msgpack")
	}
	id, _ := field(r.value, "requestId").(string)
	if field(r.value, "uid") != a.adapter().UID() || id == "" {
		t.Fatalf("request %v", r.value)
	}
	if p := field(r.value, "packet"); !reflect.DeepEqual(p, map[string]any{"type": float64(2), "data": []any{"question", float64(41)}, "nsp": chatNsp}) {
		t.Fatalf("packet %v", p)
	}
	if o := field(r.value, "opts"); !reflect.DeepEqual(o, map[string]any{"rooms": []any{"r"}, "except": []any{}, "flags": map[string]any{"timeout": float64(wait.Milliseconds())}}) {
		t.Fatalf("opts %v", o)
	}
	ev := c.MustGet("question")
	c.Ack(ev.AckID, "from-go", "second")
	count, _ := json.Marshal(map[string]any{"type": 8, "requestId": id, "clientCount": 1})
	if err := rdb.Publish(context.Background(), respChan, count).Err(); err != nil {
		t.Fatal(err)
	}
	ack := mustMsgpack(t, map[string]any{"type": 9, "requestId": id, "packet": map[string]any{"from": "node"}})
	if err := rdb.Publish(context.Background(), respChan, ack).Err(); err != nil {
		t.Fatal(err)
	}
	answers, err := answered()
	if err != nil || len(answers) != 2 {
		t.Fatalf("EmitWithAck: %v, %v", answers, err)
	}
	want := [][]any{{"from-go", "second"}, {map[string]any{"from": "node"}}}
	if !reflect.DeepEqual(answers, want) && !reflect.DeepEqual(answers, [][]any{want[1], want[0]}) {
		t.Fatalf("answers %v, want %v", answers, want)
	}
}

// Defect 6.
func checkTimeoutUnits(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, reqChan)
	waitNumSub(t, rdb, 2)
	if err := a.nsp.To("r").EmitWithAck(1500*time.Millisecond, func([][]any, error) {}, "ping"); err != nil {
		t.Fatal(err)
	}
	r, err := receiveWhere(ps, func(r received) bool { return field(r.value, "type") == float64(7) })
	if err != nil {
		t.Fatal(err)
	}
	if ms := field(field(field(r.value, "opts"), "flags"), "timeout"); ms != float64(1500) {
		t.Fatalf("flags.timeout %v, want 1500 (ms)", ms)
	}
}

// Defect 7, and the other JSON values: what Node's clients would get.
func checkValues(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)
	join(c, "r")
	date := time.Date(2024, 5, 6, 7, 8, 9, 500e6, time.UTC) // a JavaScript Date, as notepack writes it
	nodeBroadcast(t, rdb, nodeUID, []any{"vals", map[string]any{
		"int": 42, "neg": -3, "big": int64(1) << 40, "float": 1.5, "null": nil, "bool": true,
		"list": []any{1, "two", []any{}}, "date": date, "empty": map[string]any{}, "text": "<&>",
	}}, []string{"r"}, nil, nil)
	ev := c.MustGet("vals")
	want := map[string]any{
		"int": float64(42), "neg": float64(-3), "big": float64(1 << 40), "float": 1.5, "null": nil, "bool": true,
		"list": []any{float64(1), "two", []any{}}, "date": "2024-05-06T07:08:09.500Z", "empty": map[string]any{}, "text": "<&>",
	}
	if !reflect.DeepEqual(first(ev.Args), want) {
		t.Fatalf("client got %v, want %v", first(ev.Args), want)
	}
}

// Rooms and except read by Go from Node; rooms, except, volatile and latest
// written by Go for Node.
func checkRoomsExceptVolatile(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	in := dialClient(t, a.url)
	join(in, "r")
	excluded := dialClient(t, a.url)
	join(excluded, "r")
	join(excluded, "quiet")
	outside := dialClient(t, a.url)

	nodeBroadcast(t, rdb, nodeUID, []any{"news"}, []string{"r"}, []string{"quiet"}, nil)
	nodeBroadcast(t, rdb, nodeUID, []any{"to-other-room"}, []string{"elsewhere"}, nil, nil)
	nodeBroadcast(t, rdb, nodeUID, []any{"sentinel"}, nil, nil, nil)
	if before, _, err := in.Until("sentinel"); err != nil || !slices.Equal(siotest.Names(before), []string{"news"}) {
		t.Fatalf("member got %v before the sentinel (%v), want [news]", siotest.Names(before), err)
	}
	for _, c := range []*siotest.Client{excluded, outside} {
		if err := c.NothingBefore("sentinel"); err != nil {
			t.Fatalf("non-recipient: %v", err)
		}
	}

	// Written by Go: a socket's room broadcast (except itself), volatile;
	// rooms given twice are one (Node's Set).
	ps := listen(t, rdb, bcastChan+"*")
	sock := a.socket(t, in.SID)
	if err := sock.To("r", "r").Volatile().Emit("cursor", map[string]any{"x": 0.5}); err != nil {
		t.Fatal(err)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := r.value.([]any)
	if len(arr) != 3 || r.channel != bcastChan+"r#" {
		t.Fatalf("published %v on %s", r.value, r.channel)
	}
	if want := map[string]any{"rooms": []any{"r"}, "except": []any{in.SID}, "flags": map[string]any{"volatile": true}}; !reflect.DeepEqual(arr[2], want) {
		t.Fatalf("opts %v, want %v", arr[2], want)
	}
	if err := a.nsp.Latest("cursor-1").Emit("pos", 1); err != nil {
		t.Fatal(err)
	}
	if r, err = receive(ps); err != nil {
		t.Fatal(err)
	}
	arr, _ = r.value.([]any)
	// Marked volatile too, the nearest flag Node's servers know.
	if want := map[string]any{"rooms": []any{}, "except": []any{}, "flags": map[string]any{"latest": "cursor-1", "volatile": true}}; len(arr) != 3 || !reflect.DeepEqual(arr[2], want) || r.channel != bcastChan {
		t.Fatalf("latest broadcast %v on %s", r.value, r.channel)
	}
}

// Binary attachments: msgpack bin, a Buffer in Node.
func checkBinary(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)
	join(c, "r")
	nodeBroadcast(t, rdb, nodeUID, []any{"bin", []byte{1, 2, 3}, map[string]any{"nested": []byte{4}}}, []string{"r"}, nil, nil)
	ev := c.MustGet("bin")
	if want := []any{[]byte{1, 2, 3}, map[string]any{"nested": []byte{4}}}; !reflect.DeepEqual(ev.Args, want) {
		t.Fatalf("client got %v, want %v", ev.Args, want)
	}

	ps := listen(t, rdb, bcastChan+"*")
	if err := a.nsp.To("r").Emit("bin-out", []byte{9, 8}, map[string]any{"b": []byte{7}}); err != nil {
		t.Fatal(err)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := r.value.([]any)
	if len(arr) != 3 {
		t.Fatalf("published %v", r.value)
	}
	if d := field(arr[1], "data"); !reflect.DeepEqual(d, []any{"bin-out", []byte{9, 8}, map[string]any{"b": []byte{7}}}) {
		t.Fatalf("published data %#v", d)
	}
	if field(arr[1], "type") != float64(2) {
		t.Fatalf("packet type %v, want 2 (Node's EVENT, binary or not)", field(arr[1], "type"))
	}
}

// The emitter's socketsJoin, socketsLeave and disconnectSockets: requests
// with opts and no uid.
func checkRemoteJoin(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)
	join(c, "r")
	other := dialClient(t, a.url)
	join(other, "r")
	opts := func(rooms, except []string) map[string]any {
		return map[string]any{"rooms": rooms, "except": except}
	}
	nodeRequest(t, rdb, map[string]any{"type": 2, "opts": opts([]string{"r"}, []string{other.SID}), "rooms": []string{"joined-by-emitter"}})
	nodeBroadcast(t, rdb, "emitter", []any{"to-new-room"}, []string{"joined-by-emitter"}, nil, nil)
	c.MustGet("to-new-room")
	nodeBroadcast(t, rdb, "emitter", []any{"sentinel"}, nil, nil, nil)
	if err := other.NothingBefore("sentinel"); err != nil {
		t.Fatalf("excepted socket: %v", err)
	}
	if !a.socket(t, c.SID).InRoom("joined-by-emitter") {
		t.Fatal("not in the room")
	}
	nodeRequest(t, rdb, map[string]any{"type": 3, "opts": opts([]string{}, []string{}), "rooms": []string{"r"}})
	nodeBroadcast(t, rdb, "emitter", []any{"to-r"}, []string{"r"}, nil, nil)
	nodeBroadcast(t, rdb, "emitter", []any{"sentinel"}, nil, nil, nil)
	for _, cl := range []*siotest.Client{c, other} {
		if err := cl.NothingBefore("sentinel"); err != nil {
			t.Fatalf("after socketsLeave: %v", err)
		}
	}
	nodeRequest(t, rdb, map[string]any{"type": 4, "opts": opts([]string{"joined-by-emitter"}, []string{}), "close": false})
	c.MustGet("disconnect")
	nodeBroadcast(t, rdb, "emitter", []any{"sentinel"}, nil, nil, nil)
	if err := other.NothingBefore("sentinel"); err != nil {
		t.Fatalf("disconnectSockets of another room: %v", err)
	}
}

// socket.io-redis 5.x's remoteJoin / remoteLeave / remoteDisconnect: one
// socket by id, answered with {requestId}.
func checkLegacyRemoteJoin(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)
	ps := listen(t, rdb, respChan)
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "j1", "type": 2, "sid": c.SID, "room": "legacy"})
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.raw) != `{"requestId":"j1"}` || !a.socket(t, c.SID).InRoom("legacy") {
		t.Fatalf("remoteJoin answer %s (in room %v)", r.raw, a.socket(t, c.SID).InRoom("legacy"))
	}
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "j2", "type": 3, "sid": c.SID, "room": "legacy"})
	if r, err = receive(ps); err != nil || string(r.raw) != `{"requestId":"j2"}` || a.socket(t, c.SID).InRoom("legacy") {
		t.Fatalf("remoteLeave answer %s, %v", r.raw, err)
	}
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "j3", "type": 4, "sid": c.SID, "close": true})
	if r, err = receive(ps); err != nil || string(r.raw) != `{"requestId":"j3"}` {
		t.Fatalf("remoteDisconnect answer %s, %v", r.raw, err)
	}
	c.MustGet("disconnect")
}

// The allSockets request of older Node servers: socket ids.
func checkSocketsRequest(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	c := dialClient(t, a.url)
	join(c, "r")
	_ = dialClient(t, a.url)
	ps := listen(t, rdb, respChan)
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "s1", "type": 0, "rooms": []string{"r"}})
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"requestId":"s1","sockets":["` + c.SID + `"]}`; string(r.raw) != want {
		t.Fatalf("answer %s, want %s", r.raw, want)
	}
}

// With PublishOnSpecificResponseChannel the answers go to the requester's
// own channel; and every server reads answers on its own channel.
func checkSpecificResponseChannel(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{PublishOnSpecificResponseChannel: true})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, respChan+nodeUID+"#", respChan)
	nodeRequest(t, rdb, map[string]any{"uid": nodeUID, "requestId": "r1", "type": 1})
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if r.channel != respChan+nodeUID+"#" || field(r.value, "requestId") != "r1" {
		t.Fatalf("answer %s on %s", r.raw, r.channel)
	}

	req := listen(t, rdb, reqChan)
	waitNumSub(t, rdb, 2)
	type result struct {
		rooms []string
		err   error
	}
	res := make(chan result, 1)
	go func() {
		rooms, err := a.nsp.Adapter().AllRooms(context.Background())
		res <- result{rooms, err}
	}()
	q, err := receiveWhere(req, func(r received) bool { return field(r.value, "type") == float64(1) })
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := json.Marshal(map[string]any{"requestId": field(q.value, "requestId"), "rooms": []string{"node-room"}})
	if err := rdb.Publish(context.Background(), respChan+a.adapter().UID()+"#", answer).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-res:
		if got.err != nil || !slices.Equal(got.rooms, []string{"node-room"}) {
			t.Fatalf("AllRooms: %v, %v", got.rooms, got.err)
		}
	case <-time.After(wait):
		t.Fatal("AllRooms did not return")
	}
}

// A server ignores its own broadcasts and requests when Redis hands them
// back (its clients get a broadcast once, a socketsJoin is not applied
// twice); a local broadcast or operation is not published at all.
func checkOwnAndLocal(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, bcastChan+"*", reqChan)
	c := dialClient(t, a.url)
	if err := a.nsp.Emit("once"); err != nil {
		t.Fatal(err)
	}
	if r, err := receive(ps); err != nil || r.channel != bcastChan {
		t.Fatalf("the broadcast was not published: %v", err)
	}
	nodeBroadcast(t, rdb, nodeUID, []any{"sentinel"}, nil, nil, nil)
	if before, _, err := c.Until("sentinel"); err != nil || !slices.Equal(siotest.Names(before), []string{"once"}) {
		t.Fatalf("got %v before the sentinel (%v), want [once]", siotest.Names(before), err)
	}
	if _, err := receive(ps); err != nil { // the sentinel itself
		t.Fatal(err)
	}

	if err := a.nsp.Local().Emit("local-only"); err != nil {
		t.Fatal(err)
	}
	local := a.nsp.Local()
	local.SocketsJoin("local-room")
	if !a.socket(t, c.SID).InRoom("local-room") {
		t.Fatal("local socketsJoin did not join")
	}
	if err := a.nsp.Emit("published"); err != nil {
		t.Fatal(err)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	if arr, _ := r.value.([]any); len(arr) < 2 || !reflect.DeepEqual(field(arr[1], "data"), []any{"published"}) {
		t.Fatalf("first message after the local ones: %v (local ones must not be published)", r.value)
	}
	if before, _, err := c.Until("published"); err != nil || !slices.Equal(siotest.Names(before), []string{"local-only"}) {
		t.Fatalf("client got %v before published (%v)", siotest.Names(before), err)
	}

	// SocketsJoin across the cluster: done here at once, published once,
	// and not redone when it comes back.
	a.nsp.To(c.SID).SocketsJoin("cluster-room")
	if !a.socket(t, c.SID).InRoom("cluster-room") {
		t.Fatal("socketsJoin did not join here at once")
	}
	if r, err = receive(ps); err != nil || r.channel != reqChan || string(r.raw) != `{"uid":"`+a.adapter().UID()+`","type":2,"opts":{"rooms":["`+c.SID+`"],"except":[]},"rooms":["cluster-room"]}` {
		t.Fatalf("socketsJoin request %s on %s (%v)", r.raw, r.channel, err)
	}
	a.socket(t, c.SID).Leave("cluster-room")
	// Had the request come back and been applied, the socket would be in
	// the room again by the time a later broadcast is delivered.
	nodeBroadcast(t, rdb, nodeUID, []any{"to-cluster-room"}, []string{"cluster-room"}, nil, nil)
	nodeBroadcast(t, rdb, nodeUID, []any{"sentinel"}, nil, nil, nil)
	if err := c.NothingBefore("sentinel"); err != nil {
		t.Fatalf("own socketsJoin request applied twice: %v", err)
	}
}

// A broadcast is the bytes Node's adapter (notepack) writes for the same
// packet: keys in Node's order, the smallest integers, a number without a
// fraction as an integer.
func checkBroadcastBytes(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	ps := listen(t, rdb, bcastChan+"*")
	if err := a.nsp.To("r").Emit("e", 1, 2.0, -33, 1.5, true, nil, "ü"); err != nil {
		t.Fatal(err)
	}
	r, err := receive(ps)
	if err != nil {
		t.Fatal(err)
	}
	uid := a.adapter().UID()
	want := []byte{0x93, 0xa0 | byte(len(uid))}
	want = append(want, uid...)
	want = append(want, 0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x98,
		0xa1, 'e', 0x01, 0x02, 0xd0, 0xdf, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc3, 0xc0, 0xa2, 0xc3, 0xbc,
		0xa3, 'n', 's', 'p', 0xa5, '/', 'c', 'h', 'a', 't',
		0x83, 0xa5, 'r', 'o', 'o', 'm', 's', 0x91, 0xa1, 'r', 0xa6, 'e', 'x', 'c', 'e', 'p', 't', 0x90,
		0xa5, 'f', 'l', 'a', 'g', 's', 0x80)
	if !slices.Equal(r.raw, want) {
		t.Fatalf("published\n% x\nwant (notepack)\n% x", r.raw, want)
	}
}

// Close unsubscribes: the server no longer counts, nor gets anything.
func checkClose(t *testing.T, addr string) {
	a := startGoNode(t, addr, Options{})
	rdb := newRedis(t, addr)
	waitNumSub(t, rdb, 1)
	numPat := func() int64 {
		n, err := rdb.PubSubNumPat(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := numPat(); n != 2 { // "/" and "/chat"
		t.Fatalf("%d patterns before Close, want 2", n)
	}
	a.nsp.Adapter().Close()
	a.srv.Of("/").Adapter().Close()
	res, err := rdb.PubSubNumSub(context.Background(), reqChan, respChan, respChan+a.adapter().UID()+"#").Result()
	if err != nil {
		t.Fatal(err)
	}
	for ch, n := range res {
		if n != 0 {
			t.Fatalf("%d subscribers on %s after Close", n, ch)
		}
	}
	if n := numPat(); n != 0 {
		t.Fatalf("%d patterns after Close", n)
	}
	if _, err := a.nsp.FetchSockets(context.Background()); err != nil {
		t.Fatalf("FetchSockets after Close (alone: local answer): %v", err)
	}
	a.nsp.Adapter().Close() // twice is fine
}
