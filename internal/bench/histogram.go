package bench

import (
	"math/bits"
	"time"
)

// Histogram layout: log-linear, as HdrHistogram. Values below 2*subCount
// have a bucket each; above, every power-of-two range [2^k, 2^(k+1)) is cut
// into subCount equal buckets, so a bucket is at most 1/subCount of its
// lower bound wide. Percentiles report the bucket's midpoint, so their
// relative error is at most 1/(2*subCount) = 0.39%.
const (
	subBits  = 7
	subCount = 1 << subBits
	// maxBits bounds recorded values: 2^42 ns is 73 minutes; larger values
	// are clamped into the last bucket (Max stays exact).
	maxBits    = 42
	numBuckets = (maxBits-subBits)*subCount + subCount
)

// Histogram counts durations in nanoseconds in fixed log-linear buckets.
// Record does not allocate; histograms of different clients merge with
// Merge. The zero value is empty and ready to use. Not safe for concurrent
// use.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	sum      uint64
	min, max uint64
}

// bucketOf returns the index of v's bucket.
func bucketOf(v uint64) int {
	if v >= 1<<maxBits {
		v = 1<<maxBits - 1
	}
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits // >= 0
	return shift*subCount + int(v>>shift)
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (lo, width uint64) {
	if i < 2*subCount {
		return uint64(i), 1
	}
	shift := i/subCount - 1
	mantissa := uint64(i%subCount + subCount)
	return mantissa << shift, 1 << shift
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest recorded value, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the exact mean.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the value at quantile q in [0, 1]: the recorded value of
// rank ceil(q*n) (the smallest for q = 0), within 0.4%; the largest
// (q = 1) exactly. It is 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++ // ceil
	}
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max) // known exactly
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := lo + w/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max) // unreachable: the counts sum to n
}
