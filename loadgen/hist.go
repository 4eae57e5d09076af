package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// histogram is a log-linear bucket histogram of latencies in nanoseconds
// (HDR-like): values below 2*histSub are counted exactly, larger values fall
// into one of histSub linear sub-buckets per power of two, so a reported
// percentile is at most 1/histSub (< 0.8 %) above the true value. Memory is
// constant (histBuckets counters) whatever the number of samples.
//
// A histogram is not safe for concurrent use: every worker owns one and they
// are merged when the phase ends.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
	min    uint64
	max    uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // linear sub-buckets per power of two
	histMaxBits = 40               // values are clamped below 2^40 ns (~18 min)
	histMax     = 1<<histMaxBits - 1
	histBuckets = histSub*(histMaxBits-histSubBits-1) + 2*histSub
)

// histIndex maps a value to its bucket.
func histIndex(v uint64) int {
	shift := 0
	if n := bits.Len64(v); n > histSubBits+1 {
		shift = n - (histSubBits + 1)
	}
	return histSub*shift + int(v>>uint(shift))
}

// histBounds returns the smallest and largest value of bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i)
	}
	shift := i/histSub - 1
	top := uint64(i - histSub*shift)
	lo = top << uint(shift)
	return lo, lo + (1 << uint(shift)) - 1
}

func (h *histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	if v > histMax {
		v = histMax
	}
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

func (h *histogram) Merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

func (h *histogram) Count() uint64      { return h.n }
func (h *histogram) Max() time.Duration { return time.Duration(h.max) }
func (h *histogram) Min() time.Duration { return time.Duration(h.min) }

func (h *histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Percentile returns the value at or below which p percent of the samples
// fall (nearest-rank), reported as the upper bound of its bucket clamped to
// the observed [min, max].
func (h *histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank >= h.n {
		return time.Duration(h.max)
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			_, hi := histBounds(i)
			hi = min(max(hi, h.min), h.max)
			return time.Duration(hi)
		}
	}
	return time.Duration(h.max)
}
