package engineio

import (
	"bytes"
	"net/http"
	"time"
)

// The upgrade from polling to WebSocket: the client opens a WebSocket with
// the session's sid and sends "2probe"; the server answers "3probe" and
// releases the waiting poll with a noop (within upgradePollWait); the client pauses polling and
// sends "5"; from then on the session writes to the WebSocket, starting
// with whatever was queued, and polling requests with its sid get 400.

func (s *Session) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.state != stateOpen || s.transport != transportPolling || s.probe != nil {
		s.mu.Unlock()
		// Already upgraded or upgrading: as in Node, the WebSocket is
		// accepted and closed at once (a client that sees an HTTP error
		// here may treat it as fatal rather than as this probe failing).
		if c, _, err := upgrade(w, r); err == nil {
			c.write(closeFrameNormal)
			c.close()
		}
		return
	}
	c, fr, err := upgrade(w, r)
	if err != nil {
		s.mu.Unlock()
		return
	}
	c.stats = &s.srv.stats
	s.probe = c
	s.mu.Unlock()
	timer := time.AfterFunc(s.srv.opts.UpgradeTimeout, func() {
		s.mu.Lock()
		stillProbing := s.probe == c
		s.mu.Unlock()
		if stillProbing {
			c.close()
		}
	})
	go s.probeLoop(c, fr, timer)
}

var probeData = []byte("probe")

// probeLoop runs the upgrade on the probing WebSocket, then, once it is
// the session's transport, goes on as the session's reader.
func (s *Session) probeLoop(c *wsConn, fr *frameReader, timer *time.Timer) {
	upgraded := false
	_, _ = fr.run(s.srv.opts.MaxPayload, func(payload []byte, binary bool) bool {
		p, err := decodeFrame(payload, binary, s.eio)
		switch {
		case err == nil && p.typ == typePing && bytes.Equal(p.data, probeData) && !binary:
			s.mu.Lock()
			s.upgrading = true
			waiting := s.polling
			s.mu.Unlock()
			c.write(msgProbePong.frame)
			if waiting {
				// The client pauses polling once this poll is back, then
				// sends the upgrade packet; release it in a moment (as
				// Node's engine.io does), unless the upgrade comes first.
				time.AfterFunc(upgradePollWait, s.wakePoll)
			}
			return true
		case err == nil && p.typ == typeUpgrade && !binary:
			upgraded = s.completeUpgrade(c)
			return false
		}
		return false // anything else: the probe failed
	}, c.writeDirect)
	timer.Stop()
	if upgraded {
		if u, ok := s.handler.(Upgrader); ok {
			u.OnUpgrade(s)
		}
	}
	if !upgraded {
		s.mu.Lock()
		if s.probe == c {
			s.probe = nil
			s.upgrading = false
		}
		s.mu.Unlock()
		fr.release()
		c.close()
		return
	}
	s.readLoop(fr)
}

// completeUpgrade makes c the session's transport and flushes the queue
// to it. It reports false if the session closed meanwhile.
func (s *Session) completeUpgrade(c *wsConn) bool {
	s.mu.Lock()
	if s.state == stateClosed || s.probe != c || !s.upgrading {
		s.mu.Unlock()
		return false
	}
	s.probe = nil
	s.upgrading = false
	s.ws = c
	s.transport = transportWebSocket
	st := &s.srv.stats
	st.sessions[StatsPolling][eioIndex(s.eio)].Add(-1)
	st.sessions[StatsWebSocket][eioIndex(s.eio)].Add(1)
	st.upgrades.Add(1)
	s.wakePollLocked() // a poll still waiting gets a 400
	closing := s.state == stateClosing
	if closing {
		// The close packet queued for polling means nothing here; the
		// WebSocket closes with a close frame instead.
		q := s.queue[:0]
		for _, e := range s.queue {
			if e.m != msgClose {
				q = append(q, e)
			}
		}
		s.queue = q
	}
	flush := !s.writing && (len(s.queue) > 0 || closing)
	if flush {
		s.writing = true
	}
	s.mu.Unlock()
	if flush {
		s.flush(false)
	}
	return true
}
