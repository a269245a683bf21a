package app

import (
	"runtime/debug"
	"testing"
)

func TestTrimmerDecides(t *testing.T) {
	const mib = 1 << 20
	var released int
	var now, after heapStats
	release := func() { released++; now.cycles++ }
	read := func() heapStats { after.cycles = now.cycles; return after }
	tr := trimmer{}
	steps := []struct {
		name  string
		h     heapStats
		after heapStats // what a release leaves (cycles aside)
		want  bool
	}{
		// A busy server: collections every tick, free below the goal.
		{"busy", heapStats{free: 40 * mib, goal: 100 * mib, objects: 90 * mib, cycles: 10}, heapStats{}, false},
		{"busy again", heapStats{free: 60 * mib, goal: 100 * mib, objects: 70 * mib, cycles: 14}, heapStats{}, false},
		// The heap shrank: far more free than the goal.
		{"shrank", heapStats{free: 80 * mib, goal: 8 * mib, objects: 40 * mib, cycles: 15}, heapStats{objects: 38 * mib}, true},
		// A quiet minute with a big heap: garbage no collection has seen
		// (a churn's room events once the recovery window is over).
		{"quiet", heapStats{free: 0, goal: 76 * mib, objects: 38 * mib, cycles: 16}, heapStats{objects: 2 * mib}, true},
		// Gained 36 MiB: the next quiet minute may try again; it gains little.
		{"quiet again", heapStats{free: 0, goal: 4 * mib, objects: 33 * mib, cycles: 17}, heapStats{objects: 32 * mib}, true},
		// Fruitless: no more quiet trims until the runtime collects.
		{"quiet, fruitless before", heapStats{free: 0, goal: 64 * mib, objects: 33 * mib, cycles: 18}, heapStats{}, false},
		{"the runtime collected", heapStats{free: 0, goal: 64 * mib, objects: 33 * mib, cycles: 19}, heapStats{}, false},
		{"quiet after it", heapStats{free: 0, goal: 64 * mib, objects: 33 * mib, cycles: 19}, heapStats{objects: 33 * mib}, true},
		// Small heaps are left alone, quiet or not.
		{"small", heapStats{free: 1 * mib, goal: 4 * mib, objects: 3 * mib, cycles: 30}, heapStats{}, false},
		{"small and quiet", heapStats{free: 1 * mib, goal: 4 * mib, objects: 3 * mib, cycles: 30}, heapStats{}, false},
	}
	for _, st := range steps {
		if st.h.cycles < now.cycles {
			t.Fatalf("%s: steps must not go back in cycles (%d after %d)", st.name, st.h.cycles, now.cycles)
		}
		now, after = st.h, st.after
		before := released
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
