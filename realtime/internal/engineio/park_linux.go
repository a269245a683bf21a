package engineio

import (
	"sync"

	"golang.org/x/sys/unix"
)

// parker holds the sockets of idle WebSocket sessions in an epoll
// instance (one-shot: a socket reports once per park) and wakes a session
// when its socket turns readable or hangs up.
type parker struct {
	epfd int
	stop int // an eventfd in the set: written to stop run

	mu     sync.Mutex
	next   uint64
	parked map[uint64]*Session
}

// newParker returns nil if epoll is not available; sessions then keep
// their readers.
func newParker() *parker {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(fd)
		return nil
	}
	// id 0 is never a session's.
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, stop, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		_ = unix.Close(stop)
		_ = unix.Close(fd)
		return nil
	}
	p := &parker{epfd: fd, stop: stop, parked: map[uint64]*Session{}}
	go p.run()
	return p
}

// close stops run; sessions still parked are the server's to close.
func (p *parker) close() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.stop, one[:])
}

// park registers s's socket; the reader has released its buffer and
// returns once park does. It reports false if the socket could not be
// registered.
func (p *parker) park(s *Session) bool {
	p.mu.Lock()
	if s.parkID == 0 {
		p.next++
		s.parkID = p.next
	}
	id := s.parkID
	p.parked[id] = s
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(id), Pad: int32(id >> 32)}
	var ctlErr error
	err := s.ws.raw.Control(func(fd uintptr) {
		op := unix.EPOLL_CTL_MOD
		if !s.parkAdded {
			op = unix.EPOLL_CTL_ADD
		}
		ctlErr = unix.EpollCtl(p.epfd, op, int(fd), &ev)
		if ctlErr == nil {
			s.parkAdded = true
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		p.forget(s)
		return false
	}
	return true
}

// forget drops s from the parked table (its socket may still be in the
// epoll set, disarmed, until it closes).
func (p *parker) forget(s *Session) {
	p.mu.Lock()
	delete(p.parked, s.parkID)
	p.mu.Unlock()
}

func (p *parker) run() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				_ = unix.Close(p.stop)
				_ = unix.Close(p.epfd)
				return
			}
			p.mu.Lock()
			s := p.parked[id]
			delete(p.parked, id)
			p.mu.Unlock()
			if s != nil {
				s.readable()
			}
		}
	}
}
