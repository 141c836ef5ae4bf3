package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

const fuzzMaxFrame = 1 << 20

func readFrames(data []byte, maxFrame int) ([]frame, error) {
	fr := newFrameReader(bufio.NewReader(bytes.NewReader(data)), maxFrame)
	var out []frame
	for {
		f, err := fr.next()
		if err != nil {
			return out, err
		}
		f.payload = bytes.Clone(f.payload)
		out = append(out, f)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	m := msg(1, 2, 42)
	m.Entries = []*pb.Entry{{Term: new(uint64(1)), Index: new(uint64(42)), Data: []byte("hello")}}
	var b []byte
	b, err := appendMsgFrame(b, frameMsg, 1<<40, m, fuzzMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	b = appendFrame(b, frameSnapChunk, 0, []byte("chunk"))
	frames, err := readFrames(b, fuzzMaxFrame)
	if err != io.EOF || len(frames) != 2 {
		t.Fatalf("got %d frames, err %v", len(frames), err)
	}
	if frames[0].typ != frameMsg || frames[0].group != 1<<40 {
		t.Fatalf("frame 0: %+v", frames[0])
	}
	got, err := decodeMessage(frames[0].payload)
	if err != nil || !proto.Equal(got, m) {
		t.Fatalf("decoded %v, %v; want %v", got, err, m)
	}
	if frames[1].typ != frameSnapChunk || frames[1].group != 0 || string(frames[1].payload) != "chunk" {
		t.Fatalf("frame 1: %+v", frames[1])
	}
}

func TestFrameDecodeErrors(t *testing.T) {
	valid := appendFrame(nil, frameMsg, 3, []byte{})
	huge := binary.BigEndian.AppendUint32(nil, fuzzMaxFrame+1)
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"empty":           {nil, io.EOF},
		"short length":    {[]byte{0, 0}, io.ErrUnexpectedEOF},
		"cut payload":     {valid[:len(valid)-1], io.ErrUnexpectedEOF},
		"too large":       {huge, ErrFrameTooLarge},
		"zero length":     {[]byte{0, 0, 0, 0}, ErrBadFrame},
		"unknown type":    {[]byte{0, 0, 0, 2, 9, 0}, ErrBadFrame},
		"bad varint":      {[]byte{0, 0, 0, 2, 1, 0x80}, ErrBadFrame},
		"varint overflow": {append([]byte{0, 0, 0, 12, 1}, bytes.Repeat([]byte{0xff}, 11)...), ErrBadFrame},
	} {
		if _, err := readFrames(tc.in, fuzzMaxFrame); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestAppendMsgFrameTooLarge(t *testing.T) {
	m := msg(1, 2, 1)
	m.Context = make([]byte, 1000)
	b := []byte("keep")
	b, err := appendMsgFrame(b, frameMsg, 1, m, 500)
	if !errors.Is(err, ErrFrameTooLarge) || string(b) != "keep" {
		t.Fatalf("got %q, %v", b, err)
	}
}

// A peer announcing a huge frame but sending little must not make the
// reader allocate the announced size.
func TestReadNGrowsWithData(t *testing.T) {
	buf, err := readN(bytes.NewReader(make([]byte, 1000)), nil, 64<<20)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
	if cap(buf) > 2*growStep {
		t.Fatalf("allocated %d bytes for 1000 received", cap(buf))
	}
}

func TestAppendMsgFrameAllocs(t *testing.T) {
	m := msg(1, 2, 1)
	m.Entries = []*pb.Entry{{Term: new(uint64(1)), Index: new(uint64(2)), Data: make([]byte, 100)}}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = appendMsgFrame(buf[:0], frameMsg, 1, m, DefaultMaxFrameSize)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per encode, want 0", allocs)
	}
}

func BenchmarkAppendMsgFrame(b *testing.B) {
	m := msg(1, 2, 1)
	m.Entries = []*pb.Entry{{Term: new(uint64(1)), Index: new(uint64(2)), Data: make([]byte, 256)}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendMsgFrame(buf[:0], frameMsg, 1, m, DefaultMaxFrameSize)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	seed, _ := appendMsgFrame(nil, frameMsg, 7, msg(1, 2, 3), fuzzMaxFrame)
	f.Add(seed)
	f.Add(appendFrame(nil, frameSnapChunk, 1<<50, []byte("data")))
	f.Add(endFrame(nil, 0xdeadbeef, 12))
	f.Add([]byte{0, 0, 0, 2, 1, 0x80})
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31))
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := readFrames(data, fuzzMaxFrame)
		if err == nil {
			t.Fatal("reader ended without an error")
		}
		for _, f := range frames {
			if f.typ == frameMsg || f.typ == frameSnapHeader {
				decodeMessage(f.payload) // must not panic
			}
			// Whatever decodes re-encodes to something that decodes the same.
			again, err := readFrames(appendFrame(nil, f.typ, f.group, f.payload), fuzzMaxFrame)
			if err != io.EOF || len(again) != 1 || again[0].typ != f.typ ||
				again[0].group != f.group || !bytes.Equal(again[0].payload, f.payload) {
				t.Fatalf("round trip of %+v: %+v, %v", f, again, err)
			}
		}
	})
}

func TestTCPSurvivesGarbage(t *testing.T) {
	a, b, _, hb := tcpPair(t, nil)
	hs := func(kind connKind, to uint64) []byte {
		return handshake{kind: kind, from: 1, to: to}.append(nil)
	}
	badProto := appendFrame(hs(kindStream, 2), frameMsg, group, []byte{0xff, 0xff, 0xff})
	for name, in := range map[string][]byte{
		"http":             []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"bad magic":        append([]byte("XXXX"), hs(kindStream, 2)[4:]...),
		"bad version":      append(append([]byte{}, magic[:]...), 99, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2),
		"bad kind":         hs(9, 2),
		"wrong node":       hs(kindStream, 3),
		"zero sender":      handshake{kind: kindStream, to: 2}.append(nil),
		"huge frame":       binary.BigEndian.AppendUint32(hs(kindStream, 2), 1<<31),
		"unknown frame":    append(hs(kindStream, 2), 0, 0, 0, 2, 77, 0),
		"chunk on stream":  appendFrame(hs(kindStream, 2), frameSnapChunk, group, []byte("x")),
		"bad proto":        badProto,
		"snapshot garbage": append(hs(kindSnapshot, 2), 0, 0, 0, 3, 1, 1, 1),
		"random":           randomBytes(10_000),
	} {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(waitTimeout))
		c.Write(in)
		// The receiver must close the connection: the read ends with EOF
		// or a reset, not a timeout.
		_, err = io.Copy(io.Discard, c)
		c.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: connection left open", name)
		}
	}
	expectNone(t, hb.recv, "message from garbage")
	a.Send(group, msgs(1, 2, 1, 5))
	checkOrder(t, recvN(t, hb, 5), group, 1)
}
