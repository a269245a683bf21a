// Package gcfloor keeps the garbage collector from running more often than
// a server's live heap warrants.
//
// The Go runtime starts a collection when the heap has grown by GOGC percent
// over what the last one found live, and never below a 4 MiB heap. A
// real-time server holds little (a few KiB per connection) and allocates
// a few hundred bytes per event, so with a small live heap it collects many
// times a second under load: 132-136 cycles in 8 s of the acked echo
// benchmark (50 clients, about 77,000 round trips/s on one core), each of
// which delays the round trips in flight, and that is what the echo p99
// was made of (1.9-2.3 ms; with the default floor, 21 cycles and
// 1.36-1.39 ms, at the same rate).
//
// Start gives the heap a floor of headroom instead: after every collection
// GOGC is set so that the next one starts once the heap has grown by
// max(GOGC, headroom) over the live heap. A large server (live heap above
// headroom) runs exactly as with the base GOGC; a small one uses up to
// headroom more memory and collects that much less often.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultHeadroom is the floor the server starts with: 16 MiB, a fraction
// of what one idle connection costs times a few thousand.
const DefaultHeadroom = 16 << 20

// heapMinimum is the runtime's smallest heap goal at GOGC=100; it scales
// with GOGC ("A Guide to the Go Garbage Collector"), so a high GOGC on a
// tiny heap raises the goal through it rather than through the live heap.
const heapMinimum = 4 << 20

// Floor is a running floor; Stop restores the GOGC it started from.
type Floor struct {
	headroom uint64
	base     int

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start sets a floor of headroom bytes and keeps it after every
// collection, starting from the GOGC in force (the environment's, or 100).
// A base GOGC of off (negative) is left alone: Start returns nil.
func Start(headroom uint64) *Floor {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 || headroom == 0 {
		return nil
	}
	f := &Floor{
		headroom: headroom,
		base:     base,
		percent:  base,
		sample:   []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
	f.adjust()
	f.arm()
	return f
}

// Stop ends the floor and puts the base GOGC back.
func (f *Floor) Stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	debug.SetGCPercent(f.base)
}

// Percent is the GOGC the floor set last.
func (f *Floor) Percent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

// arm allocates a sentinel whose cleanup runs after the collection that
// finds it unreachable: the floor's hook into "a cycle has ended".
func (f *Floor) arm() {
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(f *Floor) {
		if f.adjust() {
			f.arm()
		}
	}, f)
}

// adjust sets GOGC from the live heap the last collection found; it
// reports false once the floor has been stopped.
func (f *Floor) adjust() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	p := Percent(live, f.headroom, f.base)
	// Small changes are not worth the heap lock: only a move of more than
	// an eighth is applied.
	if d := p - f.percent; d > f.percent/8 || -d > f.percent/8 {
		debug.SetGCPercent(p)
		f.percent = p
	}
	return true
}

// Percent is the lowest GOGC under which a heap of live bytes grows by at
// least headroom, and by at least base percent, before the next
// collection. The runtime's goal is the larger of live×(1+GOGC/100) and
// heapMinimum×GOGC/100; whichever reaches live+headroom first decides.
func Percent(live, headroom uint64, base int) int {
	p := ceilDiv((live+headroom)*100, heapMinimum)
	if live > 0 {
		p = min(p, ceilDiv(headroom*100, live))
	}
	return max(int(p), base)
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }
