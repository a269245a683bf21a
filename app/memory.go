package app

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The Go runtime returns freed heap pages to the system in the background,
// but only down to about its next collection's goal, and it leaves alone
// pages inside mostly used huge pages; and an idle server collects only
// every two minutes, so garbage it stopped needing (a churn's room events
// once the recovery window is over) is not even known to be free. After a
// burst an idle server would then hold tens of MiB it no longer uses until
// the next burst. So once a minute the app looks at the heap and, when it
// is worth it, collects and returns every free page (debug.FreeOSMemory):
//
//   - shrank: more than trimFreeThreshold free but held, and more than the
//     collector's goal (the heap shrank by more than half, not the ordinary
//     swing between two collections); or
//   - quiet: no collection during the last minute, at least
//     trimFreeThreshold of heap, and a collection other than ours since
//     the last trim (otherwise nothing can have changed).
//
// A busy server collects often and seldom meets either; an idle one is
// trimmed at most once per collection the runtime makes on its own.

const (
	trimEvery         = time.Minute
	trimFreeThreshold = 32 << 20 // bytes
)

var trimSamples = []string{
	"/memory/classes/heap/free:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/cycles/total:gc-cycles",
}

// heapStats is what the decision reads.
type heapStats struct {
	free    uint64 // heap bytes free but not returned to the system
	goal    uint64 // the collector's heap goal
	objects uint64 // heap bytes in objects, live or not yet collected
	cycles  uint64 // collections so far
}

func readHeapStats() heapStats {
	s := make([]metrics.Sample, len(trimSamples))
	for i, name := range trimSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := make([]uint64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	return heapStats{free: v[0], goal: v[1], objects: v[2], cycles: v[3]}
}

// trimmer remembers, between ticks, the collections it has seen.
type trimmer struct {
	lastCycles    uint64 // at the previous tick
	trimmedCycles uint64 // right after the last trim
}

// tick decides with h and, if so, releases; it reports whether it did.
func (t *trimmer) tick(h heapStats, release func(), read func() heapStats) bool {
	shrank := h.free >= trimFreeThreshold && h.free > h.goal
	quiet := h.cycles == t.lastCycles && h.cycles != t.trimmedCycles && h.objects+h.free >= trimFreeThreshold
	t.lastCycles = h.cycles
	if !shrank && !quiet {
		return false
	}
	release()
	t.trimmedCycles = read().cycles
	t.lastCycles = t.trimmedCycles
	return true
}

// returnFreedMemory ticks a trimmer every trimEvery until ctx ends.
func returnFreedMemory(ctx context.Context, log *slog.Logger) {
	tk := time.NewTicker(trimEvery)
	defer tk.Stop()
	var t trimmer
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			h := readHeapStats()
			if t.tick(h, debug.FreeOSMemory, readHeapStats) {
				log.Debug("returned freed heap memory to the system", "free_bytes", h.free, "heap_objects_bytes", h.objects)
			}
		}
	}
}
