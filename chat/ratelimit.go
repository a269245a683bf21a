package chat

import "time"

// bucket is a token bucket. It is hand-written rather than taken from
// golang.org/x/time/rate because the caller already holds the session lock and
// supplies the time, which keeps it allocation- and lock-free and lets tests
// drive it with a fake clock instead of sleeping.
type bucket struct {
	rate   float64 // tokens added per second
	burst  float64 // capacity
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64) bucket {
	return bucket{rate: rate, burst: burst, tokens: burst}
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
	if b.last.IsZero() {
		b.last = now
	} else if d := now.Sub(b.last); d > 0 {
		// A clock that goes backwards adds nothing instead of draining the
		// bucket or crediting a huge interval later.
		b.tokens += d.Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
	return b.tokens
}
