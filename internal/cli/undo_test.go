package cli

import (
	"testing"

	"github.com/cairndb/cairn/client"
)

func TestUndoLine(t *testing.T) {
	for _, c := range []struct {
		name string
		keys int64
		want string
	}{
		{"undo", 1, "undone revision 12 (1 key), at revision 15"},
		{"redo", 2, "redone revision 12 (2 keys), at revision 15"},
		{"undo", 0, "undone revision 12 (0 keys), at revision 15"},
	} {
		if got := undoLine(c.name, &client.UndoResponse{Revision: 15, Target: 12, Keys: c.keys}); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
