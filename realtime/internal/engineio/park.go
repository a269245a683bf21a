package engineio

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Idle WebSocket sessions hold no goroutine. A session's reader waits for
// the client's next frame with a read deadline; when nothing has come for
// between ParkAfter/2 and ParkAfter (Options.ParkAfter), the reader hands
// the socket to the server's parker (one epoll instance, Linux only) and
// returns, and its stack goes with it. When the socket turns readable the parker starts a
// new reader. A chat user who only reads, or any client between two
// heartbeats, then costs its session's structures and no stack; a client
// that keeps sending keeps its reader, and pays nothing for this beyond a
// deadline renewed at most every ParkAfter/2.

// awaitFrame waits, at a frame boundary, for the client's next bytes. It
// reports park when the session parked instead (the reader must return
// without touching the session again), or the error that ended the wait.
func (s *Session) awaitFrame(fr *frameReader) (park bool, err error) {
	after := s.srv.opts.ParkAfter
	if after < 0 || fr.c.raw == nil {
		return false, fr.fill()
	}
	p := s.srv.parker.get()
	if p == nil {
		return false, fr.fill()
	}
	s.mu.Lock()
	open := s.state == stateOpen
	if open {
		// Renewed only when half used up: a busy reader sets a deadline
		// once per ParkAfter/2, not once a frame.
		if now := time.Now(); fr.deadline.Sub(now) < after/2 {
			fr.deadline = now.Add(after)
			_ = fr.c.conn.SetReadDeadline(fr.deadline)
		}
	}
	s.mu.Unlock()
	err = fr.fillOnce()
	if err == nil || !open || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false, err
	}
	s.mu.Lock()
	if s.state != stateOpen {
		// Closing: the deadline was the graceful close's.
		s.mu.Unlock()
		return false, err
	}
	s.parked = true
	s.mu.Unlock()
	fr.deadline = time.Time{}
	_ = fr.c.conn.SetReadDeadline(time.Time{})
	if !p.park(&s.slot, s.ws.raw, s) {
		s.mu.Lock()
		s.parked = false
		s.mu.Unlock()
		return false, nil // could not park: wait again
	}
	return true, nil
}

// unparkLocked takes a parked session back from the parker; the caller then
// owns its reading (starts a reader, or finalizes). It reports whether the
// session was parked.
func (s *Session) unparkLocked() bool {
	if !s.parked {
		return false
	}
	s.parked = false
	s.srv.parker.get().forget(&s.slot)
	return true
}

// readable is the parker's call for a parked session whose socket is readable.
func (s *Session) readable() {
	s.mu.Lock()
	if !s.parked {
		s.mu.Unlock()
		return
	}
	s.parked = false
	s.mu.Unlock()
	go s.readLoop(s.fr)
}

func (s *Session) isOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateOpen
}

// waiter is what the parker tells when a parked socket turns readable or
// hangs up; it is called from the parker's goroutine and must not block.
type waiter interface{ readable() }

// parkSlot is a socket's place in the parker: its id there, and whether
// the socket is in the epoll set.
type parkSlot struct {
	id    uint64
	added bool
}

// parkerOnce starts a server's parker when a session first parks, and
// stops it with the server.
type parkerOnce struct {
	once sync.Once
	p    *parker
}

func (o *parkerOnce) get() *parker {
	o.once.Do(func() { o.p = newParker() })
	return o.p
}

func (o *parkerOnce) close() {
	o.once.Do(func() {}) // none from now on
	if o.p != nil {
		o.p.close()
	}
}
