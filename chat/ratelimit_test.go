package chat

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	lim := limit{rate: 2, burst: 3}
	b := newBucket(&lim)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) // before clockBase: a fake clock
	for i := range 3 {
		if !b.allow(t0) {
			t.Fatalf("token %d of the burst refused", i+1)
		}
	}
	if b.allow(t0) {
		t.Fatal("a fourth token at once was allowed")
	}
	// 2 tokens a second: one after half a second.
	if !b.allow(t0.Add(500*time.Millisecond)) || b.allow(t0.Add(500*time.Millisecond)) {
		t.Fatal("want exactly one token after 500ms")
	}
	// A clock that goes back adds nothing, and takes nothing away.
	if b.allow(t0) {
		t.Fatal("the clock going back credited a token")
	}
	// A long pause fills the bucket up to its burst, no more.
	later := t0.Add(time.Hour)
	if got := b.tokensAt(later); got != 3 {
		t.Fatalf("after an hour: %v tokens, want the burst, 3", got)
	}
	if !b.allowN(later, 3) || b.allowN(later, 1) {
		t.Fatal("allowN: want the 3 tokens taken at once, then none")
	}
}
