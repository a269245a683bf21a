package realtime_test

import (
	"sync"
	"time"
)

// watched is state the server side of a test records and the test waits
// on: changed is closed and replaced on every update, so waiters need no
// polling. Embed it and guard the embedding struct's fields with mu.
type watched struct {
	mu      sync.Mutex
	changed chan struct{}
}

// update runs f with the lock held and wakes the waiters.
func (w *watched) update(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
	if w.changed != nil {
		close(w.changed)
	}
	w.changed = make(chan struct{})
}

// wait returns once cond (called with the lock held) holds, or false after
// timeout.
func (w *watched) wait(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if w.changed == nil {
			w.changed = make(chan struct{})
		}
		ok, ch := cond(), w.changed
		w.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}
