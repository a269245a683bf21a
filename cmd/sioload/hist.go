//go:build linux

package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear, like HDR histograms: values are
// microseconds; below 2^histSubBits+1 every value has its own bucket, above
// that every power of two is cut into 2^histSubBits equal buckets, so a
// bucket's width is at most 1/64 (1.6%) of its values. Values from 2^37 µs
// (38 hours) on land in the last bucket. The array has a fixed size (2048
// counters, 16 KiB): memory does not grow with the number of samples.
const (
	histSubBits  = 6
	histSubCount = 1 << histSubBits // 64
	histMaxShift = 30               // bits.Len64(v) <= 37
	histBuckets  = (histMaxShift + 2) * histSubCount
)

// Histogram records durations. Record is safe for concurrent use and does
// not allocate.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // µs
	max    atomic.Uint64 // µs
}

func histIndex(v uint64) int {
	if v < 2*histSubCount {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1)
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return (shift+1)*histSubCount + int(v>>uint(shift)) - histSubCount
}

// histUpper is the highest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSubCount {
		return uint64(i)
	}
	shift := uint(i/histSubCount - 1)
	top := uint64(i%histSubCount + histSubCount)
	return (top+1)<<shift - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.RecordMicros(us)
}

// RecordMicros adds one value in microseconds.
func (h *Histogram) RecordMicros(us uint64) {
	h.counts[histIndex(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the value (µs) at or below which a fraction q of the
// recorded values lie, as the upper bound of its bucket capped at the
// maximum recorded value; 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) uint64 {
	var counts [histBuckets]uint64
	var total uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	return quantile(&counts, total, q, h.max.Load())
}

func quantile(counts *[histBuckets]uint64, total uint64, q float64, max uint64) uint64 {
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	if rank > total {
		rank = total
	}
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			if i == histBuckets-1 {
				return max // the overflow bucket has no upper bound
			}
			return min(histUpper(i), max)
		}
	}
	return max
}

// Latency is the summary of a histogram as printed, in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summary computes the printed percentiles from one consistent copy of the
// counters.
func (h *Histogram) Summary() Latency {
	var counts [histBuckets]uint64
	var total uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	max := h.max.Load()
	ms := func(us uint64) float64 { return math.Round(float64(us)) / 1000 }
	l := Latency{
		Count: total,
		P50:   ms(quantile(&counts, total, 0.50, max)),
		P90:   ms(quantile(&counts, total, 0.90, max)),
		P99:   ms(quantile(&counts, total, 0.99, max)),
		Max:   ms(max),
	}
	if total > 0 {
		l.Mean = math.Round(float64(h.sum.Load())/float64(total)) / 1000
	}
	return l
}
