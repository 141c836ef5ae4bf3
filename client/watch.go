package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Event is one change delivered by Watch, a progress notification, or
// the error that ended the watch (the last event before the channel
// closes).
type Event struct {
	// Type is "put", "delete", "expire", "progress" or "error".
	Type     string
	Revision int64
	Key      []byte
	Value    []byte // the new value of a put
	// PrevValue is the value before the change (with WithPrevKV), when
	// the key existed (PrevExists).
	PrevValue  []byte
	PrevExists bool
	// Err is set on an "error" event: the watch cannot continue (the start
	// revision was compacted: errors.Is(Err, ErrCompacted) and
	// *Error.CompactRevision; or an invalid request).
	Err error
}

// IsProgress reports whether ev is a progress notification: every change
// the watch selects up to ev.Revision has been delivered.
func (ev *Event) IsProgress() bool { return ev.Type == "progress" }

// WithProgressInterval asks a watch for a progress notification after
// each d without events (default: the server's, 5s).
func WithProgressInterval(d time.Duration) OpOption { return func(o *op) { o.progress = d } }

// WithPath makes Watch deliver only the changes of the document key that
// change what path selects in it: a change at or below the path, the key
// created or deleted, or its type changed, when the selected value
// appears or disappears. The path is in any spelling the document
// commands accept ("$.a.b", ".a.b", "/a/b"); a JSONPath selects the list
// of its matches. It cannot be combined with WithPrefix. Events carry the
// whole new document, and the previous one with WithPrevKV.
func WithPath(path string) OpOption { return func(o *op) { o.path = path } }

// Watch streams the changes to key (with WithPrefix, to every key under
// it) in revision order, each exactly once. Without WithRevision it
// starts with the changes after the current revision; WithRevision(r)
// replays history from r first, then continues live. WithPrevKV adds the
// previous values.
//
// When the node serving the watch fails, stops, or cancels the watch
// because the channel was not drained fast enough, Watch reconnects (to
// another endpoint if the node is gone) and resumes right after the last
// event delivered: no gap, no duplicate. It ends, closing the channel,
// when ctx ends or with an "error" event when it cannot resume (the
// revision it needs was compacted, or the request is invalid).
func (c *Client) Watch(ctx context.Context, key []byte, opts ...OpOption) <-chan Event {
	o := newOp(opts)
	ch := make(chan Event, 64)
	w := &watchStream{c: c, key: key, o: o, out: ch, pos: watchPos{rev: o.rev}}
	go w.run(ctx)
	return ch
}

// watchPos is where a watch resumes: at revision rev, skipping the first
// skip events of that revision (already delivered).
type watchPos struct {
	rev  int64
	skip int
}

type watchStream struct {
	c   *Client
	key []byte
	o   *op
	out chan<- Event
	pos watchPos
}

func (w *watchStream) run(ctx context.Context) {
	defer close(w.out)
	backoff := firstBackoff
	i := w.c.first()
	for ctx.Err() == nil {
		progressed, err := w.stream(ctx, w.c.endpoints[i])
		if ctx.Err() != nil {
			return
		}
		var e *Error
		if errors.As(err, &e) && !resumableCode(e.Code) {
			w.send(ctx, Event{Type: "error", Err: err})
			return
		}
		if progressed {
			backoff = firstBackoff
		}
		if !errors.As(err, &e) || e.Code != "slow_consumer" {
			// The node failed or is stopping: try the next one.
			w.c.moveOff(i)
			i = (i + 1) % len(w.c.endpoints)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// resumableCode reports whether a watch ended with code may resume on
// another attempt.
func resumableCode(code string) bool {
	switch code {
	case "slow_consumer", "reset", "stopping", "no_leader", "not_ready", "timeout", "canceled":
		return true
	}
	return len(code) > 5 && code[:5] == "http_" && code >= "http_5"
}

type watchLine struct {
	Type      string  `json:"type"`
	Revision  int64   `json:"revision"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
	PrevValue *string `json:"prev_value"`
	Error     *struct {
		Code            string `json:"code"`
		Message         string `json:"message"`
		CompactRevision int64  `json:"compact_revision"`
	} `json:"error"`
}

// stream runs one watch request against endpoint until it fails. It
// reports whether it delivered anything.
func (w *watchStream) stream(ctx context.Context, endpoint string) (progressed bool, err error) {
	q := url.Values{}
	q.Set("key", base64.StdEncoding.EncodeToString(w.key))
	q.Set("encoding", "base64")
	setBool(q, "prefix", w.o.prefix)
	setBool(q, "prev_value", w.o.prevKV)
	if w.o.path != "" {
		q.Set("path", w.o.path)
	}
	setInt(q, "start_revision", w.pos.rev)
	progress := w.o.progress
	if progress > 0 {
		setInt(q, "progress_ms", max(1, progress.Milliseconds()))
	} else {
		progress = 5 * time.Second
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, endpoint+"/v1/watch?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("cairn: %w", err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := w.c.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return false, readError(resp)
	}
	if w.pos.rev == 0 {
		// "From now": pin the start so a reconnection misses nothing.
		start, err := strconv.ParseInt(resp.Header.Get("X-Cairn-Start-Revision"), 10, 64)
		if err != nil || start < 1 {
			return false, fmt.Errorf("cairn: watch: bad X-Cairn-Start-Revision %q", resp.Header.Get("X-Cairn-Start-Revision"))
		}
		w.pos.rev = start
	}
	// A node that stops answering (partitioned, frozen) sends not even
	// progress notifications: give up on it after a few intervals.
	idle := time.AfterFunc(3*progress+time.Second, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	skip := w.pos.skip
	for sc.Scan() {
		idle.Reset(3*progress + time.Second)
		var l watchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return progressed, fmt.Errorf("cairn: watch: bad event: %w", err)
		}
		if l.Type == "error" {
			if l.Error == nil {
				return progressed, errors.New("cairn: watch: error event without an error")
			}
			return progressed, &Error{Status: http.StatusOK, Code: l.Error.Code, Message: l.Error.Message, CompactRevision: l.Error.CompactRevision}
		}
		ev, err := l.event()
		if err != nil {
			return progressed, err
		}
		if ev.IsProgress() {
			if ev.Revision+1 > w.pos.rev {
				w.pos = watchPos{rev: ev.Revision + 1}
			}
		} else {
			if skip > 0 && ev.Revision == w.pos.rev {
				skip-- // delivered before the reconnection
				continue
			}
			skip = 0
			if ev.Revision == w.pos.rev {
				w.pos.skip++
			} else {
				w.pos = watchPos{rev: ev.Revision, skip: 1}
			}
		}
		if !w.send(ctx, ev) {
			return true, ctx.Err()
		}
		progressed = true
	}
	if err := sc.Err(); err != nil {
		return progressed, err
	}
	return progressed, errors.New("cairn: watch: stream ended")
}

func (l *watchLine) event() (Event, error) {
	ev := Event{Type: l.Type, Revision: l.Revision}
	dec := func(s *string) ([]byte, error) {
		if s == nil {
			return nil, nil
		}
		b, err := base64.StdEncoding.DecodeString(*s)
		if err != nil {
			return nil, fmt.Errorf("cairn: watch: bad base64: %w", err)
		}
		return b, nil
	}
	var err error
	if ev.Key, err = dec(l.Key); err != nil {
		return ev, err
	}
	if ev.Value, err = dec(l.Value); err != nil {
		return ev, err
	}
	if l.PrevValue != nil {
		ev.PrevExists = true
		if ev.PrevValue, err = dec(l.PrevValue); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

func (w *watchStream) send(ctx context.Context, ev Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
