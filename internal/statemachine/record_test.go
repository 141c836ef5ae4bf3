package statemachine

import (
	"bytes"
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

func TestRecordTypeAndExpiryRoundTrip(t *testing.T) {
	for _, r := range []record{
		{create: 1, mod: 2, version: 3, lease: 4, value: []byte("v")},
		{create: 1, mod: 1, version: 1},
		{tombstone: true, mod: 9},
		{create: 5, mod: 7, version: 2, vtype: command.TypeDocument, value: []byte(`{"a":[1,2]}`)},
		{create: 5, mod: 7, version: 2, expire: 1798761600000, value: []byte("x")},
		{create: 5, mod: 7, version: 2, lease: -1, vtype: command.TypeDocument, expire: 1, value: nil},
	} {
		b := appendRecord(nil, &r)
		plain := r.tombstone || (r.vtype == 0 && r.expire == 0)
		if plain == (b[0] == recordLiveExt) {
			t.Errorf("%+v encoded with kind %d", r, b[0])
		}
		var got record
		got.vtype, got.expire = 7, 7 // must be reset by decode
		if err := decodeRecord(b, &got); err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if got.tombstone != r.tombstone || got.create != r.create || got.mod != r.mod || got.version != r.version ||
			got.lease != r.lease || got.vtype != r.vtype || got.expire != r.expire || !bytes.Equal(got.value, r.value) {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
		for i := 0; i < len(b)-len(r.value); i++ { // every prefix ending inside the header
			var tr record
			if err := decodeRecord(b[:i], &tr); err == nil {
				t.Errorf("%+v: %d-byte prefix decoded", r, i)
			}
		}
	}
}
