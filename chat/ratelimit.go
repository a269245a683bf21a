package chat

import (
	"math"
	"time"
)

// bucket is a token bucket. It is hand-written rather than taken from
// golang.org/x/time/rate because the caller already holds the session lock and
// supplies the time, which keeps it allocation- and lock-free and lets tests
// drive it with a fake clock instead of sleeping. Every session has several,
// so a bucket is small: its rate and burst are shared (a limit), and its
// clock is a count of nanoseconds.
type bucket struct {
	lim    *limit
	tokens float64
	last   int64 // nanoseconds after clockBase of the last update; never while noTime
}

// limit is a bucket's rate and capacity.
type limit struct {
	rate  float64 // tokens added per second
	burst float64 // capacity
}

// clockBase is what a bucket's clock counts from: with a monotonic
// reading, so that the buckets of the real clock are not moved by a step
// of the wall clock.
var clockBase = time.Now()

const noTime = math.MinInt64

func newBucket(lim *limit) bucket {
	return bucket{lim: lim, tokens: lim.burst, last: noTime}
}

// allow takes one token if there is one. Refused events are not queued: for
// chat the client is told, for cursors the event is simply dropped.
func (b *bucket) allow(now time.Time) bool { return b.allowN(now, 1) }

// allowN takes n tokens if there are that many (a byte budget, where each
// event costs its size).
func (b *bucket) allowN(now time.Time, n float64) bool {
	if b.tokensAt(now) < n {
		return false
	}
	b.tokens -= n
	return true
}

// tokensAt adds what accrued until now and returns the tokens available.
func (b *bucket) tokensAt(now time.Time) float64 {
	t := int64(now.Sub(clockBase))
	if b.last == noTime {
		b.last = t
	} else if d := t - b.last; d > 0 {
		// A clock that goes backwards adds nothing instead of draining the
		// bucket or crediting a huge interval later.
		b.tokens += time.Duration(d).Seconds() * b.lim.rate
		if b.tokens > b.lim.burst {
			b.tokens = b.lim.burst
		}
		b.last = t
	}
	return b.tokens
}
