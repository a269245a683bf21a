package engineio

import (
	"errors"
	"net/http"
	"sync"
)

// Refusal is an error AllowRequest may return to refuse a new session
// with a status other than 403: the client gets Status with
// {"code":4,"message":Message}, and Retry-After when RetryAfter is set.
type Refusal struct {
	Status     int
	Message    string
	RetryAfter string // seconds, as the header takes them; "" for none
}

func (e *Refusal) Error() string { return e.Message }

// ErrTooManySessions refuses a handshake from an address that holds
// MaxSessionsPerAddr sessions already.
var ErrTooManySessions = &Refusal{Status: http.StatusTooManyRequests, Message: "Too many sessions from this address", RetryAfter: "5"}

// refuse answers a refused handshake: a *Refusal with its status, any
// other error 403.
func (srv *Server) refuse(w http.ResponseWriter, err error) {
	var r *Refusal
	if !errors.As(err, &r) {
		srv.reject(w, ErrForbidden, err.Error())
		return
	}
	if r.RetryAfter != "" {
		w.Header().Set("Retry-After", r.RetryAfter)
	}
	srv.stats.error(ErrForbidden, r.Status)
	writeErrorStatus(w, r.Status, ErrForbidden, r.Message)
}

// addrCounts counts the open sessions of each client address, for
// MaxSessionsPerAddr. A session holds its count from the handshake until
// it is finalized.
type addrCounts struct {
	mu sync.Mutex
	n  map[string]int32
}

// reserve counts one more session for addr unless it has max already.
func (a *addrCounts) reserve(addr string, max int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int32{}
	}
	if int(a.n[addr]) >= max {
		return false
	}
	a.n[addr]++
	return true
}

func (a *addrCounts) release(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[addr] <= 1 {
		delete(a.n, addr) // the map holds only addresses with sessions
		return
	}
	a.n[addr]--
}

// count is addr's open sessions.
func (a *addrCounts) count(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.n[addr])
}

// admit counts a new session against its client address; false (and the
// refusal written) when the address is at its limit. The count is given
// back by releaseAddr.
func (srv *Server) admit(w http.ResponseWriter, r *http.Request, s *Session) bool {
	max := srv.opts.MaxSessionsPerAddr
	if max <= 0 {
		return true
	}
	addr := srv.clientAddr(r)
	if !srv.addrs.reserve(addr, max) {
		srv.refuse(w, ErrTooManySessions)
		return false
	}
	s.addr, s.counted = addr, true
	return true
}

// releaseAddr gives back the session's count; idempotent.
func (s *Session) releaseAddr() {
	s.mu.Lock()
	counted := s.counted
	s.counted = false
	s.mu.Unlock()
	if counted {
		s.srv.addrs.release(s.addr)
	}
}

// SessionsFrom is the number of open sessions counted for a client
// address (0 when MaxSessionsPerAddr is off).
func (srv *Server) SessionsFrom(addr string) int { return srv.addrs.count(addr) }
