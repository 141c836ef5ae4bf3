package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/watch"
)

func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"3/1", "1/0", "", "/", "-1/2", "9223372036854775807/1", "3/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		rev, n, err := parseEventID(id)
		if err != nil {
			return
		}
		if rev < 1 || n < 0 {
			t.Fatalf("parseEventID(%q) = %d, %d", id, rev, n)
		}
		if rev2, n2, err := parseEventID(fmt.Sprintf("%d/%d", rev, n)); err != nil || rev2 != rev || n2 != n {
			t.Fatalf("round trip of %q: %d %d %v", id, rev2, n2, err)
		}
	})
}

// The last event of a stream cancelled for a slow consumer (or reset) names
// the revision to resume from, so a client can reopen the watch there.
func TestWatchErrorEventResume(t *testing.T) {
	a := &api{}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&watch.ResumeError{Cause: watch.ErrSlowConsumer, Revision: 42},
			`{"type":"error","error":{"code":"slow_consumer","message":"` + watch.ErrSlowConsumer.Error() + `; resume from revision 42","resume_revision":42}}`},
		{&watch.ResumeError{Cause: watch.ErrReset, Revision: 7},
			`{"type":"error","error":{"code":"reset","message":"` + watch.ErrReset.Error() + `; resume from revision 7","resume_revision":7}}`},
	} {
		b, err := json.Marshal(a.watchErrorEvent(context.Background(), tc.err))
		if err != nil || string(b) != tc.want {
			t.Fatalf("error event for %v:\n got %s %v\nwant %s", tc.err, b, err, tc.want)
		}
	}
}
