package engineio

import (
	"runtime"
	"sync"
)

// A flusher writes the queues of the WebSocket sessions handed to it by
// deferred sends (broadcasts), one session after the other, each queue in
// one writev. A broadcast then costs the broadcaster one enqueue per
// receiver, and the system calls happen here. When the server keeps up,
// each receiver's queue holds the one frame and the flusher writes it
// right after the broadcast; when it does not, the frames of every
// broadcast since the receiver's last write wait in its queue and leave
// together, so the cost per delivery falls below one system call as the
// load grows, where a write per frame would fall further behind.
//
// A server has one flusher per CPU the Go scheduler uses (GOMAXPROCS at
// start), sessions spread over them; a session is in at most one ready
// list at a time, because it is scheduled only by whoever takes its
// socket (writing goes from false to true), as with a direct flush.
type flusher struct {
	mu    sync.Mutex
	ready []*Session
	wake  chan struct{} // capacity 1: "ready is not empty"
	stop  chan struct{}
	once  sync.Once
}

func newFlusher() *flusher {
	f := &flusher{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	go f.run()
	return f
}

// schedule adds s, whose socket the caller has just taken, to the ready
// list.
func (f *flusher) schedule(s *Session) {
	f.mu.Lock()
	f.ready = append(f.ready, s)
	first := len(f.ready) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

func (f *flusher) run() {
	var batch []*Session
	for {
		select {
		case <-f.wake:
		case <-f.stop:
			return
		}
		for {
			f.mu.Lock()
			batch, f.ready = f.ready, batch[:0]
			f.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, s := range batch {
				s.flush(false)
			}
			clear(batch)
			if cap(batch) > maxFlusherSpare {
				batch = nil
			}
		}
	}
}

// maxFlusherSpare bounds the ready list's capacity kept between passes.
const maxFlusherSpare = 1 << 16

// flushers is a server's set of flushers.
type flushers []*flusher

func newFlushers() flushers {
	n := runtime.GOMAXPROCS(0)
	fs := make(flushers, n)
	for i := range fs {
		fs[i] = newFlusher()
	}
	return fs
}

// pick returns the flusher for the i-th session.
func (fs flushers) pick(i uint64) *flusher { return fs[i%uint64(len(fs))] }

func (fs flushers) close() {
	for _, f := range fs {
		f.once.Do(func() { close(f.stop) })
	}
}
