package socketio

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// Connection state recovery, as socket.io-client 4.6+ expects it: the
// CONNECT answer carries a private session id (pid), every event the
// server sends carries an offset as its last argument, and a client that
// comes back within MaxDisconnection with its pid and the last offset it
// saw gets its socket back (same id, rooms and data) with the events it
// missed, in order, and Recovered() true.
//
// Only events without an acknowledgement that are neither volatile nor
// latest-value are kept (those two are for values that go stale). What is
// kept is the encoded messages the broadcast sent anyway: storing costs a
// reference, not a copy. Sessions and events are kept in memory, on the
// server the client was on (with sticky sessions, the one it comes back
// to).

// DefaultMaxDisconnection is how long a disconnected session stays
// recoverable, as in Node.
const DefaultMaxDisconnection = 2 * time.Minute

// RecoveryOptions turns connection state recovery on.
type RecoveryOptions struct {
	// MaxDisconnection is how long a session and the events it may miss
	// are kept; default DefaultMaxDisconnection.
	MaxDisconnection time.Duration
	// RunMiddleware runs the namespace's middleware for a recovered socket
	// too (Node skips it by default, and so does this).
	RunMiddleware bool
}

// recoverableReasons are the disconnects after which a client comes back
// by itself (Node's RECOVERABLE_DISCONNECT_REASONS).
var recoverableReasons = map[string]bool{
	"transport error": true, "transport close": true, "forced close": true,
	"ping timeout": true, "server shutting down": true, ReasonForcedServerClose: true,
}

type savedSession struct {
	sid, pid string
	rooms    []string
	data     any
	left     time.Time
}

type storedPacket struct {
	offset int64
	opts   BroadcastOptions
	msgs   []*engineio.Message
	at     time.Time
}

// recovery keeps one namespace's sessions and recent events.
type recovery struct {
	max time.Duration

	mu       sync.Mutex
	next     int64
	packets  []storedPacket // by offset, oldest first
	sessions map[string]*savedSession
	sweeper  *time.Timer
}

func newRecovery(o *RecoveryOptions) *recovery {
	r := &recovery{max: o.MaxDisconnection, sessions: map[string]*savedSession{}}
	if r.max <= 0 {
		r.max = DefaultMaxDisconnection
	}
	return r
}

// offset reserves the next offset.
func (r *recovery) offset() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	return r.next
}

// store keeps a sent event for the clients that may come back.
func (r *recovery) store(offset int64, opts BroadcastOptions, msgs []*engineio.Message) {
	now := time.Now()
	opts.Rooms = append([]string(nil), opts.Rooms...)
	opts.Except = append([]string(nil), opts.Except...)
	r.mu.Lock()
	defer r.mu.Unlock()
	// Offsets are reserved before encoding; keep the list sorted even if
	// two broadcasts finish out of order.
	i := len(r.packets)
	for i > 0 && r.packets[i-1].offset > offset {
		i--
	}
	r.packets = append(r.packets, storedPacket{})
	copy(r.packets[i+1:], r.packets[i:])
	r.packets[i] = storedPacket{offset: offset, opts: opts, msgs: msgs, at: now}
	r.expireLocked(now)
}

// expireLocked drops what is older than max, and arms the sweep that does
// the same for sessions while anything is kept.
func (r *recovery) expireLocked(now time.Time) {
	cut := 0
	for cut < len(r.packets) && now.Sub(r.packets[cut].at) > r.max {
		cut++
	}
	if cut > 0 {
		clear(r.packets[:cut])
		r.packets = r.packets[cut:]
	}
	for pid, s := range r.sessions {
		if now.Sub(s.left) > r.max {
			delete(r.sessions, pid)
		}
	}
	if r.sweeper == nil && (len(r.packets) > 0 || len(r.sessions) > 0) {
		r.sweeper = time.AfterFunc(r.max/4+time.Second, r.sweep)
	}
}

func (r *recovery) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweeper = nil
	r.expireLocked(time.Now())
}

// persist keeps a socket that left for a reason its client recovers from.
func (r *recovery) persist(s *Socket, rooms []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[s.pid] = &savedSession{sid: s.id, pid: s.pid, rooms: rooms, data: s.data, left: time.Now()}
	r.expireLocked(time.Now())
}

// restore returns the session with pid and the messages it missed after
// offset, or nil when the session or the offset is not known (any more).
func (r *recovery) restore(pid, offset string) (*savedSession, [][]*engineio.Message) {
	off, err := strconv.ParseInt(offset, 10, 64)
	if err != nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[pid]
	if s == nil || time.Since(s.left) > r.max {
		return nil, nil
	}
	i := sort.Search(len(r.packets), func(i int) bool { return r.packets[i].offset >= off })
	if i == len(r.packets) || r.packets[i].offset != off {
		return nil, nil // older than what is kept: the client must start over
	}
	delete(r.sessions, pid)
	var missed [][]*engineio.Message
	for _, p := range r.packets[i+1:] {
		if includes(s.rooms, p.opts) {
			missed = append(missed, p.msgs)
		}
	}
	return s, missed
}

// includes reports whether a socket in rooms received a broadcast.
func includes(rooms []string, opts BroadcastOptions) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		for _, x := range opts.Except {
			if r == x {
				return false
			}
		}
		for _, t := range opts.Rooms {
			if r == t {
				in = true
			}
		}
	}
	return in
}

// stored reports whether an event sent with opts is kept for recovery.
func (r *recovery) keeps(opts BroadcastOptions) bool {
	return r != nil && !opts.Flags.Volatile && opts.Flags.Latest == ""
}
