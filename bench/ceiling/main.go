// Command ceiling is the benchmarks' practical ceiling: a bare WebSocket
// broadcast server (gorilla/websocket, net/http) that speaks only as much of
// Engine.IO v4 and Socket.IO as sioload needs to drive its four scenarios
// against it. It is not a Socket.IO server and not part of the product.
//
// What it does, per WebSocket connection to /socket.io/?EIO=4&transport=websocket:
//
//   - sends the Engine.IO open packet, answers a namespace CONNECT ("40/chat,")
//     with 40/chat,{"sid":...}, and pings every -ping-interval from one shared
//     ticker (a connection silent for interval+timeout is dropped);
//   - register: acks [{"ok":true}] (no name bookkeeping);
//   - join: adds the connection to the room named in the payload and acks
//     [{"ok":true}] (no history, no member list, no "joined");
//   - message and mousemove: re-frames the client's own EVENT without its ack
//     id (42/chat,["message",{...}]) and queues that one pre-encoded frame
//     (a websocket.PreparedMessage) to every other member of the room; acks
//     a message with [{"ok":true}] (no validation, no rate limit, no history);
//     a mousemove is volatile: skipped for a receiver with a write pending;
//   - rtt: acks [{"ok":true,"ts":<ms>}]; anything else with an ack id gets
//     [{"ok":false}].
//
// Writes go through a small per-connection queue drained by a writer
// goroutine that exists only while there is something to write, so an idle
// connection costs one goroutine (its reader) and a slow receiver never
// blocks a broadcast. EIO=3 and polling are refused (HTTP 400).
//
// Usage: ceiling [-addr 127.0.0.1:3200]. GET /healthz answers 200.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/socketio-go/chatserver/internal/wire"
)

const (
	nsp          = "/chat"
	maxQueued    = 1024 // frames waiting for one connection; beyond, it is dropped
	writeTimeout = 10 * time.Second
	maxMessage   = 1 << 20
)

var (
	pingInterval = 25 * time.Second
	pingTimeout  = 20 * time.Second
)

// item is one queued frame: pre-encoded for broadcasts, raw bytes otherwise.
type item struct {
	pm  *websocket.PreparedMessage
	raw []byte
}

type conn struct {
	ws  *websocket.Conn
	sid string

	mu      sync.Mutex
	queue   []item
	writing bool
	closed  bool

	rooms map[string]struct{} // reader goroutine only
}

// enqueue queues a frame and starts the writer if none runs. volatile frames
// are dropped for a connection that has a write pending, as Socket.IO drops
// volatile packets for a transport that is not writable.
func (c *conn) enqueue(it item, volatile bool) {
	c.mu.Lock()
	if c.closed || (volatile && c.writing) {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= maxQueued {
		c.closed = true
		c.mu.Unlock()
		_ = c.ws.Close() // too slow a reader
		return
	}
	c.queue = append(c.queue, it)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writer()
	}
}

func (c *conn) writer() {
	var batch []item
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			c.writing = false
			c.queue = c.queue[:0]
			if cap(c.queue) > 8 {
				c.queue = nil // keep idle connections small
			}
			c.mu.Unlock()
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.mu.Unlock()
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		for i, it := range batch {
			var err error
			if it.pm != nil {
				err = c.ws.WritePreparedMessage(it.pm)
			} else {
				err = c.ws.WriteMessage(websocket.TextMessage, it.raw)
			}
			batch[i] = item{}
			if err != nil {
				c.mu.Lock()
				c.closed = true
				c.mu.Unlock()
				_ = c.ws.Close()
			}
		}
	}
}

// hub holds the connections and rooms.
type hub struct {
	mu    sync.RWMutex
	conns map[*conn]struct{}
	rooms map[string]map[*conn]struct{}
	seq   atomic.Uint64
}

func (h *hub) add(c *conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	for r := range c.rooms {
		if m := h.rooms[r]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(h.rooms, r)
			}
		}
	}
	h.mu.Unlock()
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
}

func (h *hub) join(c *conn, room string) {
	if _, ok := c.rooms[room]; ok {
		return
	}
	if c.rooms == nil {
		c.rooms = make(map[string]struct{}, 1)
	}
	c.rooms[room] = struct{}{}
	h.mu.Lock()
	m := h.rooms[room]
	if m == nil {
		m = make(map[*conn]struct{})
		h.rooms[room] = m
	}
	m[c] = struct{}{}
	h.mu.Unlock()
}

// broadcast queues one pre-encoded frame to every member of room but from.
func (h *hub) broadcast(from *conn, room string, frame []byte, volatile bool) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		return
	}
	h.mu.RLock()
	for c := range h.rooms[room] {
		if c != from {
			c.enqueue(item{pm: pm}, volatile)
		}
	}
	h.mu.RUnlock()
}

// pingAll pings every connection from one ticker.
func (h *hub) pingAll() {
	ping := []byte{wire.EPing}
	h.mu.RLock()
	for c := range h.conns {
		c.enqueue(item{raw: ping}, false)
	}
	h.mu.RUnlock()
}

func (h *hub) newSID() string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[4:], h.seq.Add(1))
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().UnixNano()))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	// Write buffers go back to the pool between writes, so idle connections
	// hold none.
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":3,"message":"Bad request"}`))
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxMessage)
	c := &conn{ws: ws, sid: h.newSID()}
	h.add(c)
	defer func() {
		h.remove(c)
		_ = ws.Close()
	}()
	open := fmt.Sprintf(`0{"sid":%q,"upgrades":[],"pingInterval":%d,"pingTimeout":%d,"maxPayload":%d}`,
		c.sid, pingInterval.Milliseconds(), pingTimeout.Milliseconds(), maxMessage)
	c.enqueue(item{raw: []byte(open)}, false)
	h.readLoop(c)
}

var (
	connectReply = []byte(`40` + nsp + `,{"sid":"`)
	okAck        = []byte(`[{"ok":true}]`)
	notOKAck     = []byte(`[{"ok":false}]`)
	evMessage    = []byte("message")
	evMousemove  = []byte("mousemove")
	evRegister   = []byte("register")
	evJoin       = []byte("join")
	evRTT        = []byte("rtt")
)

func (h *hub) readLoop(c *conn) {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(pingInterval + pingTimeout))
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.TextMessage || len(data) == 0 {
			continue
		}
		switch data[0] {
		case wire.EPong:
			continue
		case wire.EClose:
			return
		case wire.EMessage:
		default:
			continue
		}
		p, err := wire.ParsePacket(data[1:])
		if err != nil || string(p.Nsp) != nsp {
			continue
		}
		switch p.Type {
		case wire.Connect:
			reply := append(append([]byte(nil), connectReply...), c.sid...)
			c.enqueue(item{raw: append(reply, '"', '}')}, false)
		case wire.Disconnect:
			return
		case wire.Event:
			h.event(c, p)
		}
	}
}

func (h *hub) event(c *conn, p wire.Packet) {
	name, ok := wire.EventName(p.Data)
	if !ok {
		return
	}
	arg, _ := wire.Element(p.Data, 1)
	var ack []byte
	switch {
	case bytes.Equal(name, evMessage), bytes.Equal(name, evMousemove):
		if room, ok := roomOf(arg); ok {
			// The client's own frame without its ack id: 42/chat,["message",{...}]
			frame := wire.AppendMessage(nil, wire.Event, nsp, wire.NoID, p.Data)
			h.broadcast(c, room, frame, bytes.Equal(name, evMousemove))
		}
		ack = okAck
	case bytes.Equal(name, evJoin):
		if room, ok := roomOf(arg); ok {
			h.join(c, room)
			ack = okAck
		} else {
			ack = notOKAck
		}
	case bytes.Equal(name, evRegister):
		ack = okAck
	case bytes.Equal(name, evRTT):
		ack = strconv.AppendInt([]byte(`[{"ok":true,"ts":`), time.Now().UnixMilli(), 10)
		ack = append(ack, `}]`...)
	default:
		ack = notOKAck
	}
	if p.ID != wire.NoID {
		c.enqueue(item{raw: wire.AppendMessage(nil, wire.Ack, nsp, p.ID, ack)}, false)
	}
}

func roomOf(arg []byte) (string, bool) {
	v, ok := wire.Field(arg, "room")
	if !ok {
		return "", false
	}
	s, ok := wire.StringValue(v)
	if !ok || len(s) == 0 {
		return "", false
	}
	return string(s), true
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3200", "listen address (loopback)")
	flag.DurationVar(&pingInterval, "ping-interval", pingInterval, "Engine.IO ping interval")
	flag.DurationVar(&pingTimeout, "ping-timeout", pingTimeout, "Engine.IO ping timeout")
	flag.Parse()

	h := &hub{conns: make(map[*conn]struct{}), rooms: make(map[string]map[*conn]struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket.io/", h.serveWS)
	mux.HandleFunc("/socket.io", h.serveWS)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for range t.C {
			h.pingAll()
		}
	}()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		_ = srv.Close()
	}()
	log.Printf("ceiling: bare WebSocket broadcast server on http://%s (pid %d)", ln.Addr(), os.Getpid())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
