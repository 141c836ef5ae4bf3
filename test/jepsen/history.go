package jepsen

import (
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// pending marks the Return of an operation whose outcome is unknown (a
// timeout, a lost connection, a 5xx answer): it may take effect at any
// point after its call, so the checker sees it as returning after every
// other operation.
const pending = math.MaxInt64

// Recorder collects a history: operations with invocation and completion
// times (nanoseconds since the start), and nemesis events as annotations.
type Recorder struct {
	start time.Time

	mu          sync.Mutex // guards the fields below
	ops         []porcupine.Operation
	annotations []porcupine.Annotation
	procs       int
}

// NewRecorder starts the clock.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now is the time since the start, in nanoseconds.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// NewProcess returns a fresh process ID. A client that saw an indeterminate
// outcome continues as a new process, as in Jepsen, so no process has two
// operations outstanding.
func (r *Recorder) NewProcess() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.procs++
	return r.procs - 1
}

// Add appends an operation.
func (r *Recorder) Add(op porcupine.Operation) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// Annotate records a nemesis event for the visualization.
func (r *Recorder) Annotate(tag, desc string, start, end int64) {
	r.mu.Lock()
	r.annotations = append(r.annotations, porcupine.Annotation{Tag: tag, Description: desc,
		Start: start, End: end, BackgroundColor: "#f6d5d5"})
	r.mu.Unlock()
}

// Operations returns the history with pending returns moved just past the
// last completion.
func (r *Recorder) Operations() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var end int64
	for _, op := range r.ops {
		if op.Return != pending {
			end = max(end, op.Return)
		}
		end = max(end, op.Call)
	}
	out := make([]porcupine.Operation, len(r.ops))
	for i, op := range r.ops {
		if op.Return == pending {
			op.Return = end + 1
		}
		out[i] = op
	}
	return out
}

// Annotations returns the nemesis annotations.
func (r *Recorder) Annotations() []porcupine.Annotation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Annotation(nil), r.annotations...)
}
