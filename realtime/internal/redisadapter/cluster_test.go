package redisadapter

// Go socketio servers sharing one Redis, with real clients on real
// loopback WebSockets.

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/redistest"
	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// A room broadcast crosses nodes, text and binary, and reaches only the
// room; a socket's broadcast leaves the socket out on every node.
func TestClusterRoomBroadcast(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	a := startGoNode(t, addr, Options{})
	b := startGoNode(t, addr, Options{})
	inA := dialClient(t, a.url)
	join(inA, "r")
	inB := dialClient(t, b.url)
	join(inB, "r")
	outB := dialClient(t, b.url)

	if err := a.nsp.To("r").Emit("text", "hi", map[string]any{"n": 1, "list": []any{"x", nil}}); err != nil {
		t.Fatal(err)
	}
	want := []any{"hi", map[string]any{"n": float64(1), "list": []any{"x", nil}}}
	for _, c := range []*siotest.Client{inA, inB} {
		if ev := c.MustGet("text"); !reflect.DeepEqual(ev.Args, want) {
			t.Fatalf("got %v, want %v", ev.Args, want)
		}
	}

	if err := b.nsp.To("r").Emit("bin", []byte{1, 2, 3}, map[string]any{"inner": []byte{4}, "label": "x"}); err != nil {
		t.Fatal(err)
	}
	wantBin := []any{[]byte{1, 2, 3}, map[string]any{"inner": []byte{4}, "label": "x"}}
	for _, c := range []*siotest.Client{inA, inB} {
		if ev := c.MustGet("bin"); !reflect.DeepEqual(ev.Args, wantBin) {
			t.Fatalf("got %v, want %v", ev.Args, wantBin)
		}
	}

	// From inA's socket: to the room but itself.
	if err := a.socket(t, inA.SID).To("r").Emit("from-socket"); err != nil {
		t.Fatal(err)
	}
	inB.MustGet("from-socket")

	if err := a.nsp.Emit("sentinel"); err != nil {
		t.Fatal(err)
	}
	if err := outB.NothingBefore("sentinel"); err != nil {
		t.Fatalf("outsider on the other node: %v", err)
	}
	if err := inA.NothingBefore("sentinel"); err != nil {
		t.Fatalf("sender socket: %v", err)
	}
	if err := inB.NothingBefore("sentinel"); err != nil {
		t.Fatalf("member on the other node: %v", err)
	}
}

// Except works across nodes (rooms and socket ids), and Local stays home.
func TestClusterExceptAndLocal(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	a := startGoNode(t, addr, Options{})
	b := startGoNode(t, addr, Options{})
	ca := dialClient(t, a.url)
	quietB := dialClient(t, b.url)
	join(quietB, "quiet")
	loudB := dialClient(t, b.url)

	if err := a.nsp.Except("quiet").Emit("news"); err != nil {
		t.Fatal(err)
	}
	ca.MustGet("news")
	loudB.MustGet("news")
	if err := a.nsp.Except(loudB.SID).Emit("not-loud"); err != nil {
		t.Fatal(err)
	}
	ca.MustGet("not-loud")
	quietB.MustGet("not-loud")
	if err := b.socket(t, loudB.SID).Broadcast().Emit("from-loud"); err != nil {
		t.Fatal(err)
	}
	ca.MustGet("from-loud")
	if err := a.nsp.Local().Emit("only-a"); err != nil {
		t.Fatal(err)
	}
	ca.MustGet("only-a")

	if err := a.nsp.Emit("sentinel"); err != nil {
		t.Fatal(err)
	}
	if before, _, err := quietB.Until("sentinel"); err != nil || !slices.Equal(siotest.Names(before), []string{"from-loud"}) {
		t.Fatalf("quiet socket got %v before the sentinel (%v), want [from-loud]", siotest.Names(before), err)
	}
	if err := loudB.NothingBefore("sentinel"); err != nil {
		t.Fatalf("excepted socket: %v", err)
	}
	if err := ca.NothingBefore("sentinel"); err != nil {
		t.Fatal(err)
	}
}

// fetchSockets and allRooms collect every node's answer; socketsJoin,
// socketsLeave and disconnectSockets act on every node.
func TestClusterRemoteOperations(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	a := startGoNode(t, addr, Options{})
	b := startGoNode(t, addr, Options{})
	ca := dialClient(t, a.url)
	join(ca, "r")
	cb := dialClient(t, b.url)
	join(cb, "r")
	join(cb, "only-b")
	cb2 := dialClient(t, b.url)
	type profile struct {
		Name string `json:"name"`
	}
	b.socket(t, cb.SID).SetData(profile{Name: "bea"})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	all, err := a.nsp.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]socketio.SocketInfo{}
	for _, s := range all {
		byID[s.ID] = s
	}
	if len(all) != 3 || len(byID) != 3 {
		t.Fatalf("fetchSockets: %d sockets %v, want ca, cb, cb2", len(all), all)
	}
	if s := byID[ca.SID]; s.Local == nil {
		t.Error("the local socket has no Local")
	}
	rb := byID[cb.SID]
	if rb.Local != nil {
		t.Error("a remote socket has Local")
	}
	rooms := append([]string(nil), rb.Rooms...)
	sort.Strings(rooms)
	want := []string{cb.SID, "only-b", "r"}
	sort.Strings(want)
	if !slices.Equal(rooms, want) {
		t.Errorf("remote socket rooms %v, want %v", rooms, want)
	}
	if !reflect.DeepEqual(rb.Data, map[string]any{"name": "bea"}) {
		t.Errorf("remote socket data %#v", rb.Data)
	}
	if rb.Handshake["address"] != "127.0.0.1" {
		t.Errorf("remote handshake %v", rb.Handshake)
	}
	if d := byID[cb2.SID].Data; !reflect.DeepEqual(d, map[string]any{}) {
		t.Errorf("remote socket without data: %#v, want {} as Node's", d)
	}
	inR, err := a.nsp.To("r").FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := infoIDs(inR); !slices.Equal(ids, sorted(ca.SID, cb.SID)) {
		t.Fatalf("fetchSockets in r: %v", ids)
	}

	allRooms, err := a.nsp.Adapter().AllRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"r", "only-b", ca.SID, cb.SID, cb2.SID} {
		if !slices.Contains(allRooms, r) {
			t.Errorf("allRooms %v lacks %s", allRooms, r)
		}
	}
	if n := len(allRooms); n != 5 {
		t.Errorf("allRooms %v: each room once", allRooms)
	}

	// socketsJoin from a reaches b's socket before a's next broadcast.
	a.nsp.To("only-b").SocketsJoin("joined")
	if err := a.nsp.To("joined").Emit("to-joined"); err != nil {
		t.Fatal(err)
	}
	cb.MustGet("to-joined")
	a.nsp.To("r").SocketsLeave("r")
	if err := a.nsp.To("r").Emit("to-r"); err != nil {
		t.Fatal(err)
	}
	if err := a.nsp.Emit("sentinel"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*siotest.Client{ca, cb} {
		if err := c.NothingBefore("sentinel"); err != nil {
			t.Fatalf("after socketsLeave: %v", err)
		}
	}

	a.nsp.To("joined").DisconnectSockets(false)
	cb.MustGet("disconnect")
	left, err := a.nsp.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := infoIDs(left); !slices.Equal(ids, sorted(ca.SID, cb2.SID)) {
		t.Fatalf("after disconnectSockets: %v", ids)
	}
	if err := a.nsp.Emit("sentinel"); err != nil {
		t.Fatal(err)
	}
	if err := cb2.NothingBefore("sentinel"); err != nil {
		t.Fatal(err)
	}
}

func infoIDs(list []socketio.SocketInfo) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

// serverSideEmitWithAck gets one answer per other node, which only nodes
// with a handler give; serverSideEmit reaches the others, not the sender.
func TestClusterServerSideEmit(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	nodes := []*goNode{startGoNode(t, addr, Options{}), startGoNode(t, addr, Options{}), startGoNode(t, addr, Options{})}
	got := make(chan string, 10)
	for i, n := range nodes {
		name := string(rune('a' + i))
		n.nsp.OnServerSideEmit("node-info", func(args []any, ack socketio.AckFunc) {
			if ack != nil {
				ack(map[string]any{"node": name, "sockets": n.nsp.Len(), "args": args})
			}
		})
		n.nsp.OnServerSideEmit("hello", func(args []any, ack socketio.AckFunc) {
			if ack != nil || !reflect.DeepEqual(args, []any{"there", float64(2)}) {
				got <- "bad call on " + name
				return
			}
			got <- name
		})
	}
	_ = dialClient(t, nodes[1].url)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	answers, err := nodes[0].nsp.ServerSideEmitWithAck(ctx, "node-info", "x")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(answers, func(i, j int) bool { return field(answers[i], "node").(string) < field(answers[j], "node").(string) })
	want := []any{
		map[string]any{"node": "b", "sockets": float64(1), "args": []any{"x"}},
		map[string]any{"node": "c", "sockets": float64(0), "args": []any{"x"}},
	}
	if !reflect.DeepEqual(answers, want) {
		t.Fatalf("answers %v, want %v", answers, want)
	}

	if err := nodes[0].nsp.ServerSideEmit("hello", "there", 2); err != nil {
		t.Fatal(err)
	}
	calls := []string{recvWithin(t, got), recvWithin(t, got)}
	sort.Strings(calls)
	if !slices.Equal(calls, []string{"b", "c"}) {
		t.Fatalf("serverSideEmit reached %v, want [b c]", calls)
	}

	// A node without a handler does not answer: the wait ends on the
	// request timeout with the answers that came.
	startGoNode(t, addr, Options{}) // a fourth node, with no handler
	start := time.Now()
	answers, err = nodes[0].nsp.ServerSideEmitWithAck(ctx, "node-info")
	if !errors.Is(err, ErrTimeout) || len(answers) != 2 {
		t.Fatalf("with a node without handler: %v, %v; want 2 answers and ErrTimeout", answers, err)
	}
	if time.Since(start) > wait {
		t.Fatal("the request timeout did not end the wait")
	}
}

// recvWithin receives from ch, failing the test if nothing comes within
// wait.
func recvWithin[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatal("nothing within", wait)
		var zero T
		return zero
	}
}

// A broadcast with acks collects the answers of both nodes' clients (each
// remote answer being the client's first argument, as between Node
// servers), and ends on timeout with the answers so far when one is
// missing.
func TestClusterBroadcastWithAck(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	a := startGoNode(t, addr, Options{})
	b := startGoNode(t, addr, Options{})
	clients := map[string]*siotest.Client{"a1": dialClient(t, a.url), "b1": dialClient(t, b.url), "b2": dialClient(t, b.url)}
	var wg sync.WaitGroup
	for name, c := range clients {
		join(c, "r")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ev, err := c.Until("question")
			if err != nil {
				t.Error(err)
				return
			}
			c.Ack(ev.AckID, map[string]any{"from": name, "n": first(ev.Args)}, "second")
		}()
	}
	_ = dialClient(t, b.url) // not in r
	answers, err := emitWithAck(t, a.nsp.To("r"), wait, "question", 41)()
	wg.Wait()
	if err != nil || len(answers) != 3 {
		t.Fatalf("EmitWithAck: %v, %v", answers, err)
	}
	var from []string
	for _, ans := range answers {
		name, _ := field(first(ans), "from").(string)
		from = append(from, name)
		wantLen := 1 // remote: the first argument only
		if name == "a1" {
			wantLen = 2
		}
		if len(ans) != wantLen || field(first(ans), "n") != float64(41) {
			t.Errorf("answer %v", ans)
		}
	}
	sort.Strings(from)
	if !slices.Equal(from, []string{"a1", "b1", "b2"}) {
		t.Fatalf("answers from %v", from)
	}

	// b2 does not answer this time.
	for _, name := range []string{"a1", "b1"} {
		c := clients[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ev, err := c.Until("again")
			if err == nil {
				c.Ack(ev.AckID, name)
			}
		}()
	}
	answers, err = emitWithAck(t, b.nsp.To("r"), 500*time.Millisecond, "again")()
	wg.Wait()
	if !errors.Is(err, socketio.ErrAckTimeout) || len(answers) != 2 {
		t.Fatalf("with one client silent: %v, %v; want 2 answers and ErrAckTimeout", answers, err)
	}
}
