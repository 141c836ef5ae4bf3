package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed chan struct{}
}

func newTrackedBody(r io.Reader) *trackedBody {
	return &trackedBody{Reader: r, closed: make(chan struct{})}
}

func (b *trackedBody) Close() error { close(b.closed); return nil }

func TestTCPSnapshotArrivesIntact(t *testing.T) {
	a, b, ha, hb := tcpPair(t, nil)
	data := randomBytes(5<<20 + 12345)
	body := newTrackedBody(bytes.NewReader(data))
	a.SendSnapshot(group, snapMsg(1, 2), body)

	s := waitFor(t, hb.snaps, "snapshot")
	if s.err != nil || !bytes.Equal(s.data, data) {
		t.Fatalf("snapshot body: err %v, %d bytes (want %d)", s.err, len(s.data), len(data))
	}
	if s.group != group || s.m.GetType() != pb.MsgSnap || s.m.GetSnapshot().GetMetadata().GetIndex() != 100 {
		t.Fatalf("snapshot message: group %d %v", s.group, s.m)
	}
	if r := waitFor(t, ha.snapReports, "snapshot report"); r.failed || r.to != 2 || r.group != group {
		t.Fatalf("got %+v, want success for 2", r)
	}
	waitFor(t, body.closed, "body close")

	// The message stream is unaffected.
	a.Send(group, msgs(1, 2, 1, 3))
	b.Send(group, msgs(2, 1, 1, 3))
	checkOrder(t, recvN(t, hb, 3), group, 1)
	checkOrder(t, recvN(t, ha, 3), group, 1)
}

func TestTCPSnapshotRejectedByHandler(t *testing.T) {
	a, _, ha, hb := tcpPair(t, nil)
	hb.onSnapshot = func(snapshot) error { return errors.New("disk full") }
	body := newTrackedBody(bytes.NewReader(randomBytes(3 << 20)))
	a.SendSnapshot(group, snapMsg(1, 2), body)
	if s := waitFor(t, hb.snaps, "snapshot"); s.err != nil {
		t.Fatalf("body read: %v", s.err)
	}
	if r := waitFor(t, ha.snapReports, "snapshot report"); !r.failed {
		t.Fatalf("got %+v, want failure", r)
	}
	waitFor(t, body.closed, "body close")
}

// failingReader yields n bytes, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = f.err
	}
	return n, err
}

func TestTCPSnapshotSenderFailsMidway(t *testing.T) {
	a, _, ha, hb := tcpPair(t, nil)
	// io.ErrUnexpectedEOF from the body must not be mistaken for its end.
	body := newTrackedBody(&failingReader{bytes.NewReader(randomBytes(3<<20 + 7)), io.ErrUnexpectedEOF})
	a.SendSnapshot(group, snapMsg(1, 2), body)

	s := waitFor(t, hb.snaps, "snapshot")
	if !errors.Is(s.err, ErrSnapshotTruncated) {
		t.Fatalf("body read returned %v after %d bytes, want ErrSnapshotTruncated", s.err, len(s.data))
	}
	if r := waitFor(t, ha.snapReports, "snapshot report"); !r.failed {
		t.Fatalf("got %+v, want failure", r)
	}
	waitFor(t, body.closed, "body close")
}

// rawSnapshot writes a hand-built snapshot stream to tr and returns the ack
// byte, or an error if the connection ended without one.
func rawSnapshot(t *testing.T, tr *TCP, build func(b []byte) []byte) (byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", tr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitTimeout))
	b := handshake{kind: kindSnapshot, from: 1, to: tr.cfg.ID}.append(nil)
	b, err = appendMsgFrame(b, frameSnapHeader, group, snapMsg(1, tr.cfg.ID), DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(build(b)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	var ack [1]byte
	_, err = io.ReadFull(c, ack[:])
	return ack[0], err
}

func endFrame(b []byte, crc uint32, size uint64) []byte {
	end := binary.BigEndian.AppendUint32(nil, crc)
	end = binary.BigEndian.AppendUint64(end, size)
	return appendFrame(b, frameSnapEnd, group, end)
}

func TestTCPSnapshotCorruptOrTruncated(t *testing.T) {
	data := randomBytes(100_000)
	crc := crc32.Checksum(data, castagnoli)
	for _, tc := range []struct {
		name  string
		build func(b []byte) []byte
		want  error // from the handler's body reader; nil means clean
	}{{
		name: "valid",
		build: func(b []byte) []byte {
			b = appendFrame(b, frameSnapChunk, group, data[:60_000])
			b = appendFrame(b, frameSnapChunk, group, data[60_000:])
			return endFrame(b, crc, uint64(len(data)))
		},
	}, {
		name: "bad crc",
		build: func(b []byte) []byte {
			b = appendFrame(b, frameSnapChunk, group, data)
			return endFrame(b, crc^1, uint64(len(data)))
		},
		want: ErrSnapshotChecksum,
	}, {
		name: "flipped bit",
		build: func(b []byte) []byte {
			b = appendFrame(b, frameSnapChunk, group, data)
			b[len(b)-500] ^= 0x10
			return endFrame(b, crc, uint64(len(data)))
		},
		want: ErrSnapshotChecksum,
	}, {
		name: "no end frame",
		build: func(b []byte) []byte {
			return appendFrame(b, frameSnapChunk, group, data)
		},
		want: ErrSnapshotTruncated,
	}, {
		name: "cut inside a chunk",
		build: func(b []byte) []byte {
			return appendFrame(b, frameSnapChunk, group, data)[:len(b)+1000]
		},
		want: ErrSnapshotTruncated,
	}, {
		name: "chunk of another group",
		build: func(b []byte) []byte {
			b = appendFrame(b, frameSnapChunk, group+1, data)
			return endFrame(b, crc, uint64(len(data)))
		},
		want: ErrBadFrame,
	}, {
		name: "message frame inside snapshot",
		build: func(b []byte) []byte {
			b, _ = appendMsgFrame(b, frameMsg, group, msg(1, 2, 1), DefaultMaxFrameSize)
			return b
		},
		want: ErrBadFrame,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hb := newTestHandler()
			b := startTCP(t, 2, "", hb, nil)
			ack, ackErr := rawSnapshot(t, b, tc.build)
			s := waitFor(t, hb.snaps, "snapshot")
			if !errors.Is(s.err, tc.want) || (tc.want == nil) != (s.err == nil) {
				t.Fatalf("body read returned %v, want %v", s.err, tc.want)
			}
			if tc.want == nil && (ackErr != nil || ack != ackOK || !bytes.Equal(s.data, data)) {
				t.Fatalf("valid stream: ack %d (%v), %d bytes", ack, ackErr, len(s.data))
			}
			if tc.want != nil && ackErr == nil && ack != ackFail {
				t.Fatalf("bad stream acked %d", ack)
			}
		})
	}
}
