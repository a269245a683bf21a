package engineio

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// Handler receives a session's packets and its close. Its methods are
// called from one goroutine at a time per session, in the order the
// client sent the packets.
type Handler interface {
	// OnMessage is called for each message packet. The session never
	// reuses data: the handler may keep it.
	OnMessage(s *Session, data []byte, binary bool)
	// OnClose is called once, when the session is gone.
	OnClose(s *Session, reason Reason, err error)
}

// Upgrader is implemented by a Handler that wants to know when its
// session moved from polling to WebSocket (an admin view shows the
// transport in use).
type Upgrader interface {
	OnUpgrade(s *Session)
}

type transportKind uint8

const (
	transportPolling transportKind = iota + 1
	transportWebSocket
)

func (t transportKind) String() string {
	if t == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // what is queued still goes out, then the transport closes
	stateClosed
)

// entry is one queued message. key is set for latest-value messages; group
// is the number of messages sent together (a packet and its binary
// attachments), set on the first of them.
type entry struct {
	m     *Message
	key   string
	group uint16
}

// closedLinger is how long a session closed by its client over polling
// stays known, to answer a poll sent together with the close packet.
const closedLinger = 2 * time.Second

// ErrSlowClient is the error a session closed for its write queue going
// over its cap is closed with.
var ErrSlowClient = errors.New("engineio: write queue over its byte cap")

// Session is one Engine.IO connection, whatever its transport.
type Session struct {
	// The first cache line holds what every send and every write touch
	// (a broadcast touches a thousand sessions, then writes them): the
	// lock, the write queue and the socket.
	mu        sync.Mutex
	state     sessionState
	transport transportKind
	eio       uint8
	// writing is true while one goroutine owns the socket.
	writing bool
	// blocked is true while a drain goroutine waits for the socket to
	// take what it could not at once: the client is behind.
	blocked bool
	// queued counts the bytes of messages queued or being written.
	queued int
	queue  []entry
	ws     *wsConn // WebSocket
	srv    *Server

	spare []entry // the queue's other slice, while a writer has one
	// flusher is the writer that deferred sends hand the session to.
	flusher *flusher
	id      string
	handler Handler

	reason    Reason
	closeErr  error
	finalized bool
	// addr is the client address the session is counted against
	// (MaxSessionsPerAddr) while counted is true.
	addr    string
	counted bool

	// WebSocket. fr is the reader's state, kept while the session is
	// parked (park.go): parked means no goroutine reads the socket.
	fr     *frameReader
	parked bool
	slot   parkSlot

	// Polling. polling is true while a GET waits for data; wake tells it,
	// or, for a poll held without its goroutine (heldpoll.go), held is it.
	wake      chan struct{}
	held      *heldPoll
	polling   bool
	posting   bool
	jsonp     bool
	v3Binary  bool
	jsonpIdx  string
	release   *Message // what a GET woken by a close answers
	upgrading bool     // a probe succeeded; waiting for the upgrade packet
	probe     *wsConn  // a WebSocket probing this session for the upgrade
	lingering bool     // closed by the client; kept to answer its last poll
	closeSent bool     // a WebSocket close frame went out

	// Heartbeat: one timer per session (heartbeat.go).
	timer    *time.Timer
	due      time.Duration // since srv.epoch: next ping, or the pong deadline
	awaiting bool          // a ping is out; a pong is due by `due`
}

// ID is the session id (Engine.IO's sid).
func (s *Session) ID() string { return s.id }

// Protocol is the Engine.IO protocol version, 3 or 4.
func (s *Session) Protocol() int { return int(s.eio) }

// Transport is "websocket" or "polling".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport.String()
}

// SetHandler sets who receives the session's packets; call it from
// Server's OnConnection, before the session reads anything.
func (s *Session) SetHandler(h Handler) { s.handler = h }

// SendFlags say how a send is queued.
type SendFlags struct {
	// Volatile drops the messages instead of queuing them when the client
	// is behind: the socket did not take the last write (WebSocket), or no
	// poll is waiting (polling).
	Volatile bool
	// Latest, when set, makes the messages the newest value for the key:
	// if messages sent with the same key are still queued, these replace
	// them instead of queuing behind them, so only the latest value is
	// ever waiting.
	Latest string
	// Deferred hands the write to the session's flusher instead of
	// writing at once from the caller's goroutine. A broadcast defers:
	// it queues to every receiver first and the flusher then writes each
	// receiver's queue, so that when the server is busy, several frames
	// for one receiver leave in one writev (one system call) rather than
	// one each.
	Deferred bool
}

// Send queues msgs, in order and together (nothing else is queued between
// them). It returns false if the session is closing or closed, or if this
// send put it over its queue cap (it is then closed as a slow client).
func (s *Session) Send(msgs ...*Message) bool { return s.SendWith(SendFlags{}, msgs...) }

// volatileQueueLimit is how many bytes may be queued for a session, not
// yet handed to its socket, before volatile sends to it are dropped: a
// flusher that is behind must not turn volatile traffic into a queue.
const volatileQueueLimit = 64 << 10

// SendWith queues msgs as Send does, with flags.
func (s *Session) SendWith(f SendFlags, msgs ...*Message) bool {
	if len(msgs) == 0 {
		return true
	}
	size := 0
	for _, m := range msgs {
		size += m.size()
	}
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return false
	}
	if f.Volatile && !s.writableLocked() {
		s.mu.Unlock()
		s.srv.stats.volatile.Add(1)
		return false
	}
	if f.Latest != "" && s.replaceLatestLocked(f.Latest, msgs, size) {
		s.mu.Unlock()
		return true
	}
	if s.queued+size > s.srv.opts.MaxQueueBytes {
		s.mu.Unlock()
		s.closeNow(ReasonSlowClient, ErrSlowClient)
		return false
	}
	s.appendLocked(f.Latest, msgs, size)
	if s.kickLocked() {
		s.mu.Unlock()
		if f.Deferred {
			s.flusher.schedule(s)
		} else {
			s.flush(false)
		}
		return true
	}
	s.mu.Unlock()
	return true
}

// Cork holds what is sent to a WebSocket session during the next d, then
// writes it all at once (one writev). Over polling it does nothing (a poll
// carries whatever is queued anyway). The Socket.IO layer corks a
// connection while a namespace's connection handlers run, so that what
// they send arrives after the CONNECT answer, not in the same read: some
// clients handle only the first packet of a read before listening for the
// next (the official compliance suite's client among them).
func (s *Session) Cork(d time.Duration) {
	s.mu.Lock()
	if s.transport != transportWebSocket || s.writing || s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.writing = true // nobody else writes until the timer does
	s.mu.Unlock()
	time.AfterFunc(d, func() { s.flush(false) })
}

// sendControl queues a control packet; it is not subject to the cap.
func (s *Session) sendControl(m *Message) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.appendLocked("", []*Message{m}, m.size())
	if s.kickLocked() {
		s.mu.Unlock()
		s.flush(false)
		return
	}
	s.mu.Unlock()
}

func (s *Session) appendLocked(key string, msgs []*Message, size int) {
	for i, m := range msgs {
		e := entry{m: m}
		if i == 0 {
			e.key, e.group = key, uint16(len(msgs))
		}
		s.queue = append(s.queue, e)
	}
	s.queued += size
}

// replaceLatestLocked replaces the queued group with the same key by msgs.
// It reports whether it did; a group of another length is removed and the
// caller appends msgs.
func (s *Session) replaceLatestLocked(key string, msgs []*Message, size int) bool {
	for i := range s.queue {
		e := &s.queue[i]
		if e.group == 0 || e.key != key {
			continue
		}
		old := 0
		for _, o := range s.queue[i : i+int(e.group)] {
			old += o.m.size()
		}
		if int(e.group) == len(msgs) {
			for j, m := range msgs {
				s.queue[i+j].m = m
			}
			s.queued += size - old
			return true
		}
		n := int(e.group)
		s.queue = append(s.queue[:i], s.queue[i+n:]...)
		clear(s.queue[len(s.queue) : len(s.queue)+n])
		s.queued -= old
		return false
	}
	return false
}

// writableLocked reports whether the client keeps up: a volatile message
// sent now goes out without waiting behind a stalled socket.
func (s *Session) writableLocked() bool {
	if s.transport == transportWebSocket {
		return !s.blocked && s.queued < volatileQueueLimit
	}
	return len(s.queue) == 0 && s.polling
}

// kickLocked gets queued messages moving. It returns true if the caller
// must write them (flush): the session was an idle WebSocket, and the
// caller now owns the socket until the queue is empty.
func (s *Session) kickLocked() bool {
	if s.transport == transportWebSocket {
		if s.writing {
			return false
		}
		s.writing = true
		return true
	}
	s.wakePollLocked()
	return false
}

// takeLocked hands the queued messages to a writer. The queue is reused
// (spare) once the writer gives the slice back with giveBack.
func (s *Session) takeLocked() []entry {
	batch := s.queue
	s.queue, s.spare = s.spare, nil
	if len(batch) > 0 {
		s.srv.stats.packetsOut.Add(uint64(len(batch)))
	}
	return batch
}

// maxSpare bounds the queue capacity a session keeps between bursts.
const maxSpare = 64

func (s *Session) giveBackLocked(batch []entry, written int) {
	s.queued -= written
	if cap(batch) <= maxSpare && s.spare == nil {
		clear(batch)
		s.spare = batch[:0]
	}
}

// Close closes the session from the server side: what is already queued
// still goes out, then the transport is closed (WebSocket: a close frame;
// polling: a close packet on the next poll). The reason is "forced close".
func (s *Session) Close() { s.closeGracefully(ReasonForcedClose) }

func (s *Session) closeGracefully(reason Reason) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state, s.reason = stateClosing, reason
	// The close must not wait forever on a client that stopped reading.
	s.armLocked(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
	if s.transport == transportPolling {
		s.appendLocked("", []*Message{msgClose}, msgClose.size())
		s.kickLocked()
		s.mu.Unlock()
		return
	}
	start := !s.writing
	s.writing = true
	s.mu.Unlock()
	if start {
		s.flush(false) // finds the queue empty or drains it, then closes
	}
}

// closeNow closes the session at once; what is queued is dropped. A poll
// that is waiting gets a close packet, or a noop if the client closed.
func (s *Session) closeNow(reason Reason, err error) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.reason == 0 || s.state == stateOpen {
		s.reason, s.closeErr = reason, err
	}
	s.state = stateClosed
	s.queue = nil
	c, probe := s.ws, s.probe
	release := msgClose
	if reason == ReasonTransportClose {
		release = msgNoop
	}
	s.release = release
	linger := false
	if s.polling {
		s.wakePollLocked()
	} else if reason == ReasonTransportClose && s.transport == transportPolling {
		// The client posted a close packet; its poll may still be on the
		// way (it is sent concurrently). Answer it with the noop rather
		// than "Session ID unknown", then forget the session.
		linger = true
		s.lingering = true
	}
	// A WebSocket gets a close frame if one can go out at once (nobody is
	// mid-frame and the socket takes it without waiting): a client whose
	// connection the server drops (ping timeout, slow client) then sees a
	// clean close, as with Node.
	sayClose := c != nil && !s.writing && !s.closeSent && reason != ReasonTransportClose
	if sayClose {
		s.writing, s.closeSent = true, true
	}
	wasParked := s.unparkLocked() // no reader will see the close: finalize here
	s.mu.Unlock()
	if linger {
		time.AfterFunc(closedLinger, func() { s.srv.remove(s) })
	}
	if probe != nil {
		probe.close()
	}
	if c != nil {
		if sayClose {
			_, _ = c.tryWrite([][]byte{closeFrameNormal})
		}
		// The reader returns with an error and finalizes.
		c.close()
		if wasParked {
			go s.finalize()
		}
		return
	}
	go s.finalize()
}

// finalize removes the session and tells the handler, once.
func (s *Session) finalize() {
	s.mu.Lock()
	if s.finalized {
		s.mu.Unlock()
		return
	}
	s.finalized = true
	if s.state != stateClosed {
		s.state = stateClosed
	}
	if s.reason == 0 {
		s.reason = ReasonTransportClose
	}
	reason, err := s.reason, s.closeErr
	st := &s.srv.stats
	st.sessions[transportIndex(s.transport)][eioIndex(s.eio)].Add(-1)
	if int(reason) < numReasons {
		st.closes[reason].Add(1)
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.queue, s.spare = nil, nil
	lingering := s.lingering
	s.mu.Unlock()
	if !lingering {
		s.srv.remove(s)
	}
	s.srv.count.Add(-1)
	s.releaseAddr()
	if h := s.handler; h != nil {
		h.OnClose(s, reason, err)
	}
	s.srv.wg.Done()
}

// flush writes the queue to the WebSocket until it is empty. The caller
// owns the socket (writing is true). When blocking is false (the caller is
// whoever enqueued) it never waits for the socket: what the socket cannot
// take now is left to a drain goroutine.
func (s *Session) flush(blocking bool) {
	c := s.ws
	bufs := getFrames()
	defer putFrames(bufs)
	for {
		s.mu.Lock()
		if s.state == stateClosed {
			s.writing = false
			s.mu.Unlock()
			return
		}
		if len(s.queue) == 0 {
			if s.state == stateClosing {
				s.mu.Unlock()
				s.finishGracefulClose()
				return
			}
			s.writing, s.blocked = false, false
			s.mu.Unlock()
			return
		}
		batch := s.takeLocked()
		s.mu.Unlock()

		frames := (*bufs)[:0]
		size := 0
		for _, e := range batch {
			frames = append(frames, e.m.wsFrame(int(s.eio)))
			size += e.m.size()
		}
		*bufs = frames
		var err error
		if blocking {
			err = c.writeBlocking(frames, s.srv.writeTimeout())
		} else {
			var rest [][]byte
			rest, err = c.tryWrite(frames)
			if err == errWouldBlock {
				// Keep the frames alive for the drain goroutine; it owns
				// the socket from here.
				pending := append([][]byte(nil), rest...)
				s.mu.Lock()
				s.blocked = true
				s.mu.Unlock()
				go s.drain(pending, batch, size)
				return
			}
		}
		if err != nil {
			s.writeFailed(err)
			return
		}
		s.mu.Lock()
		s.giveBackLocked(batch, size)
		s.mu.Unlock()
	}
}

// writeFailed gives up the socket after a write error and closes.
func (s *Session) writeFailed(err error) {
	s.mu.Lock()
	s.writing = false
	s.mu.Unlock()
	s.closeNow(ReasonTransportError, err)
}

// drain finishes writing frames that the socket could not take at once,
// then writes whatever was queued meanwhile, and exits when the queue is
// empty. It is the only goroutine a WebSocket session ever starts for
// writing, and only while its client is behind.
func (s *Session) drain(pending [][]byte, batch []entry, size int) {
	if err := s.ws.writeBlocking(pending, s.srv.writeTimeout()); err != nil {
		s.writeFailed(err)
		return
	}
	s.mu.Lock()
	s.giveBackLocked(batch, size)
	s.mu.Unlock()
	s.flush(true)
}

// finishGracefulClose ends a WebSocket session whose queue has drained:
// a close frame, then the reader waits a moment for the client's answer.
func (s *Session) finishGracefulClose() {
	c := s.ws
	_ = c.writeBlocking([][]byte{closeFrameNormal}, time.Second)
	s.mu.Lock()
	s.writing, s.closeSent = false, true
	// The reader sees the client's close frame or this deadline, and
	// finalizes the session; a parked session gets its reader back.
	_ = c.conn.SetReadDeadline(time.Now().Add(time.Second))
	if s.unparkLocked() {
		go s.readLoop(s.fr)
	}
	s.mu.Unlock()
}

// framesPool holds the [][]byte a flush builds its writev from.
var framesPool = sync.Pool{New: func() any { b := make([][]byte, 0, 64); return &b }}

func getFrames() *[][]byte { return framesPool.Get().(*[][]byte) }

func putFrames(b *[][]byte) {
	if cap(*b) > 1024 {
		return
	}
	clear(*b)
	*b = (*b)[:0]
	framesPool.Put(b)
}

// isClosedConn reports whether err means the connection was closed here.
func isClosedConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
