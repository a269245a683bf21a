package engineio

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// parker holds idle sockets in an epoll instance (one-shot: a socket
// reports once per park) and tells their owner when one turns readable or
// hangs up: idle WebSocket sessions (park.go) and held polls (heldpoll.go).
type parker struct {
	epfd int
	stop int // an eventfd in the set: written to stop run

	mu     sync.Mutex
	next   uint64
	parked map[uint64]waiter
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
	p := &parker{epfd: fd, stop: stop, parked: map[uint64]waiter{}}
	go p.run()
	return p
}

// close stops run; sessions still parked are the server's to close.
func (p *parker) close() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.stop, one[:])
}

// park registers the socket raw for w, in slot; w's reader has returned or
// is about to. It reports false if the socket could not be registered.
func (p *parker) park(slot *parkSlot, raw syscall.RawConn, w waiter) bool {
	p.mu.Lock()
	if slot.id == 0 {
		p.next++
		slot.id = p.next
	}
	id := slot.id
	p.parked[id] = w
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(id), Pad: int32(id >> 32)}
	var ctlErr error
	err := raw.Control(func(fd uintptr) {
		op := unix.EPOLL_CTL_MOD
		if !slot.added {
			op = unix.EPOLL_CTL_ADD
		}
		ctlErr = unix.EpollCtl(p.epfd, op, int(fd), &ev)
		if ctlErr == nil {
			slot.added = true
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		p.forget(slot)
		return false
	}
	return true
}

// forget drops slot from the parked table (its socket may still be in the
// epoll set, disarmed, until it closes).
func (p *parker) forget(slot *parkSlot) {
	p.mu.Lock()
	delete(p.parked, slot.id)
	p.mu.Unlock()
}

// remove forgets slot and takes its socket out of the epoll set, for a
// socket that lives on elsewhere (a held poll's connection, given back to
// the HTTP server).
func (p *parker) remove(slot *parkSlot, raw syscall.RawConn) {
	p.forget(slot)
	if slot.added {
		_ = raw.Control(func(fd uintptr) { _ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
		slot.added = false
	}
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
			w := p.parked[id]
			delete(p.parked, id)
			p.mu.Unlock()
			if w != nil {
				w.readable()
			}
		}
	}
}
