package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		base, want     int
	}{
		{4 << 20, 16 << 20, 100, 400},  // small heap: grows by the headroom
		{32 << 20, 16 << 20, 100, 100}, // large heap: the base GOGC
		{16 << 20, 16 << 20, 200, 200}, // a higher base is kept
		{100 << 20, 16 << 20, 50, 50},
		{3 << 20, 16 << 20, 100, 475}, // the minimum heap (4 MiB × GOGC/100) reaches 19 MiB first
		{1 << 20, 16 << 20, 100, 425},
		{0, 16 << 20, 100, 400}, // an empty heap: the minimum alone
	} {
		if got := Percent(c.live, c.headroom, c.base); got != c.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", c.live, c.headroom, c.base, got, c.want)
		}
	}
}

var sink []byte

// cyclesWhileAllocating allocates n bytes of garbage in 1 KiB pieces and
// returns how many collections ran meanwhile.
func cyclesWhileAllocating(n int) uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	for i := 0; i < n/1024; i++ {
		sink = make([]byte, 1024)
	}
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// With a small live heap the floor spaces collections by its headroom: a
// quarter as many cycles or fewer as under GOGC=100 for the same garbage.
func TestFloorSpacesCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	const garbage = 256 << 20
	plain := cyclesWhileAllocating(garbage)

	f := Start(32 << 20)
	if f == nil {
		t.Fatal("Start returned nil with GOGC=100")
	}
	runtime.GC() // the first adjustment after a real cycle
	floored := cyclesWhileAllocating(garbage)
	if p := f.Percent(); p <= 100 {
		t.Errorf("percent under the floor = %d, want above 100 for a small live heap", p)
	}
	f.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after Stop = %d, want the base 100", got)
	}

	t.Logf("collections for %d MiB of garbage: %d plain, %d with a 32 MiB floor", garbage>>20, plain, floored)
	if plain < 20 {
		t.Fatalf("only %d collections without the floor; the test needs a small live heap", plain)
	}
	if floored*4 > plain {
		t.Errorf("%d collections with the floor, %d without: want at most a quarter", floored, plain)
	}
	// The floor is a floor, not a switch-off: about one collection per
	// headroom of garbage (live heap and rounding aside).
	if lo, hi := uint64(garbage/(32<<20))/2, uint64(garbage/(32<<20))+3; floored < lo || floored > hi {
		t.Errorf("%d collections with a 32 MiB floor for %d MiB, want %d to %d", floored, garbage>>20, lo, hi)
	}
}

// GOGC=off is the operator's choice: Start leaves it.
func TestStartLeavesGCOff(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if f := Start(16 << 20); f != nil {
		f.Stop()
		t.Fatal("Start with GOGC=off returned a floor")
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC = %d after Start with GOGC=off, want -1", got)
	}
}
