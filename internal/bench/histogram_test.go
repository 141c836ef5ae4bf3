package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is Histogram.Quantile's definition on a sorted set: the
// value of rank ceil(q*n).
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestHistogramAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := map[string]func() time.Duration{
		// Latency-like: log-normal around 500µs, with a long tail.
		"lognormal": func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.5 + math.Log(500e3))) },
		// Spread evenly over 9 orders of magnitude.
		"loguniform": func() time.Duration { return time.Duration(math.Pow(10, rng.Float64()*9)) },
		// Small values, where buckets are exact.
		"small": func() time.Duration { return time.Duration(rng.IntN(300)) },
	}
	qs := []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}
	for name, gen := range sets {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 200000)
			var sum time.Duration
			for i := range vals {
				vals[i] = gen()
				sum += vals[i]
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(len(vals)) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Fatalf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), len(vals), vals[0], vals[len(vals)-1])
			}
			if want := sum / time.Duration(len(vals)); h.Mean() != want {
				t.Errorf("mean = %v, want %v", h.Mean(), want)
			}
			for _, q := range qs {
				got, want := h.Quantile(q), exactQuantile(vals, q)
				if rel := math.Abs(float64(got-want)) / float64(want); rel >= 0.01 {
					t.Errorf("q%g = %v, want %v (error %.3f%%)", q, got, want, rel*100)
				}
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in the bucket whose range holds it, the buckets
	// tile the line, and no bucket is wider than 1/subCount of its start.
	next := uint64(0)
	for i := range numBuckets {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if lo >= 2*subCount && w*subCount > lo {
			t.Fatalf("bucket %d [%d, +%d) too wide", i, lo, w)
		}
		for _, v := range []uint64{lo, lo + w - 1} {
			if b := bucketOf(v); b != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, b, i)
			}
		}
		next = lo + w
	}
	if next != 1<<maxBits {
		t.Fatalf("buckets end at %d, want %d", next, uint64(1)<<maxBits)
	}
	if b := bucketOf(math.MaxUint64); b != numBuckets-1 {
		t.Fatalf("huge value in bucket %d", b)
	}
}

func TestHistogramMergeAndEdges(t *testing.T) {
	var a, b, all Histogram
	if a.Quantile(0.5) != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	a.Merge(new(Histogram))
	if a != all {
		t.Fatal("merge of the parts differs from the whole")
	}
	var n Histogram
	n.Record(-time.Second)
	n.Record(100 * time.Hour) // beyond the last bucket: clamped, max exact
	if n.Min() != 0 || n.Max() != 100*time.Hour || n.Quantile(1) != 100*time.Hour {
		t.Fatalf("min %v max %v q1 %v", n.Min(), n.Max(), n.Quantile(1))
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234567) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	d := time.Duration(1)
	for b.Loop() {
		h.Record(d)
		d = d*33 + 7&(1<<30-1)
	}
}
