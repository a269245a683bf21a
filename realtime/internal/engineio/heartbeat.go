package engineio

import "time"

// The heartbeat runs on one timer per session (time.AfterFunc: no
// goroutine waits on it). In v4 the server pings every PingInterval and
// expects a pong within PingTimeout; in v3 the client pings and the server
// answers, and a client silent for PingInterval+PingTimeout is gone. The
// same timer bounds a graceful close.
//
// The timer only ever moves forward: a pong or a client ping just moves
// `due`, and a timer that fires early re-arms itself for what is left. So
// a pong that comes back before the ping's write even returns is never
// lost: `awaiting` is set before the ping is queued.

func (s *Session) now() time.Duration { return time.Since(s.srv.epoch) }

// startHeartbeat arms the timer; the session is open.
func (s *Session) startHeartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.srv.opts.PingInterval
	if s.eio == 3 {
		d += s.srv.opts.PingTimeout
	}
	s.armLocked(d)
}

// armLocked sets the next deadline d from now.
func (s *Session) armLocked(d time.Duration) {
	s.due = s.now() + d
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.onTimer)
		return
	}
	s.timer.Reset(d)
}

func (s *Session) onTimer() {
	s.mu.Lock()
	switch s.state {
	case stateClosed:
		s.mu.Unlock()
		return
	case stateClosing:
		if left := s.due - s.now(); left > 0 {
			s.timer.Reset(left)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.closeNow(s.reason, nil) // the graceful close took too long
		return
	}
	if left := s.due - s.now(); left > 0 {
		s.timer.Reset(left)
		s.mu.Unlock()
		return
	}
	if s.eio == 3 || s.awaiting {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		return
	}
	s.awaiting = true
	// The pong is due PingTimeout after the ping was due, not after the
	// timer got to run: a late timer must not give the client more time
	// than the protocol says (a request at interval+timeout finds the
	// session gone, whatever the timer's latency).
	s.due += s.srv.opts.PingTimeout
	s.timer.Reset(s.due - s.now())
	s.mu.Unlock()
	s.sendControl(msgPing)
}

// expiredLocked reports whether the heartbeat deadline has passed without
// the timer having fired yet (a request arriving just then must not find
// the session alive).
func (s *Session) expiredLocked() bool {
	if s.state != stateOpen {
		return false
	}
	return (s.eio == 3 || s.awaiting) && s.now() >= s.due
}

// onPong handles a v4 pong. One the server did not ask for is ignored: it
// must not push the next ping back (a client that never reads could
// otherwise stay forever).
func (s *Session) onPong() {
	s.mu.Lock()
	if s.awaiting && s.state == stateOpen {
		s.awaiting = false
		// The timer is armed for the pong deadline, earlier than this;
		// when it fires it re-arms itself for the rest.
		s.due = s.now() + s.srv.opts.PingInterval
	}
	s.mu.Unlock()
}

// onClientPing handles a v3 ping: the client is alive until the next
// interval plus timeout.
func (s *Session) onClientPing() {
	s.mu.Lock()
	if s.state == stateOpen {
		s.due = s.now() + s.srv.opts.PingInterval + s.srv.opts.PingTimeout
	}
	s.mu.Unlock()
}
