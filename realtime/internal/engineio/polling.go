package engineio

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Long-polling: a GET waits for what the server has to send, a POST
// carries what the client sends. A session has at most one GET waiting (a
// second one closes the session, as in Node) and one POST in progress.

func (srv *Server) openPolling(w http.ResponseWriter, r *http.Request, s *Session) {
	open := srv.openPacket(s)
	s.queue = append(s.queue, entry{m: open, group: 1})
	s.queued = open.size()
	if !srv.add(s) {
		s.releaseAddr()
		s.srv.reject(w, ErrForbidden, "Server is shutting down")
		return
	}
	// The handshake request is the first poll and gets the open packet
	// alone, as with Node; what OnConnection sends waits for the next poll.
	s.mu.Lock()
	batch := s.takeLocked()
	s.mu.Unlock()
	srv.opened(s, r)
	s.writePayload(w, batch)
	s.mu.Lock()
	s.giveBackLocked(batch, open.size())
	s.mu.Unlock()
}

// handlePoll serves a GET of an existing session.
func (s *Session) handlePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.expiredLocked() {
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, nil)
		s.srv.reject(w, ErrUnknownSID, "")
		return
	}
	switch {
	case s.state == stateClosed && s.lingering:
		s.lingering = false
		s.mu.Unlock()
		s.srv.remove(s)
		s.writePayload(w, []entry{{m: msgNoop}})
		return
	case s.refuseLocked(w, s.polling, errOverlappingPoll):
		return
	}
	if len(s.queue) == 0 {
		s.polling = true
		select { // a wake-up meant for an earlier poll
		case <-s.wake:
		default:
		}
		if s.holdLocked(w, r) {
			s.mu.Unlock()
			return
		}
		// During an upgrade a poll waits at most upgradePollWait, then gets
		// a noop: a client pauses polling (and only then sends the upgrade
		// packet) once its poll is back. If the upgrade completes first,
		// the poll is refused like any later one.
		var release *time.Timer
		if s.upgrading {
			release = time.AfterFunc(upgradePollWait, s.wakePoll)
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
			if release != nil {
				release.Stop()
			}
		case <-r.Context().Done():
			s.mu.Lock()
			s.polling = false
			s.mu.Unlock()
			s.closeNow(ReasonTransportError, errPollAbandoned)
			return
		}
		s.mu.Lock()
	}
	s.answerPollLocked(w)
}

// answerPollLocked answers a poll once it has something to answer: what is
// queued, the close, or what an upgrade leaves it. s.mu is held; it is
// released.
func (s *Session) answerPollLocked(w http.ResponseWriter) {
	s.polling = false
	switch {
	case s.state == stateClosed:
		m := s.release
		s.mu.Unlock()
		if m == nil {
			m = msgClose
		}
		s.srv.remove(s) // before answering: the client's next request gets 400
		s.writePayload(w, []entry{{m: m}})
		return
	case s.transport != transportPolling:
		// Upgraded while this poll waited: the queue belongs to the
		// WebSocket now.
		s.mu.Unlock()
		s.srv.reject(w, ErrBadRequest, "")
		return
	case len(s.queue) == 0:
		// Released for the upgrade.
		s.mu.Unlock()
		s.writePayload(w, []entry{{m: msgNoop}})
		return
	}
	batch := s.takeLocked()
	if n := len(batch); n > 1 && batch[n-1].m == msgClose {
		// What was queued before a server-side close goes out first and
		// the close packet in the next response, as with Node: a client
		// handles the packets of a payload only after the close in it
		// (socket.io-client defers packets by a tick), and by then it has
		// dropped the acknowledgements it was waiting for.
		s.queue = append(s.queue, batch[n-1])
		batch = batch[:n-1]
	}
	s.mu.Unlock()
	size := 0
	closing := false
	for _, e := range batch {
		size += e.m.size()
		closing = closing || e.m == msgClose
	}
	s.writePayload(w, batch)
	s.mu.Lock()
	s.giveBackLocked(batch, size)
	s.mu.Unlock()
	if closing {
		s.closeNow(s.reason, nil)
	}
}

// upgradePollWait bounds how long a poll that arrives during an upgrade
// waits for it (Node's engine.io checks every 100 ms).
const upgradePollWait = 100 * time.Millisecond

// wakePoll releases the waiting poll, if any.
func (s *Session) wakePoll() {
	s.mu.Lock()
	s.wakePollLocked()
	s.mu.Unlock()
}

// wakePollLocked releases the waiting poll: the GET waiting in handlePoll,
// or a held one, which a new goroutine answers.
func (s *Session) wakePollLocked() {
	if !s.polling {
		return
	}
	if hp := s.held; hp != nil {
		s.held = nil
		go s.answerHeld(hp)
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var (
	errOverlappingPoll = errors.New("engineio: overlapping poll requests")
	errOverlappingPost = errors.New("engineio: overlapping data requests")
	errPollAbandoned   = errors.New("engineio: poll request closed by the client")
	errPayloadTooLarge = errors.New("engineio: request body over the maximum payload")
)

// payloadPool holds the buffers poll responses are built in.
var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writePayload answers a poll with the batch as one payload: v4 packets
// joined by 0x1e, v3 length-prefixed (binary when the client reads binary
// and a packet is binary), or a JSONP script.
func (s *Session) writePayload(w http.ResponseWriter, batch []entry) {
	msgs := make([]*Message, len(batch))
	for i, e := range batch {
		msgs[i] = e.m
	}
	bp := payloadPool.Get().(*[]byte)
	body, binary := encodePayload((*bp)[:0], msgs, int(s.eio), s.v3Binary)
	*bp = body
	h := w.Header()
	switch {
	case s.jsonp:
		body = encodeJSONP(make([]byte, 0, len(body)+32), s.jsonpIdx, body)
		h.Set("Content-Type", "text/javascript; charset=UTF-8")
	case binary:
		h.Set("Content-Type", "application/octet-stream")
	default:
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	s.srv.stats.sent.Add(uint64(len(body)))
	if cap(*bp) <= 1<<20 {
		payloadPool.Put(bp)
	}
}

// refuseLocked answers a polling request that the session cannot take:
// it is closed, upgraded, or busy with another request of the same kind
// (which closes it, as in Node). It reports whether it answered; then it
// has released the lock.
func (s *Session) refuseLocked(w http.ResponseWriter, busy bool, overlap error) bool {
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.reject(w, ErrUnknownSID, "")
	case s.transport != transportPolling:
		s.mu.Unlock()
		s.srv.reject(w, ErrBadRequest, "")
	case busy:
		s.mu.Unlock()
		s.closeNow(ReasonTransportError, overlap)
		s.srv.reject(w, ErrBadRequest, "")
	default:
		return false
	}
	return true
}

// handleData serves a POST: the packets in its body, in order.
func (s *Session) handleData(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.refuseLocked(w, s.posting, errOverlappingPost) {
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	max := s.srv.opts.MaxPayload
	if s.jsonp {
		max = max*3 + 2 // d= and percent-encoding
	}
	if r.ContentLength > max {
		s.closeNow(ReasonTransportError, errPayloadTooLarge)
		s.srv.stats.error(ErrBadRequest, http.StatusRequestEntityTooLarge)
		writePayloadTooLarge(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.closeNow(ReasonTransportError, errPayloadTooLarge)
			s.srv.stats.error(ErrBadRequest, http.StatusRequestEntityTooLarge)
			writePayloadTooLarge(w)
			return
		}
		s.closeNow(ReasonTransportError, err)
		s.srv.reject(w, ErrBadRequest, "")
		return
	}
	s.srv.stats.received.Add(uint64(len(body)))
	var pkts []packet
	switch {
	case s.jsonp:
		d, ok := decodeJSONPBody(body)
		if !ok {
			err = ErrInvalidPacket
			break
		}
		pkts, err = decodePayload(d, s.eio)
	case s.eio == 3 && r.Header.Get("Content-Type") == "application/octet-stream":
		pkts, err = decodeBinaryPayloadV3(body)
	default:
		pkts, err = decodePayload(body, s.eio)
	}
	for _, p := range pkts {
		if !s.onPacket(p) {
			break
		}
	}
	if err != nil {
		s.closeNow(ReasonParseError, err)
		s.srv.reject(w, ErrBadRequest, "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

func decodePayload(body []byte, eio uint8) ([]packet, error) {
	if eio == 3 {
		return decodePayloadV3(body)
	}
	return decodePayloadV4(body)
}

func writePayloadTooLarge(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = w.Write([]byte(`{"code":3,"message":"Payload too large"}`))
}

// onPacket handles one packet from the client, whatever its transport. It
// returns false once the session is closed (the rest is not read).
func (s *Session) onPacket(p packet) bool {
	s.srv.stats.packetsIn.Add(1)
	switch p.typ {
	case typeMessage:
		if h := s.handler; h != nil {
			h.OnMessage(s, p.data, p.binary)
		}
	case typePong:
		if s.eio == 3 {
			s.closeNow(ReasonTransportError, errHeartbeatDirection)
			return false
		}
		s.onPong()
	case typePing:
		if s.eio != 3 {
			s.closeNow(ReasonTransportError, errHeartbeatDirection)
			return false
		}
		s.onClientPing()
		if len(p.data) == 0 {
			s.sendControl(msgPong)
		} else {
			s.sendControl(newText(typePong, p.data))
		}
	case typeClose:
		s.closeNow(ReasonTransportClose, nil)
		return false
	}
	// open, upgrade and noop carry nothing for an established session.
	s.mu.Lock()
	open := s.state != stateClosed
	s.mu.Unlock()
	return open
}

var errHeartbeatDirection = errors.New("engineio: heartbeat packet in the wrong direction for the protocol version")
