package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/watch"
)

// WatchService is what GET /v1/watch needs (Options.Watch).
type WatchService interface {
	Watch(ctx context.Context, r service.WatchRequest) (*watch.Watcher, error)
}

var _ WatchService = (*service.Service)(nil)

// watchEventJSON is one line of a watch stream (or one SSE data field).
type watchEventJSON struct {
	Type      string  `json:"type"` // put, delete, expire, progress, error
	Revision  int64   `json:"revision,omitempty"`
	Key       *string `json:"key,omitempty"`
	Value     *string `json:"value,omitempty"`
	PrevValue *string `json:"prev_value,omitempty"`
	Encoding  string  `json:"encoding,omitempty"`
	// ID is where a stream resumes after this event: "R/n" means start
	// at revision R and skip its first n events. SSE sends it as the
	// event id, so a browser's EventSource resumes by itself.
	ID    string       `json:"id,omitempty"`
	Error *watchErrorJ `json:"error,omitempty"`
}

type watchErrorJ struct {
	Code            string `json:"code"`
	Message         string `json:"message"`
	ResumeRevision  int64  `json:"resume_revision,omitempty"`
	CompactRevision int64  `json:"compact_revision,omitempty"`
}

// watchStream serves GET /v1/watch: a stream of newline-delimited JSON
// events, or Server-Sent Events when the client accepts
// text/event-stream (or asks format=sse). It is not wrapped by handle:
// a stream has no request timeout.
func (a *api) watchStream(w http.ResponseWriter, r *http.Request) {
	if err := a.serveWatch(w, r); err != nil {
		writeError(w, a.toError(r.Context(), err), 0)
	}
}

func (a *api) serveWatch(w http.ResponseWriter, r *http.Request) error {
	if a.watch == nil {
		return &apiError{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this node does not serve watches"}
	}
	q, err := parseQuery(r, "key", "prefix", "start_revision", "prev_value", "path", "encoding", "format", "progress_ms")
	if err != nil {
		return err
	}
	c, err := parseEncoding(q.str("encoding"))
	if err != nil {
		return err
	}
	var req service.WatchRequest
	req.Prefix = q.bool("prefix")
	req.Start = q.int("start_revision")
	req.PrevValue = q.bool("prev_value")
	req.Path = q.str("path")
	req.ProgressInterval = time.Duration(q.int("progress_ms")) * time.Millisecond
	if q.err != nil {
		return q.err
	}
	if req.Key, err = c.decode("key", q.str("key")); err != nil {
		return err
	}
	sse := q.str("format") == "sse" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	switch f := q.str("format"); f {
	case "", "sse", "ndjson":
	default:
		return badRequest("unknown format %q (want ndjson or sse)", f)
	}
	skip := 0
	if id := r.Header.Get("Last-Event-ID"); id != "" && sse {
		// An EventSource reconnecting: resume after the last event it got.
		if req.Start, skip, err = parseEventID(id); err != nil {
			return err
		}
	}
	ctx := r.Context()
	wt, err := a.watch.Watch(ctx, req)
	if err != nil {
		return err
	}
	defer wt.Close()

	h := w.Header()
	if sse {
		h.Set("Content-Type", "text/event-stream")
	} else {
		h.Set("Content-Type", "application/x-ndjson")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Cairn-Start-Revision", strconv.FormatInt(wt.StartRevision(), 10))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	var cur int64 // revision of the last event sent
	n := 0        // events of revision cur sent
	for {
		ev, err := wt.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the client left
			}
			_ = writeStreamEvent(w, rc, sse, a.watchErrorEvent(ctx, err))
			return nil
		}
		if ev.Type == watch.Progress {
			j := &watchEventJSON{Type: "progress", Revision: ev.Revision, ID: fmt.Sprintf("%d/0", ev.Revision+1)}
			if err := writeStreamEvent(w, rc, sse, j); err != nil {
				return nil
			}
			continue
		}
		if ev.Revision != cur {
			cur, n = ev.Revision, 0
		}
		n++
		if skip > 0 {
			if ev.Revision == req.Start {
				skip--
				continue
			}
			skip = 0
		}
		if err := writeStreamEvent(w, rc, sse, eventJSON(c, &ev, fmt.Sprintf("%d/%d", cur, n))); err != nil {
			return nil
		}
	}
}

// parseEventID parses "R/n".
func parseEventID(id string) (int64, int, error) {
	rs, ns, ok := strings.Cut(id, "/")
	rev, err1 := strconv.ParseInt(rs, 10, 64)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || rev < 1 || n < 0 {
		return 0, 0, badRequest("malformed Last-Event-ID %q (want revision/count)", id)
	}
	return rev, n, nil
}

func eventJSON(req codec, ev *watch.Event, id string) *watchEventJSON {
	c := req
	if !c.base64 && (!utf8.Valid(ev.Key) || !utf8.Valid(ev.Value) || !utf8.Valid(ev.PrevValue)) {
		c = codec{base64: true}
	}
	k := c.encode(ev.Key)
	j := &watchEventJSON{Type: ev.Type.String(), Revision: ev.Revision, Key: &k, Encoding: c.String(), ID: id}
	if ev.Type == watch.Put {
		v := c.encode(ev.Value)
		j.Value = &v
	}
	if ev.PrevExists {
		p := c.encode(ev.PrevValue)
		j.PrevValue = &p
	}
	return j
}

// watchErrorEvent is the last event of a stream that ended with err.
func (a *api) watchErrorEvent(ctx context.Context, err error) *watchEventJSON {
	e := &watchErrorJ{Message: err.Error()}
	var re *watch.ResumeError
	var ce *watch.CompactedError
	switch {
	case errors.As(err, &re):
		e.ResumeRevision = re.Revision
		e.Code = "slow_consumer"
		if errors.Is(err, watch.ErrReset) {
			e.Code = "reset"
		}
	case errors.As(err, &ce):
		e.Code, e.CompactRevision = "compacted", ce.CompactRevision()
	default:
		ae := a.toError(ctx, service.TranslateWatchErr(err))
		e.Code = ae.Code
	}
	return &watchEventJSON{Type: "error", Error: e}
}

func writeStreamEvent(w http.ResponseWriter, rc *http.ResponseController, sse bool, j *watchEventJSON) error {
	b, err := json.Marshal(j)
	if err != nil {
		panic(fmt.Sprintf("httpapi: marshal watch event: %v", err))
	}
	if sse {
		var hdr []byte
		if j.ID != "" {
			hdr = fmt.Appendf(hdr, "id: %s\n", j.ID)
		}
		hdr = fmt.Appendf(hdr, "event: %s\ndata: ", j.Type)
		b = append(append(hdr, b...), '\n', '\n')
	} else {
		b = append(b, '\n')
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}
