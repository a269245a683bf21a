//go:build linux

package main

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestHistIndexMonotonic(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<37 - 1, 1 << 37, 1 << 62, math.MaxUint64} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d", v, i, prev)
		}
		prev = i
		if v < 1<<37 {
			if up := histUpper(i); up < v {
				t.Fatalf("histUpper(%d) = %d < %d", i, up, v)
			}
			if i > 0 && histUpper(i-1) >= v {
				t.Fatalf("%d also fits bucket %d (upper %d)", v, i-1, histUpper(i-1))
			}
		}
	}
	// Every bucket's upper bound maps back to it, and bucket widths stay
	// within 1/64 of their values.
	for i := 0; i < histBuckets-1; i++ {
		up := histUpper(i)
		if histIndex(up) != i || histIndex(up+1) != i+1 {
			t.Fatalf("bucket %d: upper %d maps to %d, next to %d", i, up, histIndex(up), histIndex(up+1))
		}
		if i > 0 {
			width := up - histUpper(i-1)
			if float64(width) > float64(up)/64+1 {
				t.Fatalf("bucket %d too wide: %d for %d", i, width, up)
			}
		}
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h Histogram
	if s := h.Summary(); s != (Latency{}) {
		t.Fatalf("empty summary %+v", s)
	}
	// 1..10000 ms, one sample each.
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := h.Summary()
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want)/want > 0.016 {
			t.Errorf("%s = %v ms, want %v within 1.6%%", name, got, want)
		}
	}
	near("p50", s.P50, 5000)
	near("p90", s.P90, 9000)
	near("p99", s.P99, 9900)
	if s.Max != 10000 || s.Count != 10000 {
		t.Errorf("max %v count %d", s.Max, s.Count)
	}
	near("mean", s.Mean, 5000.5)

	// Small values are exact.
	var e Histogram
	for _, us := range []uint64{5, 5, 7, 100, 100} {
		e.RecordMicros(us)
	}
	if q := e.Quantile(0.5); q != 7 {
		t.Errorf("p50 of small values = %d, want 7", q)
	}
	if q := e.Quantile(0.2); q != 5 {
		t.Errorf("p20 = %d, want 5", q)
	}
	if q := e.Quantile(1); q != 100 {
		t.Errorf("p100 = %d, want 100", q)
	}
	// Negative durations count as zero, huge ones as the maximum.
	var z Histogram
	z.Record(-time.Second)
	z.Record(1000 * time.Hour)
	if q := z.Quantile(0.5); q != 0 {
		t.Errorf("negative recorded as %d", q)
	}
	if q := z.Quantile(1); q != uint64(1000*time.Hour/time.Microsecond) {
		t.Errorf("p100 = %d", q)
	}
}

func TestHistogramConcurrentNoAlloc(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Record(time.Duration(i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if h.Count() != 8000 {
		t.Fatalf("count %d", h.Count())
	}
	if n := testing.AllocsPerRun(100, func() { h.Record(3 * time.Millisecond) }); n != 0 {
		t.Fatalf("Record allocates %v", n)
	}
}
