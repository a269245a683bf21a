package engineio

import (
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// WebSocket on gobwas/ws: the connection is hijacked from net/http and the
// frames are read and written by this package on its own buffers. An idle
// session holds no read buffer (reads wait for the socket to be readable
// first, then borrow one from a pool) and no write buffer (frames are the
// shared Message bytes, written with writev).

// wsConn is the WebSocket side of a session (or of an upgrade probe).
type wsConn struct {
	conn  net.Conn
	raw   syscall.RawConn // nil when conn is not a plain socket (TLS, pipes)
	stats *counters       // the server's; nil for a connection no session has

	// fd is the socket's descriptor, for the non-blocking writes made
	// straight to it (tryWrite), without net's poller and its per-call
	// locking. use counts those writes in flight, plus useClosing once
	// close was asked for; the descriptor is closed when both say so,
	// so that no write can reach a descriptor number the kernel has
	// meanwhile given to another connection. It also holds useReading
	// while the reader is inside a RawConn.Read (frameReader.reads): that
	// holds the socket's read lock, which conn.Close would wait for. Every
	// close of conn goes through close.
	fd  uintptr
	use atomic.Int32
}

// useClosing is the bit of wsConn.use that says close was asked for;
// useReading the bit that says the reader holds the read lock.
const (
	useClosing = 1 << 30
	useReading = 1 << 29
)

func newWSConn(conn net.Conn) *wsConn {
	c := &wsConn{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok && rawIO {
		if raw, err := sc.SyscallConn(); err == nil {
			if raw.Control(func(fd uintptr) { c.fd = fd }) == nil {
				c.raw = raw
			}
		}
	}
	return c
}

// close closes the connection: at once if no write to fd is in flight,
// else as the last one ends. Calls after the first do nothing.
// If the reader holds the read lock, the socket is shut down for reading
// instead: the reader wakes to an end of file, and its releaseRead
// closes.
func (c *wsConn) close() {
	v := c.use.Or(useClosing)
	switch {
	case v == 0:
		_ = c.conn.Close()
	case v&(useClosing|useReading) == useReading:
		_ = c.raw.Control(func(fd uintptr) { _ = shutdownRead(fd) })
	}
}

// acquire counts a write to fd in flight; false once close was asked for.
func (c *wsConn) acquire() bool { return c.add(1) }

// acquireRead marks the reader as inside RawConn.Read; false once close
// was asked for.
func (c *wsConn) acquireRead() bool { return c.add(useReading) }

func (c *wsConn) add(n int32) bool {
	for {
		v := c.use.Load()
		if v&useClosing != 0 {
			return false
		}
		if c.use.CompareAndSwap(v, v+n) {
			return true
		}
	}
}

// release ends a write that acquire counted, closing the connection if
// close was asked for meanwhile and this was the last one.
func (c *wsConn) release() { c.done(1) }

// releaseRead ends what acquireRead marked, the reader out of
// RawConn.Read, closing the connection if close was asked for meanwhile
// and no write is in flight.
func (c *wsConn) releaseRead() { c.done(useReading) }

func (c *wsConn) done(n int32) {
	if c.use.Add(-n) == useClosing {
		_ = c.conn.Close()
	}
}

func isWebSocketRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// upgrade hijacks the request and completes the WebSocket handshake.
func upgrade(w http.ResponseWriter, r *http.Request) (*wsConn, *frameReader, error) {
	conn, rw, _, err := ws.HTTPUpgrader{Timeout: 10 * time.Second}.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, nil, err
	}
	// Deadlines the HTTP server set for the request (its ReadTimeout) do
	// not apply to the connection it has become.
	_ = conn.SetDeadline(time.Time{})
	c := newWSConn(conn)
	fr := newFrameReader(c)
	// Bytes the client sent right behind its handshake are already in the
	// hijacked reader; keep them, and let the reader itself go.
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		fr.buf = append(getReadBuf()[:0], b...)
		fr.w = len(fr.buf)
	}
	return c, fr, nil
}

func (srv *Server) openWebSocket(w http.ResponseWriter, r *http.Request, s *Session) {
	c, fr, err := upgrade(w, r)
	if err != nil {
		s.releaseAddr()
		return // gobwas answered the failed handshake
	}
	c.stats = &srv.stats
	s.ws = c
	// In the table before the open packet leaves, so that a request with
	// the sid it carries finds the session.
	if !srv.add(s) {
		s.releaseAddr()
		_ = c.writeBlocking([][]byte{closeFrameGoingAway}, time.Second)
		c.close()
		return
	}
	// Non-blocking first: the socket takes a small frame at once, and
	// net's own writev would keep an iovec array per connection.
	rest, err := c.tryWrite([][]byte{srv.openPacket(s).frame})
	if err == errWouldBlock {
		err = c.writeBlocking(rest, 10*time.Second)
	}
	if err != nil {
		c.close()
		s.closeNow(ReasonTransportError, err)
		s.finalize()
		return
	}
	srv.opened(s, r)
	// A goroutine of its own, with a small stack, rather than the HTTP
	// server's, which carries the whole request path.
	go s.readLoop(fr)
}

// readLoop reads the session's WebSocket until it fails or closes, then
// finalizes the session.
func (s *Session) readLoop(fr *frameReader) {
	s.mu.Lock()
	s.fr, fr.sess = fr, s
	s.mu.Unlock()
	reason, err := fr.run(s.srv.opts.MaxPayload, func(payload []byte, binary bool) bool {
		p, err := decodeFrame(payload, binary, s.eio)
		if err != nil {
			s.closeNow(ReasonParseError, err)
			return false
		}
		return s.onPacket(p)
	}, s.writeControlFrame)
	if reason == reasonParked {
		return // the parker has the session now
	}
	fr.release()
	s.closeNow(reason, err)
	s.finalize()
}

// reasonParked is what run returns when the session parked.
const reasonParked Reason = 255

// writeControlFrame queues a control frame like any other, so that it never
// lands inside a data frame that is half written. The final close frame is
// written at once instead, unless a writer is mid-frame (then the
// connection just closes): nothing else will be sent.
func (s *Session) writeControlFrame(frame []byte, final bool) {
	if !final {
		s.sendControl(&Message{frame: frame})
		return
	}
	s.mu.Lock()
	if s.writing || s.closeSent {
		s.mu.Unlock()
		return
	}
	s.writing, s.closeSent = true, true
	s.queue = nil
	s.mu.Unlock()
	_ = s.ws.writeBlocking([][]byte{frame}, time.Second)
	s.mu.Lock()
	s.writing = false
	s.mu.Unlock()
}

// decodeFrame turns a WebSocket message into a packet: a text packet (a
// binary one in base64, "b..." as over polling, from clients with
// forceBase64), or a binary message (v4: the data; v3: a type byte, then
// the data).
func decodeFrame(payload []byte, binary bool, eio uint8) (packet, error) {
	if !binary {
		return decodeSegment(payload, int(eio))
	}
	if eio == 3 {
		if len(payload) == 0 || payload[0] > typeNoop-'0' {
			return packet{}, ErrInvalidPacket
		}
		return packet{typ: payload[0] + '0', data: payload[1:], binary: true}, nil
	}
	return packet{typ: typeMessage, data: payload, binary: true}, nil
}

var (
	closeFrameNormal    = ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	closeFrameGoingAway = ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, "")))
	errMessageTooBig    = errors.New("engineio: WebSocket message over the maximum payload")
	errProtocol         = errors.New("engineio: WebSocket protocol violation")
	errInvalidUTF8      = errors.New("engineio: WebSocket text message is not valid UTF-8")
)

// --- reading ---------------------------------------------------------------

// readBufSize is the size of the pooled read buffers. Messages larger than
// what is buffered are read straight into their own slice.
const readBufSize = 4096

// The pool holds array pointers: putting one back allocates nothing.
var readBufPool = sync.Pool{New: func() any { return new([readBufSize]byte) }}

func getReadBuf() []byte  { return readBufPool.Get().(*[readBufSize]byte)[:] }
func putReadBuf(b []byte) { readBufPool.Put((*[readBufSize]byte)(b[:readBufSize])) }

// frameReader is an io.Reader over a connection that holds a buffer only
// while it has unread bytes in it.
type frameReader struct {
	c    *wsConn
	buf  []byte
	r, w int
	hdr  [ws.MaxHeaderSize - 2]byte

	// The read in progress, and the function RawConn.Read calls, built
	// once so that a read allocates nothing.
	rn     int
	rerr   error
	readFn func(fd uintptr) bool

	// next and stop drive reads, the reads of an active reader: see
	// fillOnce. nil when none is running.
	next       func() (int, error, bool)
	stop       func()
	fills      int // reads since the reader (re)started, up to pullAfter
	emptyReads int // reads that found nothing (EAGAIN)

	// The session this reader reads for (nil while probing an upgrade),
	// and the read deadline it set to park when idle (park.go).
	sess     *Session
	deadline time.Time
}

func newFrameReader(c *wsConn) *frameReader {
	fr := &frameReader{c: c}
	fr.readFn = func(fd uintptr) bool {
		if fr.buf == nil {
			fr.buf = getReadBuf()
		}
		fr.rn, fr.rerr = read(fd, fr.buf)
		if fr.rerr == syscall.EAGAIN {
			fr.emptyReads++
			// Nothing yet: give the buffer back while waiting.
			putReadBuf(fr.buf)
			fr.buf = nil
			return false
		}
		return true
	}
	return fr
}

func (fr *frameReader) release() {
	if fr.buf != nil {
		putReadBuf(fr.buf)
		fr.buf, fr.r, fr.w = nil, 0, 0
	}
}

func (fr *frameReader) Read(p []byte) (int, error) {
	if fr.r == fr.w {
		fr.release()
		if len(p) >= readBufSize {
			fr.endReads()       // it holds the socket's read lock
			return fr.c.read(p) // large: straight into p
		}
		if err := fr.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, fr.buf[fr.r:fr.w])
	fr.r += n
	if fr.r == fr.w {
		fr.release()
	}
	return n, nil
}

// fill waits for the socket and reads what it has into a pooled buffer.
// The idle deadline (park.go) is for frame boundaries only: one that runs
// out in the middle of a frame is renewed, while the session is open.
func (fr *frameReader) fill() error {
	for {
		err := fr.fillOnce()
		if err == nil || fr.deadline.IsZero() || !errors.Is(err, os.ErrDeadlineExceeded) || !fr.sess.isOpen() {
			return err
		}
		fr.deadline = time.Now().Add(fr.sess.srv.opts.ParkAfter)
		_ = fr.c.conn.SetReadDeadline(fr.deadline)
	}
}

func (fr *frameReader) fillOnce() error {
	if fr.c.raw == nil {
		fr.buf = getReadBuf()
		n, err := fr.c.conn.Read(fr.buf)
		if n == 0 {
			fr.release()
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		fr.r, fr.w = 0, n
		return nil
	}
	if fr.next == nil && fr.fills < pullAfter {
		// Not busy (yet): one read, the socket's read lock let go after it.
		fr.fills++
		err := fr.c.raw.Read(fr.readFn)
		n := fr.rn
		if err == nil {
			err = fr.rerr
		}
		if err == nil && n <= 0 {
			err = io.EOF
		}
		if err != nil {
			fr.release()
			return err
		}
		fr.r, fr.w = 0, n
		return nil
	}
	if fr.next == nil {
		if !fr.c.acquireRead() {
			fr.release()
			return net.ErrClosed
		}
		fr.next, fr.stop = iter.Pull2(fr.reads)
	}
	n, err, ok := fr.next()
	if !ok && err == nil {
		err = io.EOF
	}
	if err != nil {
		fr.endReads()
		fr.release()
		return err
	}
	fr.r, fr.w = 0, n
	return nil
}

// reads yields what the socket has, each time fillOnce asks, from within
// one RawConn.Read. That is the point of it: a read that returned less
// than its buffer emptied the socket, so the next one would only find
// nothing (EAGAIN), a system call for each message of a client that
// waits for its answer. Inside RawConn.Read, reads waits for the socket
// instead, and the poller's readiness is not reset in between, so data
// that came meanwhile is not missed. It ends at the first error, or when
// the reader stops it (endReads): the socket's read lock is held until
// then.
func (fr *frameReader) reads(yield func(int, error) bool) {
	waitFirst := false // the last read emptied the socket
	stopped := false
	err := fr.c.raw.Read(func(fd uintptr) bool {
		for {
			if waitFirst {
				waitFirst = false
				return false
			}
			if !fr.readFn(fd) {
				return false // EAGAIN: wait
			}
			if fr.rerr != nil || fr.rn <= 0 {
				return true
			}
			waitFirst = fr.rn < len(fr.buf)
			if !yield(fr.rn, nil) {
				stopped = true
				return true
			}
		}
	})
	if stopped {
		return
	}
	if err == nil {
		err = fr.rerr
	}
	if err == nil {
		err = io.EOF
	}
	yield(0, err)
}

// pullAfter is how many reads a reader makes one by one before it turns
// to reads. The coroutine costs a goroutine for as long as the reader
// runs: a client that says a few things and falls silent (most, between
// heartbeats) is better served without it.
const pullAfter = 8

// endReads stops reads, if it is running, releasing the socket's read lock.
func (fr *frameReader) endReads() {
	if fr.stop != nil {
		fr.stop()
		fr.next, fr.stop = nil, nil
		fr.c.releaseRead()
	}
}

// read reads into p directly, waiting for the socket.
func (c *wsConn) read(p []byte) (int, error) {
	n, err := c.readSocket(p)
	if n > 0 && c.stats != nil {
		c.stats.received.Add(uint64(n))
	}
	return n, err
}

func (c *wsConn) readSocket(p []byte) (int, error) {
	if c.raw == nil {
		return c.conn.Read(p)
	}
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = read(fd, p)
		return rerr != syscall.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err == nil && n <= 0 {
		err = io.EOF
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// run reads messages and passes each to fn until fn returns false or the
// connection fails or closes. It answers pings and the close handshake,
// reassembles fragmented messages, and enforces maxPayload (close 1009),
// masking and UTF-8 (close 1002, 1007). It returns why it stopped.
// Control frames are handed to ctl, which must not write them in the
// middle of another frame; final is set for the close frame, after which
// the connection is closed.
func (fr *frameReader) run(maxPayload int64, fn func(payload []byte, binary bool) bool, ctl func(frame []byte, final bool)) (Reason, error) {
	fr.fills = 0
	reason, err := fr.frames(maxPayload, fn, ctl)
	if reason != reasonParked {
		// Parked, the reads ended with the wait, and the reader belongs
		// to the parker now.
		fr.endReads()
	}
	return reason, err
}

func (fr *frameReader) frames(maxPayload int64, fn func(payload []byte, binary bool) bool, ctl func(frame []byte, final bool)) (Reason, error) {
	closeWith := func(code ws.StatusCode) {
		ctl(ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, ""))), true)
	}
	var msg []byte // a fragmented message being reassembled
	var msgOp ws.OpCode
	for {
		if fr.sess != nil && fr.r == fr.w && msg == nil {
			park, err := fr.sess.awaitFrame(fr)
			if err != nil {
				return readErrorReason(err), err
			}
			if park {
				return reasonParked, nil
			}
		}
		h, err := ws.ReadHeaderBuffer(fr, fr.hdr[:])
		if err != nil {
			return readErrorReason(err), err
		}
		if !h.Masked || h.Rsv != 0 || h.OpCode.IsReserved() {
			closeWith(ws.StatusProtocolError)
			return ReasonParseError, errProtocol
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				closeWith(ws.StatusProtocolError)
				return ReasonParseError, errProtocol
			}
			var small [125]byte
			p := small[:h.Length]
			if _, err := io.ReadFull(fr, p); err != nil {
				return readErrorReason(err), err
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				ctl(ws.MustCompileFrame(ws.NewPongFrame(p)), false)
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(p)
				if code.Empty() {
					code = ws.StatusNormalClosure
				}
				closeWith(code)
				return ReasonTransportClose, nil
			}
			continue
		}
		total := h.Length + int64(len(msg))
		if total > maxPayload {
			closeWith(ws.StatusMessageTooBig)
			return ReasonTransportError, errMessageTooBig
		}
		switch {
		case h.OpCode == ws.OpContinuation && msg == nil,
			h.OpCode != ws.OpContinuation && msg != nil:
			closeWith(ws.StatusProtocolError)
			return ReasonParseError, errProtocol
		}
		var payload []byte
		if msg == nil && h.Fin {
			payload = make([]byte, h.Length)
		} else {
			if msg == nil {
				msgOp, msg = h.OpCode, make([]byte, 0, h.Length)
			}
			n := len(msg)
			msg = append(msg, make([]byte, h.Length)...)
			payload = msg[n:]
		}
		if _, err := io.ReadFull(fr, payload); err != nil {
			return readErrorReason(err), err
		}
		ws.Cipher(payload, h.Mask, 0)
		if !h.Fin {
			continue
		}
		op := h.OpCode
		if msg != nil {
			payload, op, msg = msg, msgOp, nil
		}
		if op == ws.OpText && !utf8.Valid(payload) {
			closeWith(ws.StatusInvalidFramePayloadData)
			return ReasonParseError, errInvalidUTF8
		}
		if !fn(payload, op == ws.OpBinary) {
			return 0, nil // fn closed the session with its own reason
		}
	}
}

func readErrorReason(err error) Reason {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isClosedConn(err) {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// --- writing ---------------------------------------------------------------

var errWouldBlock = errors.New("engineio: socket buffer full")

// tryWrite writes frames without waiting for the socket. It returns the
// frames (the first one possibly cut) the socket could not take, with
// errWouldBlock, or an error.
func (c *wsConn) tryWrite(frames [][]byte) ([][]byte, error) {
	if c.raw == nil {
		return frames, errWouldBlock
	}
	for len(frames) > 0 {
		if !c.acquire() {
			return nil, net.ErrClosed
		}
		n, err := writev(c.fd, frames)
		c.release()
		if err == syscall.EAGAIN {
			return frames, errWouldBlock
		}
		if err != nil {
			return nil, err
		}
		if n > 0 && c.stats != nil {
			c.stats.sent.Add(uint64(n))
		}
		frames = advance(frames, n)
		if len(frames) > 0 && n == 0 {
			return frames, errWouldBlock
		}
	}
	return nil, nil
}

// advance drops the first n bytes of frames. It may cut the first frame
// left, by reslicing; the bytes themselves are never changed.
func advance(frames [][]byte, n int) [][]byte {
	for len(frames) > 0 && n >= len(frames[0]) {
		n -= len(frames[0])
		frames = frames[1:]
	}
	if len(frames) > 0 && n > 0 {
		frames[0] = frames[0][n:]
	}
	return frames
}

// writeBlocking writes every frame (writev), waiting for the socket up to
// timeout.
func (c *wsConn) writeBlocking(frames [][]byte, timeout time.Duration) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	bufs := net.Buffers(frames)
	n, err := bufs.WriteTo(c.conn)
	_ = c.conn.SetWriteDeadline(time.Time{})
	if n > 0 && c.stats != nil {
		c.stats.sent.Add(uint64(n))
	}
	return err
}

// writeDirect writes a control frame at once; only for a connection that
// nothing else writes to (an upgrade probe).
func (c *wsConn) writeDirect(frame []byte, _ bool) { c.write(frame) }

func (c *wsConn) write(frame []byte) {
	_ = c.writeBlocking([][]byte{frame}, time.Second)
}
