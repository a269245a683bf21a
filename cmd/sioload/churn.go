package main

import (
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
}

// churnRoomSize is about how many churning users share a room: the
// connections spread over rooms -room-0, -room-1, ... in turn. (In one
// room, every join and leave is also a broadcast to everyone there: at
// 500/s over 500 members that is 500,000 deliveries/s, a fan-out test, not
// a churn test.)
const churnRoomSize = 10

// churn opens -rate connections per second for -duration, each of which
// registers, joins a room of about churnRoomSize, checks an acked rtt,
// stays for -n/-rate seconds (so that about -n are open at any time) and
// leaves (a Socket.IO DISCONNECT, then the close, as a page that is left):
// the steady connect-and-leave of a busy site. setup_ms is the time from
// dialling to the rtt's answer; completed counts the connections that got
// there and closed cleanly afterwards.
func (r *runner) churn() (any, error) {
	rate := r.cfg.Rate
	lifetime := time.Duration(float64(r.cfg.N) / rate * float64(time.Second))
	interval := time.Duration(float64(time.Second) / rate)
	rooms := max(1, r.cfg.N/churnRoomSize)
	r.logf("churn: %.0f connections/s for %v, each open %v (about %d at a time, %d rooms); sending", rate, r.cfg.Duration, lifetime, r.cfg.N, rooms)
	var hist Histogram
	var started, completed, failed, open, maxOpen, notStarted atomic.Int64
	stop := r.progress(func() string {
		return fmt.Sprintf("churn: %d started, %d completed, %d failed, %d open", started.Load(), completed.Load(), failed.Load(), open.Load())
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
			c, err := dialConn(ctx, r.cc, i, nopHandler{})
			if err == nil {
				if err = r.registerJoinRoom(c, r.room+"-"+strconv.Itoa(i%rooms)); err == nil {
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
			t := time.NewTimer(time.Until(begin.Add(lifetime)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			alive := c.Alive()
			c.Leave()
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
	}
	res.Common = r.common(0)
	return res, nil
}
