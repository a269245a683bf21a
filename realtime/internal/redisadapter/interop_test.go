package redisadapter

// Interoperability with the real Node packages: a Node socket.io 4.8 server
// with @socket.io/redis-adapter and a @socket.io/redis-emitter
// (testdata/node-peer.js, from the repository's node_modules) in one Redis
// cluster with two Go servers; raw Socket.IO clients on all three.
//
// Needs node on PATH and `npm ci` run at the repository root; skips
// without them unless CI=true.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/redistest"
	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/internal/syncbuf"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// nodePeer is the running testdata/node-peer.js.
type nodePeer struct {
	stdin  io.WriteCloser
	url    string
	uid    string
	stderr *syncbuf.Buffer
	exited chan struct{}

	mu      sync.Mutex
	next    int
	pending map[int]chan nodeReply
}

type nodeReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// repoRoot finds the directory whose node_modules has the Node packages.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-adapter", "package.json")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func startNodePeer(t *testing.T, redisAddr string) *nodePeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		needed(t, "node is not on PATH: the interoperability tests need Node")
	}
	if _, ok := repoRoot(); !ok {
		needed(t, "node_modules with @socket.io/redis-adapter not found: run npm ci at the repository root")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "node-peer.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, "redis://"+redisAddr)
	p := &nodePeer{stderr: &syncbuf.Buffer{}, exited: make(chan struct{}), pending: map[int]chan nodeReply{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.stdin.Close() // the script closes its server and exits
		select {
		case <-p.exited:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	ready := make(chan map[string]any, 1)
	go p.read(bufio.NewReader(stdout), ready)
	select {
	case m, ok := <-ready:
		if !ok {
			t.Fatalf("node-peer.js exited before it was ready: %s", p.stderr.String())
		}
		p.url, _ = m["url"].(string)
		p.uid, _ = m["uid"].(string)
	case <-time.After(2 * wait):
		t.Fatalf("node-peer.js not ready within %v: %s", 2*wait, p.stderr.String())
	}
	return p
}

func (p *nodePeer) read(r *bufio.Reader, ready chan map[string]any) {
	defer func() {
		p.mu.Lock()
		for id, ch := range p.pending {
			close(ch)
			delete(p.pending, id)
		}
		p.mu.Unlock()
	}()
	first := true
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if first {
				close(ready)
			}
			return
		}
		if first {
			first = false
			var m map[string]any
			_ = json.Unmarshal(line, &m)
			ready <- m
			continue
		}
		var rep nodeReply
		if json.Unmarshal(line, &rep) != nil {
			continue
		}
		p.mu.Lock()
		ch := p.pending[rep.ID]
		delete(p.pending, rep.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// call runs an op of the script and decodes its result into out (if not
// nil); Node errors fail the test.
func (p *nodePeer) call(t *testing.T, out any, op string, params map[string]any) {
	t.Helper()
	if err := p.try(out, op, params); err != nil {
		t.Fatal(err)
	}
}

func (p *nodePeer) try(out any, op string, params map[string]any) error {
	req := map[string]any{}
	for k, v := range params {
		req[k] = v
	}
	p.mu.Lock()
	p.next++
	id := p.next
	ch := make(chan nodeReply, 1)
	p.pending[id] = ch
	p.mu.Unlock()
	req["id"], req["op"] = id, op
	b, _ := json.Marshal(req)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("node %s: %v", op, err)
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			return fmt.Errorf("node %s: node-peer.js exited: %s", op, p.stderr.String())
		}
		if rep.Error != "" {
			return fmt.Errorf("node %s: %s", op, rep.Error)
		}
		if out != nil {
			if err := json.Unmarshal(rep.Result, out); err != nil {
				return fmt.Errorf("node %s: result %s: %v", op, rep.Result, err)
			}
		}
		return nil
	case <-time.After(2 * wait):
		return fmt.Errorf("node %s: no answer within %v", op, 2*wait)
	}
}

// bin is binary data for node-peer.js (a Buffer there).
func bin(b []byte) map[string]any {
	return map[string]any{"$bin": base64.StdEncoding.EncodeToString(b)}
}

// answerAll makes c acknowledge its next event named event with
// {from: name, n: first argument + 1}.
func answerAll(t *testing.T, wg *sync.WaitGroup, c *siotest.Client, event, name string) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, ev, err := c.Until(event)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		n, _ := first(ev.Args).(float64)
		c.Ack(ev.AckID, map[string]any{"from": name, "n": n + 1}, "second argument")
	}()
}

func TestNodeInterop(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	peer := startNodePeer(t, addr)
	a := startGoNode(t, addr, Options{})
	b := startGoNode(t, addr, Options{})
	peer.call(t, nil, "waitServers", map[string]any{"n": 3}) // Node's adapter subscribes in the background

	t.Run("a Go broadcast reaches Node's clients, text and binary, as notepack writes it", func(t *testing.T) {
		nc := dialClient(t, peer.url)
		join(nc, "r1")
		ca := dialClient(t, a.url)
		join(ca, "r1")
		if err := a.nsp.To("r1").Emit("go-to-node", "hi", map[string]any{"n": 1, "bin": []byte{1, 2}}, []byte{3}); err != nil {
			t.Fatal(err)
		}
		want := []any{"hi", map[string]any{"n": float64(1), "bin": []byte{1, 2}}, []byte{3}}
		for _, c := range []*siotest.Client{nc, ca} {
			if ev := c.MustGet("go-to-node"); !reflect.DeepEqual(ev.Args, want) {
				t.Fatalf("got %#v, want %#v", ev.Args, want)
			}
		}
		if err := a.socket(t, ca.SID).To("r1").Emit("from-go-socket", 2.5); err != nil {
			t.Fatal(err)
		}
		if ev := nc.MustGet("from-go-socket"); !reflect.DeepEqual(ev.Args, []any{2.5}) {
			t.Fatalf("got %v", ev.Args)
		}

		var w struct {
			Channel   string `json:"channel"`
			Raw       string `json:"raw"`
			Reencoded string `json:"reencoded"`
			Value     []any  `json:"value"`
		}
		peer.call(t, &w, "wire", map[string]any{"event": "from-go-socket"})
		if w.Raw == "" || w.Raw != w.Reencoded {
			raw, _ := base64.StdEncoding.DecodeString(w.Raw)
			re, _ := base64.StdEncoding.DecodeString(w.Reencoded)
			t.Fatalf("Go published\n% x\nnotepack writes\n% x", raw, re)
		}
		wantValue := []any{a.adapter().UID(), map[string]any{"type": float64(2), "data": []any{"from-go-socket", 2.5}, "nsp": chatNsp},
			map[string]any{"rooms": []any{"r1"}, "except": []any{ca.SID}, "flags": map[string]any{}}}
		if w.Channel != bcastChan+"r1#" || !reflect.DeepEqual(w.Value, wantValue) {
			t.Fatalf("Node read %v on %s, want %v", w.Value, w.Channel, wantValue)
		}
		peer.call(t, nil, "emit", map[string]any{"event": "sentinel"})
		if err := ca.NothingBefore("sentinel"); err != nil {
			t.Fatalf("the sending socket: %v", err)
		}
	})

	t.Run("a Node broadcast reaches Go clients on both nodes", func(t *testing.T) {
		ca := dialClient(t, a.url)
		join(ca, "r2")
		cb := dialClient(t, b.url)
		join(cb, "r2")
		out := dialClient(t, a.url)
		peer.call(t, nil, "emit", map[string]any{"rooms": []string{"r2"}, "event": "node-to-go",
			"args": []any{"hello", bin([]byte{0, 255}), map[string]any{"date": map[string]any{"$date": "2024-01-02T03:04:05.060Z"}, "n": 7, "x": 0.25}}})
		want := []any{"hello", []byte{0, 255}, map[string]any{"date": "2024-01-02T03:04:05.060Z", "n": float64(7), "x": 0.25}}
		for _, c := range []*siotest.Client{ca, cb} {
			if ev := c.MustGet("node-to-go"); !reflect.DeepEqual(ev.Args, want) {
				t.Fatalf("got %#v, want %#v", ev.Args, want)
			}
		}
		peer.call(t, nil, "emit", map[string]any{"rooms": []string{"r2", "other"}, "except": []string{cb.SID}, "event": "two-rooms"})
		ca.MustGet("two-rooms")
		peer.call(t, nil, "emit", map[string]any{"event": "sentinel"})
		if err := out.NothingBefore("sentinel"); err != nil {
			t.Fatalf("outsider: %v", err)
		}
		if err := cb.NothingBefore("sentinel"); err != nil {
			t.Fatalf("excepted: %v", err)
		}
	})

	t.Run("the emitter reaches Go clients: room, all, except, socketsJoin", func(t *testing.T) {
		ca := dialClient(t, a.url)
		join(ca, "r3")
		cb := dialClient(t, b.url)
		join(cb, "r3")
		out := dialClient(t, b.url)
		peer.call(t, nil, "emitter", map[string]any{"rooms": []string{"r3"}, "event": "emitted", "args": []any{bin([]byte{9, 9}), map[string]any{"date": map[string]any{"$date": "2024-05-06T07:08:09.500Z"}}}})
		want := []any{[]byte{9, 9}, map[string]any{"date": "2024-05-06T07:08:09.500Z"}}
		for _, c := range []*siotest.Client{ca, cb} {
			if ev := c.MustGet("emitted"); !reflect.DeepEqual(ev.Args, want) {
				t.Fatalf("got %#v, want %#v", ev.Args, want)
			}
		}
		peer.call(t, nil, "emitter", map[string]any{"event": "to-all", "args": []any{"everyone"}})
		for _, c := range []*siotest.Client{ca, cb, out} {
			c.MustGet("to-all")
		}
		peer.call(t, nil, "emitter", map[string]any{"rooms": []string{"r3"}, "except": []string{cb.SID}, "event": "not-cb"})
		ca.MustGet("not-cb")
		peer.call(t, nil, "emitterJoin", map[string]any{"rooms": []string{cb.SID}, "join": "emitter-room"})
		peer.call(t, nil, "emitter", map[string]any{"rooms": []string{"emitter-room"}, "event": "to-emitter-room"})
		cb.MustGet("to-emitter-room")
		peer.call(t, nil, "emitter", map[string]any{"event": "sentinel"})
		if err := out.NothingBefore("sentinel"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Node's fetchSockets and allRooms get the Go nodes' sockets", func(t *testing.T) {
		ca := dialClient(t, a.url)
		join(ca, "r4")
		a.socket(t, ca.SID).SetData(map[string]any{"name": "ann"})
		cb := dialClient(t, b.url)
		join(cb, "r4")
		join(cb, "r4b")
		nc := dialClient(t, peer.url)
		join(nc, "r4")
		type sock struct {
			ID        string         `json:"id"`
			Rooms     []string       `json:"rooms"`
			Data      any            `json:"data"`
			Handshake map[string]any `json:"handshake"`
		}
		var list []sock
		peer.call(t, &list, "fetchSockets", map[string]any{"rooms": []string{"r4"}})
		byID := map[string]sock{}
		for _, s := range list {
			byID[s.ID] = s
		}
		if len(list) != 3 || len(byID) != 3 || byID[ca.SID].ID == "" || byID[cb.SID].ID == "" || byID[nc.SID].ID == "" {
			t.Fatalf("fetchSockets in r4: %+v", list)
		}
		if rooms := slices.Sorted(slices.Values(byID[cb.SID].Rooms)); !slices.Equal(rooms, sorted(cb.SID, "r4", "r4b")) {
			t.Errorf("rooms of the socket on b: %v", rooms)
		}
		if !reflect.DeepEqual(byID[ca.SID].Data, map[string]any{"name": "ann"}) || !reflect.DeepEqual(byID[cb.SID].Data, map[string]any{}) {
			t.Errorf("data %v, %v", byID[ca.SID].Data, byID[cb.SID].Data)
		}
		if hs := byID[ca.SID].Handshake; hs["address"] != "127.0.0.1" || field(hs["query"], "EIO") != "4" {
			t.Errorf("handshake %v", hs)
		}
		start := time.Now()
		var none []sock
		peer.call(t, &none, "fetchSockets", map[string]any{"rooms": []string{"no-such-room"}})
		if len(none) != 0 {
			t.Fatalf("fetchSockets of an empty room: %v", none)
		}
		if d := time.Since(start); d > 2*time.Second { // Node's requestsTimeout is 3s
			t.Fatalf("fetchSockets of an empty room took %v: an answer was not counted", d)
		}
		var rooms []string
		peer.call(t, &rooms, "allRooms", nil)
		for _, r := range []string{"r4", "r4b", ca.SID, cb.SID, nc.SID} {
			if !slices.Contains(rooms, r) {
				t.Errorf("allRooms lacks %s", r)
			}
		}
		// And the other way: Go's fetchSockets gets Node's socket.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		infos, err := a.nsp.To("r4").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ids := infoIDs(infos); !slices.Equal(ids, sorted(ca.SID, cb.SID, nc.SID)) {
			t.Fatalf("Go's fetchSockets in r4: %v", ids)
		}
	})

	t.Run("server-side events both ways, answered by the handlers", func(t *testing.T) {
		got := make(chan []any, 4)
		for i, n := range []*goNode{a, b} {
			name := fmt.Sprintf("go-%c", 'a'+i)
			n.nsp.OnServerSideEmit("node-info", func(_ []any, ack socketio.AckFunc) {
				if ack != nil {
					ack(map[string]any{"node": name, "sockets": n.nsp.Len()})
				}
			})
			n.nsp.OnServerSideEmit("hello", func(args []any, ack socketio.AckFunc) { got <- append([]any{name, ack != nil}, args...) })
		}
		b.nsp.OnServerSideEmit("whoami", func(args []any, ack socketio.AckFunc) {
			ack(map[string]any{"node": "go-b", "args": args})
		})

		var answers []map[string]any
		peer.call(t, &answers, "serverSideEmitWithAck", map[string]any{"event": "node-info"})
		sort.Slice(answers, func(i, j int) bool { return answers[i]["node"].(string) < answers[j]["node"].(string) })
		if len(answers) != 2 || answers[0]["node"] != "go-a" || answers[1]["node"] != "go-b" {
			t.Fatalf("Node's serverSideEmitWithAck(node-info): %v, want one answer per Go node", answers)
		}
		if _, ok := answers[0]["sockets"].(float64); !ok {
			t.Fatalf("answer %v", answers[0])
		}
		peer.call(t, nil, "serverSideEmit", map[string]any{"event": "hello", "args": []any{"from node", 1}})
		for range 2 {
			select {
			case args := <-got:
				if len(args) != 4 || args[1] != false || args[2] != "from node" || args[3] != float64(1) {
					t.Fatalf("Go handler got %v", args)
				}
			case <-time.After(wait):
				t.Fatal("Node's serverSideEmit did not reach both Go nodes")
			}
		}

		if err := a.nsp.ServerSideEmit("hello", "from go", map[string]any{"n": 2}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		res, err := a.nsp.ServerSideEmitWithAck(ctx, "whoami", 1, "two")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(res, func(i, j int) bool { return field(res[i], "node").(string) < field(res[j], "node").(string) })
		want := []any{
			map[string]any{"node": "go-b", "args": []any{float64(1), "two"}},
			map[string]any{"node": "node", "sockets": field(res[1], "sockets"), "args": []any{float64(1), "two"}},
		}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("Go's serverSideEmitWithAck(whoami): %v, want %v", res, want)
		}
		// Node handled the "hello" published before "whoami".
		var events [][]any
		peer.call(t, &events, "serverEvents", nil)
		if !reflect.DeepEqual(events, [][]any{{"from go", map[string]any{"n": float64(2)}}}) {
			t.Fatalf("Node's hello handler got %v", events)
		}
	})

	t.Run("broadcasts with acks both ways", func(t *testing.T) {
		ca := dialClient(t, a.url)
		join(ca, "r5")
		cb := dialClient(t, b.url)
		join(cb, "r5")
		nc := dialClient(t, peer.url)
		join(nc, "r5")
		var wg sync.WaitGroup
		for name, c := range map[string]*siotest.Client{"ca": ca, "cb": cb, "nc": nc} {
			answerAll(t, &wg, c, "ping", name)
		}
		var answers []map[string]any
		peer.call(t, &answers, "emitWithAck", map[string]any{"rooms": []string{"r5"}, "event": "ping", "args": []any{41}})
		wg.Wait()
		sort.Slice(answers, func(i, j int) bool { return answers[i]["from"].(string) < answers[j]["from"].(string) })
		if want := []map[string]any{{"from": "ca", "n": float64(42)}, {"from": "cb", "n": float64(42)}, {"from": "nc", "n": float64(42)}}; !reflect.DeepEqual(answers, want) {
			t.Fatalf("Node's emitWithAck: %v, want %v", answers, want)
		}

		for name, c := range map[string]*siotest.Client{"ca": ca, "cb": cb, "nc": nc} {
			answerAll(t, &wg, c, "pong", name)
		}
		goAnswers, err := emitWithAck(t, a.nsp.To("r5"), wait, "pong", 1)()
		wg.Wait()
		if err != nil || len(goAnswers) != 3 {
			t.Fatalf("Go's EmitWithAck: %v, %v", goAnswers, err)
		}
		var from []string
		for _, ans := range goAnswers {
			from = append(from, field(first(ans), "from").(string))
		}
		sort.Strings(from)
		if !slices.Equal(from, []string{"ca", "cb", "nc"}) {
			t.Fatalf("answers from %v", from)
		}
	})

	t.Run("socketsJoin and disconnectSockets both ways", func(t *testing.T) {
		ca := dialClient(t, a.url)
		cb := dialClient(t, b.url)
		nc := dialClient(t, peer.url)
		nc2 := dialClient(t, peer.url)

		peer.call(t, nil, "socketsJoin", map[string]any{"rooms": []string{ca.SID}, "join": "node-joined"})
		peer.call(t, nil, "emit", map[string]any{"rooms": []string{"node-joined"}, "event": "to-node-joined"})
		ca.MustGet("to-node-joined")

		a.nsp.To(nc.SID, cb.SID).SocketsJoin("go-joined")
		if err := a.nsp.To("go-joined").Emit("to-go-joined"); err != nil {
			t.Fatal(err)
		}
		nc.MustGet("to-go-joined")
		cb.MustGet("to-go-joined")
		var rooms []string
		peer.call(t, &rooms, "socketRooms", map[string]any{"sid": nc.SID})
		if !slices.Contains(rooms, "go-joined") {
			t.Fatalf("Node's socket rooms %v", rooms)
		}

		peer.call(t, nil, "disconnectSockets", map[string]any{"rooms": []string{"go-joined"}})
		nc.MustGet("disconnect")
		cb.MustGet("disconnect")
		a.nsp.To(nc2.SID).DisconnectSockets(false)
		nc2.MustGet("disconnect")
		if err := a.nsp.Emit("sentinel"); err != nil {
			t.Fatal(err)
		}
		if err := ca.NothingBefore("sentinel"); err != nil {
			t.Fatal(err)
		}
	})
}
