package statemachine

import (
	"encoding/binary"
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// benchID is a request ID whose uvarint encoding has a fixed length (9
// bytes), so renumber can rewrite it in place.
func benchID(i uint64) uint64 { return 1<<62 | i&(1<<40-1) }

// renumber gives the encoded requests in props the IDs base, base+1, ...
// in place (each was encoded with a benchID): a benchmark that applies the
// same proposals again must not have them refused as duplicates
// (dedup.go).
func renumber(props [][]byte, base uint64) {
	for i, p := range props {
		binary.PutUvarint(p[2:11], benchID(base+uint64(i)))
	}
}

func TestRenumber(t *testing.T) {
	p := command.EncodeRequest(nil, &command.Request{ID: benchID(1), Now: 99, Put: &command.PutRequest{Key: []byte("k")}})
	renumber([][]byte{p}, 1<<40+5) // the counter wraps: still 9 bytes
	r, err := command.DecodeRequest(p)
	if err != nil || r.ID != benchID(5) || r.Now != 99 || string(r.Put.Key) != "k" {
		t.Fatalf("renumbered: %+v %v", r, err)
	}
}
