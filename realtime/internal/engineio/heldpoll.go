package engineio

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Held polls. A GET that waits for data would keep its net/http goroutine
// for up to a ping interval, and with it the goroutine's stack, the
// connection's read and write buffers and the request: about 20 KiB per
// waiting polling client. When the HTTP server serves through
// Server.Listener (and on Linux, where the parker can watch the socket),
// the waiting GET instead hijacks its connection, leaves it in the parker
// to see the client hang up, and returns. When there is something to send
// (or a ping, or a close), the answer is written on the connection by a
// short-lived goroutine, and the connection goes back to the HTTP server
// through the listener, which accepts it again as a kept-alive connection.
// A waiting polling client then costs its session and a socket.

// heldPoll is a waiting GET whose connection the session holds.
type heldPoll struct {
	s         *Session
	conn      net.Conn
	raw       syscall.RawConn // nil: the parker cannot watch this connection
	header    http.Header     // the response headers set before the wait (CORS)
	keepAlive bool
	pending   []byte // bytes the client sent after the GET, for the HTTP server
	slot      parkSlot
}

// maxPending bounds what a client may send on a connection whose poll is
// held: a pipelined request, at most. Beyond it, the poll is abandoned.
const maxPending = 4 << 10

// holdLocked tries to hold the poll of request r (s.polling is set, the
// queue is empty, s.mu is held and stays held). It reports false when the
// poll must wait in its goroutine instead: no listener to give the
// connection back to, no parker, an HTTP version other than 1.1, an
// upgrade under way (its poll is released within upgradePollWait), a GET
// with a body, or a connection that cannot be hijacked.
//
// The HTTP server accepts a connection given back as a new one: it waits
// for the next request at most ReadHeaderTimeout, then closes it, as an
// idle timeout would (clients open another).
func (s *Session) holdLocked(w http.ResponseWriter, r *http.Request) bool {
	l := s.srv.listener.Load()
	if l == nil || s.upgrading || r.ProtoMajor != 1 || r.ProtoMinor != 1 ||
		r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	p := s.srv.parker.get()
	if p == nil {
		return false
	}
	header := w.Header().Clone()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	_ = conn.SetDeadline(time.Time{})
	hp := &heldPoll{s: s, conn: conn, header: header, keepAlive: !r.Close}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		hp.pending = slices.Clone(b)
	}
	if pc, ok := conn.(*pendingConn); ok {
		// Back from an earlier hold with bytes the HTTP server has not
		// read yet: they come after what its buffer held.
		hp.conn = pc.Conn
		hp.pending = append(hp.pending, pc.pending...)
	}
	if sc, ok := hp.conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			hp.raw = raw
		}
	}
	s.held = hp
	if hp.raw != nil && !p.park(&hp.slot, hp.raw, hp) {
		hp.raw = nil // held all the same; a hang-up shows when it is answered
	}
	return true
}

// readable is the parker's call: the client sent something, or hung up.
func (hp *heldPoll) readable() {
	s := hp.s
	s.mu.Lock()
	if s.held != hp {
		s.mu.Unlock() // answered meanwhile
		return
	}
	var buf [512]byte
	n, rerr := 0, error(nil)
	if err := hp.raw.Read(func(fd uintptr) bool {
		n, rerr = read(fd, buf[:])
		return true
	}); err != nil {
		rerr = err
	}
	switch {
	case n > 0 && len(hp.pending)+n <= maxPending:
		hp.pending = append(hp.pending, buf[:n]...)
		fallthrough
	case rerr == syscall.EAGAIN:
		if s.srv.parker.get().park(&hp.slot, hp.raw, hp) {
			s.mu.Unlock()
			return
		}
		hp.raw = nil
		s.mu.Unlock()
		return
	}
	// End of file, an error, or more than a request's worth of bytes: the
	// client is gone, as when a waiting GET's request is cancelled.
	s.held = nil
	s.polling = false
	s.mu.Unlock()
	_ = hp.conn.Close()
	s.closeNow(ReasonTransportError, errPollAbandoned)
}

// answerHeld answers a held poll that wakePollLocked took, then gives its
// connection back to the HTTP server.
func (s *Session) answerHeld(hp *heldPoll) {
	if hp.raw != nil {
		s.srv.parker.get().remove(&hp.slot, hp.raw)
	}
	rw := &heldResponse{header: hp.header}
	s.mu.Lock()
	s.answerPollLocked(rw)
	hp.finish(rw)
}

// finish writes the response and hands the connection back (or closes it).
func (hp *heldPoll) finish(rw *heldResponse) {
	srv := hp.s.srv
	keep := hp.keepAlive && !srv.closing.Load() && !strings.EqualFold(rw.header.Get("Connection"), "close")
	bp := payloadPool.Get().(*[]byte)
	b := rw.appendTo((*bp)[:0], keep)
	_ = hp.conn.SetWriteDeadline(time.Now().Add(srv.writeTimeout()))
	_, err := hp.conn.Write(b)
	_ = hp.conn.SetWriteDeadline(time.Time{})
	*bp = b
	if cap(b) <= 1<<20 {
		payloadPool.Put(bp)
	}
	l := srv.listener.Load()
	if err != nil || !keep || l == nil {
		_ = hp.conn.Close()
		return
	}
	var c net.Conn = hp.conn
	if len(hp.pending) > 0 {
		c = &pendingConn{Conn: c, pending: hp.pending}
	}
	if !l.give(c) {
		_ = c.Close()
	}
}

// heldResponse is the http.ResponseWriter a held poll is answered through:
// it keeps the status, headers and body for finish to write.
type heldResponse struct {
	header http.Header
	status int
	body   []byte
}

func (r *heldResponse) Header() http.Header { return r.header }

func (r *heldResponse) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *heldResponse) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.body = append(r.body, b...)
	return len(b), nil
}

// headerValue keeps a header on its line, as net/http does.
var headerValue = strings.NewReplacer("\r", " ", "\n", " ")

// appendTo appends the HTTP/1.1 response.
func (r *heldResponse) appendTo(b []byte, keepAlive bool) []byte {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	h := r.header
	h.Del("Connection")
	if !keepAlive {
		h.Set("Connection", "close")
	}
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Length", strconv.Itoa(len(r.body)))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, headerValue.Replace(k)...)
			b = append(b, ": "...)
			b = append(b, headerValue.Replace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	return append(b, r.body...)
}

// pendingConn is a connection given back with bytes already read from it.
type pendingConn struct {
	net.Conn
	pending []byte
}

func (c *pendingConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// SyscallConn lets a later poll on the connection be held too.
func (c *pendingConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// Listener returns ln for the HTTP server that serves srv to accept from:
// besides ln's connections, it yields the connections of answered held
// polls, which the HTTP server then serves as kept-alive connections.
// Without it, waiting polls keep their goroutines. Closing it closes ln.
// One server gives connections back to one listener: the last one made.
func (srv *Server) Listener(ln net.Listener) net.Listener {
	l := &pollListener{Listener: ln, in: make(chan accepted), back: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	srv.listener.Store(l)
	return l
}

type accepted struct {
	c   net.Conn
	err error
}

type pollListener struct {
	net.Listener
	in   chan accepted // from ln, by acceptLoop
	back chan net.Conn // given back by held polls
	done chan struct{}
	once sync.Once
}

func (l *pollListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.in <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (l *pollListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case a := <-l.in:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pollListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// give hands c to the HTTP server; false once the listener is closed.
func (l *pollListener) give(c net.Conn) bool {
	select {
	case l.back <- c:
		return true
	case <-l.done:
		return false
	}
}
