//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// The WebSocket client. The load generator must cost less per frame than
// the servers it measures, or its own backlog becomes the latency it
// reports: a goroutine per connection blocked in a read pays a wakeup, a
// park, a deadline update and a read that finds nothing for every frame.
// So once a connection has joined its namespace, its socket leaves Go's
// poller and an epoll loop (one per GOMAXPROCS) reads every ready
// socket in turn with one read each, and hands the messages to
// Conn.handle on the loop. Handlers must therefore not block; writes
// (pongs, emits) go straight to the socket under the connection's write
// lock. Before that, during the handshake and the namespace join, the
// connection reads its socket itself.

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa

	closingBit = 1 << 30
)

var (
	errTooLarge   = errors.New("message too large")
	errReadSilent = errors.New("read timeout: the server sent nothing for longer than its ping interval allows")
	errGotOne     = errors.New("one message") // readWS's stop signal, never returned
)

// rawWS is the client side of one WebSocket on a non-blocking socket that
// this program reads and writes with system calls of its own.
type rawWS struct {
	fd   int
	use  atomic.Int32 // calls on fd in flight, plus closingBit once closed
	last atomic.Int64 // unix nanos of the latest read, for the silence check

	wmu  sync.Mutex
	wbuf []byte
	seed uint32 // mask keys (xorshift); under wmu

	// The reader's (the setup goroutine, then the loop), never shared.
	pend  []byte // read, not yet a whole frame
	msg   []byte // fragments of the message being assembled
	inMsg bool
	text  bool // the message being assembled is text
	loop  atomic.Pointer[wsLoop]
}

// dialWS performs the WebSocket handshake and takes the socket out of Go's
// poller (it is duplicated, and the original closed).
func dialWS(ctx context.Context, cc *connConfig) (*rawWS, error) {
	d := cc.tr.ws
	var status string
	d.OnStatusError = func(code int, _ []byte, resp io.Reader) {
		status = fmt.Sprintf("HTTP %d", code)
		if res, err := http.ReadResponse(bufio.NewReader(resp), nil); err == nil {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 256))
			status += " " + string(bytes.TrimSpace(b))
		}
	}
	conn, br, _, err := d.Dial(ctx, cc.wsURL)
	if err != nil {
		if status != "" {
			return nil, fmt.Errorf("websocket handshake: %s", status)
		}
		return nil, err
	}
	defer conn.Close()
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil, fmt.Errorf("websocket: %T is not a TCP connection", conn)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	cerr := rc.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) })
	if err = errors.Join(cerr, err); err != nil {
		return nil, fmt.Errorf("websocket: duplicating the socket: %w", err)
	}
	// The duplicate shares the open file, which Go made non-blocking.
	w := &rawWS{fd: fd, seed: uint32(fd)*2654435761 | 1}
	w.last.Store(time.Now().UnixNano())
	if br != nil { // frames the server sent right behind its handshake
		w.pend, _ = br.Peek(br.Buffered())
		w.pend = bytes.Clone(w.pend)
		ws.PutReader(br)
	}
	return w, nil
}

func (w *rawWS) acquire() bool {
	for {
		u := w.use.Load()
		if u&closingBit != 0 {
			return false
		}
		if w.use.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

func (w *rawWS) release() {
	if w.use.Add(-1) == closingBit {
		_ = unix.Close(w.fd)
	}
}

// close closes the socket once no call on it is in flight, so that no call
// can reach a descriptor number the kernel has given to another socket.
func (w *rawWS) close(reset bool) {
	if l := w.loop.Load(); l != nil {
		l.remove(w)
	}
	if reset && w.acquire() { // the connection is reset instead of ended with a FIN
		_ = unix.SetsockoptLinger(w.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		w.release()
	}
	for {
		u := w.use.Load()
		if u&closingBit != 0 {
			return
		}
		if w.use.CompareAndSwap(u, u|closingBit) {
			if u == 0 {
				_ = unix.Close(w.fd)
			}
			return
		}
	}
}

// writeFrame writes one masked frame, waiting at most timeout for room in
// the socket's buffer.
func (w *rawWS) writeFrame(op byte, p []byte, timeout time.Duration) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if !w.acquire() {
		return errClosed
	}
	defer w.release()
	b := append(w.wbuf[:0], 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	w.seed ^= w.seed << 13
	w.seed ^= w.seed >> 17
	w.seed ^= w.seed << 5
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], w.seed)
	b = append(b, key[:]...)
	h := len(b)
	b = append(b, p...)
	for i := h; i < len(b); i++ {
		b[i] ^= key[(i-h)&3]
	}
	if cap(b) <= 64<<10 {
		w.wbuf = b
	}
	var deadline time.Time
	for len(b) > 0 {
		n, err := unix.Write(w.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == nil || err == unix.EINTR:
		case err == unix.EAGAIN:
			if deadline.IsZero() {
				deadline = time.Now().Add(timeout)
			}
			if err := pollFD(w.fd, unix.POLLOUT, deadline); err != nil {
				return fmt.Errorf("websocket write: %w", err)
			}
		default:
			return fmt.Errorf("websocket write: %w", err)
		}
	}
	return nil
}

// pollFD waits until fd is ready for events or deadline passes.
func pollFD(fd int, events int16, deadline time.Time) error {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("i/o timeout")
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		_, err := unix.Poll(fds, int(min(left, 200*time.Millisecond).Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if fds[0].Revents != 0 {
			return nil
		}
	}
}

// parseFrame parses the frame at the start of b. n is 0 while b does not
// yet hold all of it. A masked payload (servers do not mask) is unmasked
// in place.
func parseFrame(b []byte, max int) (fin bool, op byte, payload []byte, n int, err error) {
	if len(b) < 2 {
		return
	}
	if b[0]&0x70 != 0 {
		err = errors.New("websocket: reserved bits set, but no extension was negotiated")
		return
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	l, h := uint64(b[1]&0x7f), 2
	switch l {
	case 126:
		if len(b) < 4 {
			return
		}
		l, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return
		}
		l, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if l > uint64(max) {
		err = errTooLarge
		return
	}
	masked := b[1]&0x80 != 0
	if masked {
		h += 4
	}
	if len(b) < h+int(l) {
		return
	}
	payload, n = b[h:h+int(l)], h+int(l)
	if masked {
		key := b[h-4 : h]
		for i := range payload {
			payload[i] ^= key[i&3]
		}
	}
	return
}

// feed handles the whole frames at the start of b: each complete text
// message goes to deliver, pings are answered. It returns how many bytes
// it consumed; it stops early, without error, after a deliver that
// returns errGotOne.
func (w *rawWS) feed(b []byte, cc *connConfig, deliver func([]byte) error) (int, error) {
	done := 0
	for {
		fin, op, p, n, err := parseFrame(b[done:], cc.maxRead)
		if err != nil || n == 0 {
			return done, err
		}
		done += n
		switch op {
		case opText, opBinary, opContinuation:
			if (op == opContinuation) != w.inMsg {
				return done, errors.New("websocket: continuation frame out of place")
			}
			if op != opContinuation {
				w.text = op == opText
			}
			if !fin || w.inMsg {
				if len(w.msg)+len(p) > cc.maxRead {
					return done, errTooLarge
				}
				w.msg = append(w.msg, p...)
				if w.inMsg = !fin; w.inMsg {
					continue
				}
				p = w.msg
				w.msg = w.msg[:0]
				if cap(w.msg) > 64<<10 {
					w.msg = nil
				}
			}
			if !w.text {
				continue // binary messages are not Engine.IO packets this load speaks
			}
			if err := deliver(p); err != nil {
				if err == errGotOne {
					err = nil
				}
				return done, err
			}
		case opPing:
			if err := w.writeFrame(opPong, p, cc.timeout); err != nil {
				return done, err
			}
		case opPong:
		case opClose:
			code := 1005
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			return done, fmt.Errorf("websocket: close %d %s", code, truncate(p[min(2, len(p)):], 80))
		default:
			return done, fmt.Errorf("websocket: unknown opcode %d", op)
		}
	}
}

// readWS reads the next text message during setup, before the connection
// goes to a loop. It returns a copy in c.rbuf.
func (c *Conn) readWS(ctx context.Context, deadline time.Time) ([]byte, error) {
	w := c.ws
	var got []byte
	deliver := func(m []byte) error {
		c.rbuf = append(c.rbuf[:0], m...)
		got = c.rbuf
		return errGotOne
	}
	for {
		k, err := w.feed(w.pend, c.cc, deliver)
		w.pend = w.pend[:copy(w.pend, w.pend[k:])]
		if err != nil || got != nil {
			return got, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := c.readMore(deadline); err != nil {
			return nil, err
		}
	}
}

// readMore appends what the socket holds to w.pend, waiting for it until
// deadline.
func (c *Conn) readMore(deadline time.Time) error {
	w := c.ws
	if !w.acquire() {
		return errClosed
	}
	defer w.release()
	if cap(w.pend)-len(w.pend) < 4096 {
		w.pend = append(w.pend, make([]byte, 4096)...)[:len(w.pend)]
	}
	for {
		n, err := unix.Read(w.fd, w.pend[len(w.pend):cap(w.pend)])
		switch {
		case n > 0:
			w.pend = w.pend[:len(w.pend)+n]
			return nil
		case err == nil:
			return io.ErrUnexpectedEOF
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			if err := pollFD(w.fd, unix.POLLIN, deadline); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// writeWS sends one text message.
func (c *Conn) writeWS(pkt []byte) error {
	return c.ws.writeFrame(opText, pkt, c.cc.timeout)
}

// closeWS ends the WebSocket: politely with a close frame, or by a reset.
func (c *Conn) closeWS(polite, reset bool) {
	if polite {
		_ = c.ws.writeFrame(opClose, []byte{0x03, 0xe8}, min(c.cc.timeout, time.Second)) // 1000: normal closure
	}
	c.ws.close(reset)
}

// ---- the loops ----

// wsLoop reads the sockets of joined connections from one epoll instance.
type wsLoop struct {
	epfd  int
	file  *os.File        // epfd, in Go's poller
	raw   syscall.RawConn // of file
	mu    sync.Mutex
	conns map[int32]*Conn
}

var (
	loopsOnce sync.Once
	loops     []*wsLoop
	loopsErr  error
	loopNext  atomic.Uint32
)

// startReading hands a joined connection's socket to a loop.
func (c *Conn) startReading() error {
	loopsOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			l, err := newLoop()
			if err != nil {
				loopsErr = err
				return
			}
			loops = append(loops, l)
			go l.run()
		}
	})
	if loopsErr != nil {
		return loopsErr
	}
	l := loops[(loopNext.Add(1)-1)%uint32(len(loops))]
	w := c.ws
	// Frames that came with the last setup read go first, before the loop
	// can see the socket (and w.pend).
	if len(w.pend) > 0 {
		k, err := w.feed(w.pend, c.cc, c.deliver)
		w.pend = w.pend[:copy(w.pend, w.pend[k:])]
		if err != nil {
			return err
		}
	}
	w.last.Store(time.Now().UnixNano())
	if !w.acquire() {
		return errClosed
	}
	defer w.release()
	l.mu.Lock()
	w.loop.Store(l)
	l.conns[int32(w.fd)] = c
	l.mu.Unlock()
	// Level-triggered: a socket with more than one read's worth is
	// reported again on the next wait.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(w.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, w.fd, &ev); err != nil {
		l.remove(w)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func newLoop() (*wsLoop, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	l := &wsLoop{epfd: fd, file: os.NewFile(uintptr(fd), "epoll"), conns: make(map[int32]*Conn)}
	if l.raw, err = l.file.SyscallConn(); err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return l, nil
}

func (l *wsLoop) remove(w *rawWS) {
	l.mu.Lock()
	if c := l.conns[int32(w.fd)]; c != nil && c.ws == w {
		delete(l.conns, int32(w.fd))
		// Closing the only descriptor of the socket also drops it from the
		// epoll set, but a write in flight may hold it open a little longer.
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
	}
	l.mu.Unlock()
}

// run waits for the epoll set in Go's own poller (an epoll descriptor is
// readable while it has events), so that waiting parks the goroutine and
// not the thread: the goroutines its messages wake (a Call's waiter) run
// at once instead of after the runtime takes back a P stuck in epoll_wait.
func (l *wsLoop) run() {
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	var ready []*Conn
	lastCheck := time.Now()
	_ = l.file.SetReadDeadline(lastCheck.Add(time.Second))
	for {
		var n int
		err := l.raw.Read(func(uintptr) bool {
			var err error
			for {
				n, err = unix.EpollWait(l.epfd, events, 0)
				if err != unix.EINTR {
					break
				}
			}
			if err != nil {
				panic(fmt.Sprintf("epoll_wait: %v", err)) // only a bad descriptor or buffer: a bug
			}
			return n > 0
		})
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			panic(fmt.Sprintf("waiting for epoll: %v", err))
		}
		now := time.Now()
		ready = ready[:0]
		l.mu.Lock()
		for _, ev := range events[:n] {
			if c := l.conns[ev.Fd]; c != nil {
				ready = append(ready, c)
			}
		}
		l.mu.Unlock()
		for _, c := range ready {
			c.readReady(buf, now.UnixNano())
		}
		if now.Sub(lastCheck) >= time.Second {
			lastCheck = now
			_ = l.file.SetReadDeadline(now.Add(time.Second))
			l.checkSilence(now)
		}
	}
}

// checkSilence fails the connections whose server has been silent for
// longer than its heartbeat allows.
func (l *wsLoop) checkSilence(now time.Time) {
	var silent []*Conn
	l.mu.Lock()
	for _, c := range l.conns {
		if now.UnixNano()-c.ws.last.Load() > int64(c.readDeadline()) {
			silent = append(silent, c)
		}
	}
	l.mu.Unlock()
	for _, c := range silent {
		c.fail(errReadSilent)
	}
}

// readReady reads what one ready socket holds, once, and handles the
// messages it completes.
func (c *Conn) readReady(buf []byte, now int64) {
	w := c.ws
	if !w.acquire() {
		return
	}
	n, err := unix.Read(w.fd, buf)
	w.release()
	switch {
	case n > 0:
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err == nil:
		c.fail(errors.New("server closed the TCP connection"))
		return
	default:
		c.fail(err)
		return
	}
	w.last.Store(now)
	data := buf[:n]
	if len(w.pend) > 0 {
		w.pend = append(w.pend, data...)
		data = w.pend
	}
	k, err := w.feed(data, c.cc, c.deliver)
	if err != nil {
		c.fail(err)
		return
	}
	rest := data[k:]
	if len(w.pend) > 0 {
		w.pend = w.pend[:copy(w.pend, rest)]
	} else {
		w.pend = append(w.pend[:0], rest...)
	}
	if cap(w.pend) > 64<<10 && len(w.pend) < 4<<10 {
		w.pend = bytes.Clone(w.pend)
	}
}
