//go:build !race

package engineio

import "testing"

// A broadcast allocates nothing per receiver: every session queues a
// reference to the same Message and the sender writes it from the shared
// frame. (Not under -race, whose instrumentation allocates.)
func TestBroadcastAllocatesNothingPerReceiver(t *testing.T) {
	sessions := benchSessions(t, 200)
	m := NewMessageString(`42["x"]`)
	// Each session keeps two queue slices between writes; the first two
	// sends make them.
	for i := 0; i < 2; i++ {
		for _, s := range sessions {
			s.Send(m)
		}
	}
	allocs := testing.AllocsPerRun(50, func() {
		for _, s := range sessions {
			s.Send(m)
		}
	})
	if per := allocs / float64(len(sessions)); per > 0.01 {
		t.Fatalf("%.2f allocations per receiver (%.0f per broadcast to %d), want none", per, allocs, len(sessions))
	}
}
