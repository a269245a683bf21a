//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ---- churn ----

// ChurnResult is the churn scenario's line.
type ChurnResult struct {
	Common
	Started     int64   `json:"started"`
	Completed   int64   `json:"completed"`
	Failed      int64   `json:"failed"`
	ConnectsPS  float64 `json:"connects_per_sec"`
	LifetimeS   float64 `json:"lifetime_s"`
	MaxOpen     int64   `json:"max_open"`
	Setup       Latency `json:"setup_ms"`
	NotStarted  int64   `json:"not_started"`
	OpenAtClose int64   `json:"open_at_close"`
	// How the connections that got through setup ended: left (a Socket.IO
	// DISCONNECT and a close) or vanished (-vanish: no goodbye at all).
	Left     int64 `json:"left"`
	Vanished int64 `json:"vanished"`
	// -chat: messages posted, acked ok, refused (by code in errors), and
	// room messages received by the churning users.
	ChatSent     int64 `json:"chat_sent"`
	ChatAcked    int64 `json:"chat_acked"`
	ChatRejected int64 `json:"chat_rejected"`
	ChatReceived int64 `json:"chat_received"`
}

// churnRoomSize is about how many churning users share a room: the
// connections spread over rooms -room-0, -room-1, ... in turn. (In one
// room, every join and leave is also a broadcast to everyone there: at
// 500/s over 500 members that is 500,000 deliveries/s, a fan-out test, not
// a churn test.)
const churnRoomSize = 10

// churnChatRate is the server's limit on messages per second per user;
// -chat spreads a connection's messages over its lifetime to stay under it.
const churnChatRate = 5

// churnVanishes reports whether connection i vanishes rather than leaves:
// a fraction f of the connections, spread evenly over the run.
func churnVanishes(i int, f float64) bool {
	return int(float64(i+1)*f) > int(float64(i)*f)
}

// churnHandler counts the room messages the churning users receive.
type churnHandler struct{ received *atomic.Int64 }

func (h churnHandler) OnEvent(_ *Conn, data []byte) {
	if bytes.HasPrefix(data, messagePrefix) {
		h.received.Add(1)
	}
}

func (churnHandler) OnAck(*Conn, int64, []byte) {}

// churn opens -rate connections per second for -duration, each of which
// registers, joins a room of about churnRoomSize, checks an acked rtt,
// stays for -n/-rate seconds (so that about -n are open at any time),
// posting -chat messages to its room at even intervals, and leaves (a
// Socket.IO DISCONNECT, then the close, as a page that is left) or, for a
// -vanish fraction, vanishes (Conn.Vanish): the steady connect-and-leave
// of a busy site. setup_ms is the time from dialling to the rtt's answer;
// completed counts the connections that got there and were still up at
// the end of their lifetime.
func (r *runner) churn() (any, error) {
	rate := r.cfg.Rate
	lifetime := time.Duration(float64(r.cfg.N) / rate * float64(time.Second))
	interval := time.Duration(float64(time.Second) / rate)
	rooms := max(1, r.cfg.N/churnRoomSize)
	r.logf("churn: %.0f connections/s for %v, each open %v (about %d at a time, %d rooms); sending", rate, r.cfg.Duration, lifetime, r.cfg.N, rooms)
	var hist Histogram
	var started, completed, failed, open, maxOpen, notStarted atomic.Int64
	var left, vanished, chatSent, chatAcked, chatRejected, chatReceived atomic.Int64
	h := churnHandler{received: &chatReceived}
	stop := r.progress(func() string {
		return fmt.Sprintf("churn: %d started, %d completed, %d failed, %d open, %d vanished, %d messages acked",
			started.Load(), completed.Load(), failed.Load(), open.Load(), vanished.Load(), chatAcked.Load())
	})
	// Bounds: at most the steady population plus the handshakes in flight,
	// and nothing outlives -duration + lifetime + -timeout.
	sem := make(chan struct{}, r.cfg.N+maxInFlight)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Duration+lifetime+r.cfg.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	t0 := time.Now()
	end := t0.Add(r.cfg.Duration)
	for i := 0; ; i++ {
		next := t0.Add(time.Duration(i) * interval)
		if !next.Before(end) {
			break
		}
		sleepFor(time.Until(next))
		select {
		case sem <- struct{}{}:
		default:
			notStarted.Add(1) // the server is too slow to keep up: do not pile on
			continue
		}
		started.Add(1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			begin := time.Now()
			room := r.room + "-" + strconv.Itoa(i%rooms)
			c, err := dialConn(ctx, r.cc, i, h)
			if err == nil {
				if err = r.registerJoinRoom(c, room); err == nil {
					var ok bool
					var data []byte
					ok, data, err = c.Call("rtt", rttArg, false)
					if err == nil && !ok {
						err = fmt.Errorf("rtt: %s", truncate(data, 120))
					}
				}
				if err != nil {
					c.Close()
				}
			}
			if err != nil {
				failed.Add(1)
				r.errs.add("churn", err)
				return
			}
			hist.Record(time.Since(begin))
			for n := open.Add(1); ; {
				if m := maxOpen.Load(); n <= m || maxOpen.CompareAndSwap(m, n) {
					break
				}
			}
			t := time.NewTimer(0)
			<-t.C
			// until waits for the moment at, or the run's end; false then.
			until := func(at time.Time) bool {
				t.Reset(time.Until(at))
				select {
				case <-t.C:
					return true
				case <-ctx.Done():
					t.Stop()
					return false
				}
			}
			var arg []byte
			for k := 0; k < r.cfg.Chat && c.Alive(); k++ {
				if !until(begin.Add(lifetime * time.Duration(k+1) / time.Duration(r.cfg.Chat+1))) {
					break
				}
				arg = append(arg[:0], `{"room":"`...)
				arg = append(arg, room...)
				arg = append(arg, `","text":"churn `...)
				arg = strconv.AppendInt(arg, int64(i), 10)
				arg = append(arg, '.')
				arg = strconv.AppendInt(arg, int64(k), 10)
				arg = append(arg, `","clientId":"c`...)
				arg = strconv.AppendInt(arg, int64(i), 10)
				arg = append(arg, '-')
				arg = strconv.AppendInt(arg, int64(k), 10)
				arg = append(arg, `"}`...)
				chatSent.Add(1)
				ok, data, err := c.Call("message", arg, false)
				switch {
				case err != nil:
					r.errs.add("churn message", err)
				case ok:
					chatAcked.Add(1)
				default:
					chatRejected.Add(1)
					r.errs.addN("message rejected: "+ackCode(data), 1)
				}
			}
			until(begin.Add(lifetime))
			alive := c.Alive()
			if churnVanishes(i, r.cfg.Vanish) {
				c.Vanish()
				vanished.Add(1)
			} else {
				c.Leave()
				left.Add(1)
			}
			open.Add(-1)
			if alive {
				completed.Add(1)
			} else {
				failed.Add(1)
				if err := c.Err(); err != nil {
					r.errs.add("churn hold", err)
				}
			}
		}(i)
	}
	window := time.Since(t0)
	wg.Wait()
	stop()
	r.tr.close()
	res := &ChurnResult{
		Started:     started.Load(),
		Completed:   completed.Load(),
		Failed:      failed.Load(),
		ConnectsPS:  perSec(started.Load(), window),
		LifetimeS:   round3(lifetime.Seconds()),
		MaxOpen:     maxOpen.Load(),
		Setup:       hist.Summary(),
		NotStarted:  notStarted.Load(),
		OpenAtClose: open.Load(),

		Left:         left.Load(),
		Vanished:     vanished.Load(),
		ChatSent:     chatSent.Load(),
		ChatAcked:    chatAcked.Load(),
		ChatRejected: chatRejected.Load(),
		ChatReceived: chatReceived.Load(),
	}
	res.Common = r.common(0)
	return res, nil
}
