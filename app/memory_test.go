package app

import (
	"runtime/debug"
	"testing"
)

func TestTrimmerDecides(t *testing.T) {
	const mib = 1 << 20
	var released int
	var cycles uint64
	release := func() { released++; cycles++ }
	read := func() heapStats { return heapStats{cycles: cycles} }
	tr := trimmer{}
	steps := []struct {
		name string
		h    heapStats
		want bool
	}{
		// A busy server: collections every tick, free below the goal.
		{"busy", heapStats{free: 40 * mib, goal: 100 * mib, objects: 90 * mib, cycles: 10}, false},
		{"busy again", heapStats{free: 60 * mib, goal: 100 * mib, objects: 70 * mib, cycles: 14}, false},
		// The heap shrank: far more free than the goal.
		{"shrank", heapStats{free: 80 * mib, goal: 8 * mib, objects: 4 * mib, cycles: 15}, true},
		// Quiet since our trim: nothing can have changed.
		{"quiet after our trim", heapStats{free: 0, goal: 8 * mib, objects: 40 * mib, cycles: 16}, false},
		// The runtime collected on its own, then a quiet minute with a big
		// heap (garbage no collection has seen yet).
		{"collected", heapStats{free: 1 * mib, goal: 60 * mib, objects: 40 * mib, cycles: 17}, false},
		{"quiet", heapStats{free: 1 * mib, goal: 60 * mib, objects: 40 * mib, cycles: 17}, true},
		// Small heaps are left alone, quiet or not.
		{"small", heapStats{free: 1 * mib, goal: 4 * mib, objects: 3 * mib, cycles: 20}, false},
		{"small and quiet", heapStats{free: 1 * mib, goal: 4 * mib, objects: 3 * mib, cycles: 20}, false},
	}
	for _, st := range steps {
		before := released
		if st.h.cycles < cycles {
			t.Fatalf("%s: test steps must not go back in cycles", st.name)
		}
		cycles = st.h.cycles
		got := tr.tick(st.h, release, read)
		if got != st.want || (released > before) != st.want {
			t.Errorf("%s: tick = %v (released %d → %d), want %v", st.name, got, before, released, st.want)
		}
	}
}

// The metrics the decision reads exist in this runtime, and a release
// leaves less than the threshold free.
func TestHeapStatsAfterRelease(t *testing.T) {
	sink := make([][]byte, 0, 64)
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	if h := readHeapStats(); h.objects < 64<<20 || h.goal == 0 {
		t.Fatalf("with 64 MiB allocated: %+v", h)
	}
	sink = nil
	_ = sink
	before := readHeapStats().cycles
	debug.FreeOSMemory()
	h := readHeapStats()
	if h.cycles <= before {
		t.Fatalf("cycles %d after FreeOSMemory, %d before", h.cycles, before)
	}
	if h.free >= trimFreeThreshold {
		t.Fatalf("%d bytes free but not released right after FreeOSMemory", h.free)
	}
}
