//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketio-go/chatserver/internal/wire"
)

// Handler receives what the server sends a connection's namespace. It runs
// on the connection's read goroutine; data is only valid during the call.
type Handler interface {
	// OnEvent gets the data of an EVENT packet: ["name",args...].
	OnEvent(c *Conn, data []byte)
	// OnAck gets an ACK that no Call is waiting for.
	OnAck(c *Conn, id int64, data []byte)
}

// connConfig is what every connection of a run shares.
type connConfig struct {
	tr        transports
	base      *url.URL // http://127.0.0.1:PORT/socket.io/
	eio       int      // 3 or 4
	polling   bool
	engine    bool          // Engine.IO only: no namespace, messages are echoes
	nsp       string        // "/chat"
	timeout   time.Duration // bound on one request, write or call
	pongDelay time.Duration
	maxRead   int // largest message or poll response accepted
	failures  atomic.Int64
	pollQuery string // EIO=..&transport=polling[&b64=1]
	wsURL     string
	connectPk []byte // 40/chat,
	pongPk    []byte // 3
	pingPk    []byte // 2
}

func newConnConfig(tr transports, base *url.URL, eio int, polling, engine bool, nsp string, timeout, pongDelay time.Duration) *connConfig {
	cc := &connConfig{
		tr: tr, base: base, eio: eio, polling: polling, engine: engine, nsp: nsp,
		timeout: timeout, pongDelay: pongDelay, maxRead: 8 << 20,
		connectPk: wire.AppendMessage(nil, wire.Connect, nsp, wire.NoID, nil),
		pongPk:    []byte{wire.EPong},
		pingPk:    []byte{wire.EPing},
	}
	q := "EIO=" + strconv.Itoa(eio)
	cc.pollQuery = q + "&transport=polling"
	if eio == 3 {
		cc.pollQuery += "&b64=1" // never a binary payload
	}
	ws := *base
	ws.Scheme = "ws"
	ws.RawQuery = q + "&transport=websocket"
	cc.wsURL = ws.String()
	return cc
}

var (
	errClosed       = errors.New("connection closed")
	errServerClose  = errors.New("server closed the session")
	errCallTimeout  = errors.New("ack timeout")
	errEchoTimeout  = errors.New("echo timeout")
	errNspRefused   = errors.New("namespace connect refused")
	errKicked       = errors.New("server disconnected the namespace")
	errSendOverflow = errors.New("polling send queue overflow")
)

type callResult struct {
	id   int64
	ok   bool
	data []byte // only when the call asked for it
}

// Conn is one Socket.IO client connected to one namespace over WebSocket or
// HTTP long-polling, or, with connConfig.engine, a bare Engine.IO session.
// Its read loop runs on its own goroutine (plus, for polling, a POST
// goroutine while there is something to send).
type Conn struct {
	cc  *connConfig
	idx int
	h   Handler

	pingInterval time.Duration
	pingTimeout  time.Duration
	connected    bool // the reader's: the dialing goroutine, then a WebSocket loop or the poll goroutine

	ws      *rawWS
	deliver func([]byte) error // c.handle, made once

	pollURL  string
	ctx      context.Context // cancelled by close, for polling requests
	cancel   context.CancelFunc
	pmu      sync.Mutex
	out      []byte // pending polling payload
	flushing bool

	rbuf []byte // the reader's: a polling response, or a WebSocket message during setup

	ackSeq   atomic.Int64
	callMu   sync.Mutex // one Call at a time
	waitMu   sync.Mutex
	waitID   int64
	waitData bool
	waitEcho []byte // the message an Echo waits for
	waitCh   chan callResult
	callBuf  []byte
	callTmr  *time.Timer

	pingMu sync.Mutex
	v3ping *time.Timer // v3 clients ping the server

	closeOnce sync.Once
	done      chan struct{}
	errMu     sync.Mutex
	err       error
}

// dialConn opens a connection and joins the namespace (in engine mode, only
// the Engine.IO handshake), all within ctx.
func dialConn(ctx context.Context, cc *connConfig, idx int, h Handler) (*Conn, error) {
	c := &Conn{cc: cc, idx: idx, h: h, done: make(chan struct{}), waitCh: make(chan callResult, 1)}
	c.deliver = c.handle
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var err error
	if cc.polling {
		err = c.openPolling(ctx)
	} else {
		err = c.openWS(ctx)
	}
	if err != nil {
		c.shutdown(nil, true, false)
		return nil, err
	}
	if cc.eio == 3 {
		c.pingMu.Lock()
		c.v3ping = time.AfterFunc(c.pingInterval, c.sendV3Ping)
		c.pingMu.Unlock()
	}
	return c, nil
}

// Index is the connection's number within its run.
func (c *Conn) Index() int { return c.idx }

// Done is closed when the connection is closed, by Close or by a failure.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection failed; nil while it is up or after Close.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Alive reports whether the connection has neither failed nor been closed.
func (c *Conn) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close ends the session politely (a WebSocket close frame, or an Engine.IO
// close packet for polling) so the server frees it at once.
func (c *Conn) Close() { c.shutdown(nil, true, false) }

// Leave leaves the namespace first (a Socket.IO DISCONNECT, as
// socket.io-client's disconnect() sends when a page is left), then closes:
// the server ends the socket for good instead of keeping it for
// connection state recovery, as it does for a connection that just drops.
func (c *Conn) Leave() { c.shutdown(nil, true, !c.cc.engine) }

// Vanish drops the connection without a word, as a killed browser or a
// lost network does: a WebSocket's TCP connection is reset (no close
// frame, no DISCONNECT), a polling session stops polling (the request in
// flight is cut, no close packet; the kept-alive connections stay idle in
// the client's pool). The server learns of it from the reset, the cut
// request or the missing heartbeat, and keeps the socket for connection
// state recovery as for any dropped client.
func (c *Conn) Vanish() {
	c.shutdown(nil, false, false)
}

func (c *Conn) fail(err error) { c.shutdown(err, false, false) }

func (c *Conn) shutdown(err error, polite, leave bool) {
	reset := !polite && err == nil // only Vanish ends with neither a goodbye nor an error
	c.closeOnce.Do(func() {
		if err != nil {
			c.errMu.Lock()
			c.err = err
			c.errMu.Unlock()
			c.cc.failures.Add(1)
		}
		close(c.done)
		c.pingMu.Lock()
		if c.v3ping != nil {
			c.v3ping.Stop()
		}
		c.pingMu.Unlock()
		var bye []byte // the Engine.IO packet of the Socket.IO DISCONNECT
		if leave {
			bye = wire.AppendMessage(nil, wire.Disconnect, c.cc.nsp, wire.NoID, nil)
		}
		if c.ws != nil {
			if bye != nil {
				_ = c.writeWS(bye)
			}
			c.closeWS(polite, reset)
		}
		if c.cc.polling && polite && c.pollURL != "" {
			ctx, cancel := context.WithTimeout(context.Background(), min(c.cc.timeout, 2*time.Second))
			var body []byte
			if bye != nil {
				body = wire.AppendPayloadPacket(body, c.cc.eio, bye)
			}
			_ = c.post(ctx, wire.AppendPayloadPacket(body, c.cc.eio, []byte{wire.EClose}))
			cancel()
		}
		c.cancel()
	})
}

// readDeadline bounds the silence of a healthy connection: a v4 server pings
// every pingInterval, a v3 server answers our pings.
func (c *Conn) readDeadline() time.Duration {
	return c.pingInterval + c.pingTimeout + c.cc.timeout
}

// ---- WebSocket ----

func (c *Conn) openWS(ctx context.Context) error {
	w, err := dialWS(ctx, c.cc)
	if err != nil {
		return err
	}
	c.ws = w
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.cc.timeout)
	}
	pkt, err := c.readWS(ctx, deadline)
	if err != nil {
		return fmt.Errorf("reading open packet: %w", err)
	}
	if err := c.opened(pkt); err != nil {
		return err
	}
	if !c.cc.engine {
		if err := c.writeWS(c.cc.connectPk); err != nil {
			return err
		}
		for !c.connected {
			pkt, err := c.readWS(ctx, deadline)
			if err != nil {
				return fmt.Errorf("joining %s: %w", c.cc.nsp, err)
			}
			if err := c.handle(pkt); err != nil {
				return err
			}
		}
	}
	c.rbuf = nil // from here on the loop reads into a buffer of its own
	return c.startReading()
}

func (c *Conn) opened(pkt []byte) error {
	hs, err := wire.ParseOpen(pkt)
	if err != nil {
		return err
	}
	c.pingInterval = time.Duration(hs.PingInterval) * time.Millisecond
	c.pingTimeout = time.Duration(hs.PingTimeout) * time.Millisecond
	if c.cc.polling {
		c.pollURL = c.cc.base.String() + "?" + c.cc.pollQuery + "&sid=" + url.QueryEscape(hs.SID)
	}
	return nil
}

// readInto appends all of r to buf, growing it as needed up to max bytes.
func readInto(buf []byte, r io.Reader, max int) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= max {
				return buf, errors.New("message too large")
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// shrink drops a read buffer that a big message (a join with a long member
// list) grew, so that thousands of idle connections do not each keep one.
func (c *Conn) shrink() {
	if cap(c.rbuf) > 16<<10 {
		c.rbuf = nil
	}
}

func (c *Conn) openPolling(ctx context.Context) error {
	first := true
	body, err := c.get(ctx, c.cc.base.String()+"?"+c.cc.pollQuery)
	if err != nil {
		return fmt.Errorf("polling handshake: %w", err)
	}
	err = wire.SplitPayload(c.cc.eio, body, func(pkt []byte) error {
		if first {
			first = false
			return c.opened(pkt)
		}
		return c.handle(pkt)
	})
	if err != nil {
		return err
	}
	if first {
		return errors.New("polling handshake: empty response")
	}
	if c.cc.engine {
		go c.pollLoop()
		return nil
	}
	if err := c.send(c.cc.connectPk); err != nil {
		return err
	}
	for !c.connected {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.poll(ctx); err != nil {
			return fmt.Errorf("joining %s: %w", c.cc.nsp, err)
		}
		if !c.Alive() {
			if err := c.Err(); err != nil {
				return err
			}
			return errClosed
		}
	}
	go c.pollLoop()
	return nil
}

// get runs one GET and returns the body in c.rbuf.
func (c *Conn) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.cc.tr.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	c.rbuf, err = readInto(c.rbuf[:0], res.Body, c.cc.maxRead)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: HTTP %d %s", res.StatusCode, truncate(c.rbuf, 200))
	}
	return c.rbuf, nil
}

// poll runs one long-poll GET and handles what it brings.
func (c *Conn) poll(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, c.readDeadline())
	defer cancel()
	body, err := c.get(ctx, c.pollURL)
	if err != nil {
		return err
	}
	return wire.SplitPayload(c.cc.eio, body, c.handle)
}

func (c *Conn) pollLoop() {
	for c.Alive() {
		err := c.poll(c.ctx)
		c.shrink()
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// post sends one polling payload.
func (c *Conn) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.pollURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := c.cc.tr.http.Do(req)
	if err != nil {
		return err
	}
	var buf [64]byte
	n, _ := io.ReadFull(res.Body, buf[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: HTTP %d %s", res.StatusCode, truncate(buf[:n], 200))
	}
	return nil
}

// flush POSTs the queued packets, one request at a time (Engine.IO refuses
// overlapping POSTs), batching whatever was queued meanwhile.
func (c *Conn) flush() {
	for {
		c.pmu.Lock()
		if len(c.out) == 0 || !c.Alive() {
			c.out = c.out[:0]
			c.flushing = false
			c.pmu.Unlock()
			return
		}
		body := c.out
		c.out = nil // the transport may still hold body after Do returns
		c.pmu.Unlock()
		ctx, cancel := context.WithTimeout(c.ctx, c.cc.timeout)
		err := c.post(ctx, body)
		cancel()
		if err != nil {
			c.pmu.Lock()
			c.flushing = false
			c.pmu.Unlock()
			c.fail(err)
			return
		}
	}
}

// ---- both transports ----

// send writes one Engine.IO packet. WebSocket writes are synchronous;
// polling ones are queued for the POST goroutine.
func (c *Conn) send(pkt []byte) error {
	if !c.Alive() {
		if err := c.Err(); err != nil {
			return err
		}
		return errClosed
	}
	if !c.cc.polling {
		if err := c.writeWS(pkt); err != nil {
			c.fail(err)
			return err
		}
		return nil
	}
	c.pmu.Lock()
	c.out = wire.AppendPayloadPacket(c.out, c.cc.eio, pkt)
	if len(c.out) > c.cc.maxRead {
		c.pmu.Unlock()
		c.fail(errSendOverflow)
		return errSendOverflow
	}
	start := !c.flushing
	c.flushing = true
	c.pmu.Unlock()
	if start {
		go c.flush()
	}
	return nil
}

func (c *Conn) sendV3Ping() {
	if !c.Alive() {
		return
	}
	if c.send(c.cc.pingPk) == nil {
		c.pingMu.Lock()
		if c.Alive() {
			c.v3ping.Reset(c.pingInterval)
		}
		c.pingMu.Unlock()
	}
}

func (c *Conn) pong() {
	_ = c.send(c.cc.pongPk)
}

// handle processes one Engine.IO packet from the server.
func (c *Conn) handle(pkt []byte) error {
	if len(pkt) == 0 {
		return nil
	}
	switch pkt[0] {
	case wire.EPing:
		if c.cc.eio == 3 {
			return nil // a v3 server does not ping; clients do
		}
		// An instant pong can reach the server before it arms its ping
		// timeout and be lost (a defect of the server library), so it
		// is sent after a short delay, like a network round trip.
		if c.cc.pongDelay > 0 {
			time.AfterFunc(c.cc.pongDelay, c.pong)
		} else {
			c.pong()
		}
	case wire.EClose:
		return errServerClose
	case wire.EMessage:
		if c.cc.engine {
			c.deliverEcho(pkt[1:])
			return nil
		}
		return c.handleSocket(pkt[1:])
	}
	return nil // pong (v3), noop, upgrade, open
}

func (c *Conn) handleSocket(b []byte) error {
	p, err := wire.ParsePacket(b)
	if err != nil {
		return fmt.Errorf("%w: %q", err, truncate(b, 80))
	}
	if string(p.Nsp) != c.cc.nsp {
		return nil // "/", which a v3 server joins by itself
	}
	switch p.Type {
	case wire.Connect:
		c.connected = true
	case wire.ConnectError:
		return fmt.Errorf("%w: %s", errNspRefused, truncate(p.Data, 200))
	case wire.Disconnect:
		return errKicked
	case wire.Event:
		if c.connected {
			c.h.OnEvent(c, p.Data)
		}
	case wire.Ack:
		if !c.deliverCall(p.ID, p.Data) {
			c.h.OnAck(c, p.ID, p.Data)
		}
	}
	return nil
}

// deliverCall hands an ack to the Call waiting for it, if any.
func (c *Conn) deliverCall(id int64, data []byte) bool {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	if c.waitID == 0 || c.waitID != id {
		return false
	}
	r := callResult{id: id, ok: ackOK(data)}
	if c.waitData || !r.ok {
		r.data = append([]byte(nil), data...)
	}
	c.waitID = 0
	select {
	case c.waitCh <- r:
	default:
	}
	return true
}

// deliverEcho hands a message to the Echo waiting for it, if it is the one.
func (c *Conn) deliverEcho(data []byte) {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	if c.waitID == 0 || !bytes.Equal(data, c.waitEcho) {
		return
	}
	select {
	case c.waitCh <- callResult{id: c.waitID, ok: true}:
	default:
	}
	c.waitID = 0
}

// ackOK reports whether ack data [{"ok":true,...}] says ok.
func ackOK(data []byte) bool {
	obj, ok := wire.Element(data, 0)
	if !ok {
		return false
	}
	v, ok := wire.Field(obj, "ok")
	return ok && string(v) == "true"
}

// NextAckID returns a fresh ack id for an event sent with send.
func (c *Conn) NextAckID() int64 { return c.ackSeq.Add(1) }

// Call emits event with one JSON argument and waits, up to the connection
// timeout, for its ack. It reports whether the ack said {"ok":true}, and
// returns the ack's data when wantData is set or the ack is not ok. Calls on one connection run
// one at a time; the hot path (no data) does not allocate on WebSocket.
func (c *Conn) Call(event string, arg []byte, wantData bool) (bool, []byte, error) {
	c.callMu.Lock()
	defer c.callMu.Unlock()
	id := c.NextAckID()
	c.callBuf = wire.AppendEvent(c.callBuf[:0], c.cc.nsp, id, event, arg)
	c.waitMu.Lock()
	c.waitID, c.waitData = id, wantData
	select { // a result that lost the race with a previous timeout
	case <-c.waitCh:
	default:
	}
	c.waitMu.Unlock()
	defer func() {
		c.waitMu.Lock()
		c.waitID = 0
		c.waitMu.Unlock()
	}()
	if err := c.send(c.callBuf); err != nil {
		return false, nil, err
	}
	r, err := c.await(id)
	if err == errCallTimeout {
		err = fmt.Errorf("%s: %w", event, errCallTimeout)
	}
	return r.ok, r.data, err
}

// Echo sends the Engine.IO message text (engine mode) and waits, up to the
// connection timeout, for the echo server to send the same message back.
func (c *Conn) Echo(text []byte) error {
	c.callMu.Lock()
	defer c.callMu.Unlock()
	id := c.NextAckID()
	c.callBuf = append(append(c.callBuf[:0], wire.EMessage), text...)
	c.waitMu.Lock()
	c.waitID, c.waitEcho = id, text
	select {
	case <-c.waitCh:
	default:
	}
	c.waitMu.Unlock()
	defer func() {
		c.waitMu.Lock()
		c.waitID, c.waitEcho = 0, nil
		c.waitMu.Unlock()
	}()
	if err := c.send(c.callBuf); err != nil {
		return err
	}
	if _, err := c.await(id); err != nil {
		if err == errCallTimeout {
			err = errEchoTimeout
		}
		return err
	}
	return nil
}

// await waits, up to the connection timeout, for the result of call id
// (errCallTimeout when it does not come).
func (c *Conn) await(id int64) (callResult, error) {
	if c.callTmr == nil {
		c.callTmr = time.NewTimer(c.cc.timeout)
	} else {
		c.callTmr.Reset(c.cc.timeout)
	}
	defer c.callTmr.Stop()
	for {
		select {
		case r := <-c.waitCh:
			if r.id != id {
				continue
			}
			return r, nil
		case <-c.callTmr.C:
			return callResult{}, errCallTimeout
		case <-c.done:
			if err := c.Err(); err != nil {
				return callResult{}, err
			}
			return callResult{}, errClosed
		}
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
