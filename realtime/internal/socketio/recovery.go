package socketio

import (
	"runtime"
	"runtime/debug"
	"slices"
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
// to), so a server that shuts down keeps nothing: its sockets are not
// kept, and those kept from earlier drops expire when it closes.
//
// Only protocol 5 sockets are kept (socket.io-client 2.x cannot recover).
// A kept session that is not recovered within MaxDisconnection expires:
// the namespace's OnRecoveryExpired handler gets its id and data, so the
// application can end what it held for it. The same happens at once when
// its client comes back too late for the events it missed (the offset is
// no longer kept) and gets a new socket instead.

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
// by itself (Node's RECOVERABLE_DISCONNECT_REASONS, less "server shutting
// down": what this server keeps does not outlive it).
var recoverableReasons = map[string]bool{
	"transport error": true, "transport close": true, "forced close": true,
	"ping timeout": true, ReasonForcedServerClose: true,
}

type savedSession struct {
	sid, pid string
	since    int64 // the newest offset when the socket connected
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
	dropped  int64          // the newest offset expired from packets
	sessions map[string]*savedSession
	sweeper  *time.Timer
	onExpire func(id string, data any)
	// peak is the most events kept at once since memory was last handed
	// back (returnMemory).
	peak int
}

// After a burst (a churn of connections, a flood of room events) the
// events kept for it stay live for MaxDisconnection, and the runtime has
// no reason to collect, let alone return pages, once they expire on an
// idle server: its GC goal was set while they were live. So when at least
// returnAfter events were kept and all but a sixteenth of that peak has
// expired, the freed memory is handed back to the system at once. (Not
// all: the kept sessions of a burst expire with it, and the application
// tells their rooms, which keeps a few new events for another window.) On
// a server whose traffic stays up this never happens; the runtime manages
// its heap as usual.
const returnAfter = 4096

// returnMemory collects twice, then returns every free page: what sits in
// sync.Pools (the transport's buffers) survives one collection as the
// pools' victims and is freed by the second. Replaced in tests.
var returnMemory = func() {
	runtime.GC()
	debug.FreeOSMemory()
}

func newRecovery(o *RecoveryOptions) *recovery {
	r := &recovery{max: o.MaxDisconnection, sessions: map[string]*savedSession{}}
	if r.max <= 0 {
		r.max = DefaultMaxDisconnection
	}
	return r
}

// current is the newest offset reserved so far.
func (r *recovery) current() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
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
	// Offsets are reserved before encoding; keep the list sorted even if
	// two broadcasts finish out of order.
	i := len(r.packets)
	for i > 0 && r.packets[i-1].offset > offset {
		i--
	}
	r.packets = append(r.packets, storedPacket{})
	copy(r.packets[i+1:], r.packets[i:])
	r.packets[i] = storedPacket{offset: offset, opts: opts, msgs: msgs, at: now}
	r.peak = max(r.peak, len(r.packets)+len(r.sessions))
	// Per broadcast only the oldest packets are looked at; kept sessions
	// are the sweep's.
	r.expirePacketsLocked(now)
	r.armLocked()
	r.mu.Unlock()
}

// expirePacketsLocked drops the packets older than max.
func (r *recovery) expirePacketsLocked(now time.Time) {
	cut := 0
	for cut < len(r.packets) && now.Sub(r.packets[cut].at) > r.max {
		cut++
	}
	if cut > 0 {
		r.dropped = r.packets[cut-1].offset
		clear(r.packets[:cut])
		r.packets = r.packets[cut:]
		// Reslicing keeps the whole array: after a burst, let it go
		// once most of it is unused.
		if n := len(r.packets); n == 0 {
			r.packets = nil
		} else if c := cap(r.packets); c > 1024 && n < c/4 {
			r.packets = slices.Clone(r.packets)
		}
	}
}

// expireSessionsLocked drops the sessions that left more than max ago and
// returns them, for the caller to hand to onExpire once unlocked.
func (r *recovery) expireSessionsLocked(now time.Time) []*savedSession {
	var gone []*savedSession
	for pid, s := range r.sessions {
		if now.Sub(s.left) > r.max {
			delete(r.sessions, pid)
			gone = append(gone, s)
		}
	}
	return gone
}

// armLocked arms the sweep while anything is kept.
func (r *recovery) armLocked() {
	if r.sweeper == nil && (len(r.packets) > 0 || len(r.sessions) > 0) {
		r.sweeper = time.AfterFunc(r.sweepEvery(), r.sweep)
	}
}

// sweepEvery is how often expiry runs while anything is kept: a session
// expires at most this long after its window.
func (r *recovery) sweepEvery() time.Duration { return r.max/8 + 250*time.Millisecond }

func (r *recovery) sweep() {
	now := time.Now()
	r.mu.Lock()
	r.sweeper = nil
	r.expirePacketsLocked(now)
	gone, fn := r.expireSessionsLocked(now), r.onExpire
	r.armLocked()
	kept := len(r.packets) + len(r.sessions)
	burstOver := r.peak >= returnAfter && kept <= r.peak/16
	if burstOver {
		r.peak = kept
	}
	r.mu.Unlock()
	expire(fn, gone)
	if burstOver {
		returnMemory() // in the timer's goroutine: nothing waits for it
	}
}

// expire hands expired sessions to the namespace's handler.
func expire(fn func(id string, data any), gone []*savedSession) {
	if fn == nil {
		return
	}
	for _, s := range gone {
		fn(s.sid, s.data)
	}
}

// persist keeps a socket that left for a reason its client recovers from.
func (r *recovery) persist(s *Socket, rooms []string) {
	r.mu.Lock()
	r.sessions[s.pid] = &savedSession{sid: s.id, pid: s.pid, since: s.since, rooms: rooms, data: s.data, left: time.Now()}
	r.armLocked()
	r.mu.Unlock()
}

// setOnExpire sets the handler of expired sessions.
func (r *recovery) setOnExpire(fn func(id string, data any)) {
	r.mu.Lock()
	r.onExpire = fn
	r.mu.Unlock()
}

// drain expires every kept session now and forgets the kept events: the
// server is closing, and what it kept goes with it.
func (r *recovery) drain() {
	r.mu.Lock()
	gone := make([]*savedSession, 0, len(r.sessions))
	for _, s := range r.sessions {
		gone = append(gone, s)
	}
	clear(r.sessions)
	clear(r.packets)
	r.packets = r.packets[:0]
	r.dropped = r.next
	if r.sweeper != nil {
		r.sweeper.Stop()
		r.sweeper = nil
	}
	fn := r.onExpire
	r.mu.Unlock()
	expire(fn, gone)
}

// restore returns the session with pid and the messages it missed after
// offset, or nil when the session or the offset is not known (any more).
//
// A client that received no kept event has no offset to send (Node then
// refuses the recovery); here it gets what was kept since its socket
// connected, as long as none of that has expired.
func (r *recovery) restore(pid, offset string) (*savedSession, [][]*engineio.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[pid]
	if s == nil {
		return nil, nil
	}
	delete(r.sessions, pid) // recovered now, or never
	var i int
	ok := time.Since(s.left) <= r.max
	if offset == "" {
		ok = ok && r.dropped <= s.since
		i = sort.Search(len(r.packets), func(i int) bool { return r.packets[i].offset > s.since }) - 1
	} else {
		off, err := strconv.ParseInt(offset, 10, 64)
		i = sort.Search(len(r.packets), func(i int) bool { return r.packets[i].offset >= off })
		ok = ok && err == nil && i < len(r.packets) && r.packets[i].offset == off
	}
	if !ok {
		// Too late, or older than what is kept: the client starts over
		// with a new socket, and this session will not come back. Its
		// expiry runs off the connect path.
		if fn := r.onExpire; fn != nil {
			go fn(s.sid, s.data)
		}
		return nil, nil
	}
	var missed [][]*engineio.Message
	for _, p := range r.packets[i+1:] { // i is -1 when everything kept is missed
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
