package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Wire constants. See the package documentation for the format.
const (
	protocolVersion = 1
	handshakeSize   = 4 + 1 + 1 + 8 + 8 // magic | version | kind | from | to
	frameLenSize    = 4                 // uint32 length prefix
	maxFrameHeader  = frameLenSize + 1 + binary.MaxVarintLen64
	snapEndSize     = 4 + 8 // crc32c | body length

	ackOK   byte = 1
	ackFail byte = 0

	// refusedRemoved is the one byte a receiver writes, then closes, on a
	// connection from a sender it knows as removed from the cluster.
	refusedRemoved byte = 'R'

	// growStep is the smallest step by which a frame buffer grows while a
	// frame is read. Buffers grow at most by what has already arrived, so a
	// peer announcing a huge frame and sending little costs little memory.
	growStep = 64 << 10
	// retainMax is the largest frame buffer kept between frames; a larger
	// one (left by a rare huge message) is released before the next read.
	retainMax = 1 << 20
)

var magic = [4]byte{'C', 'R', 'F', 'T'}

// connKind says what a connection carries; it is part of the handshake.
type connKind byte

const (
	kindStream   connKind = 1 // ordinary messages, one way, long-lived
	kindSnapshot connKind = 2 // one snapshot, then a one-byte ack back
)

// frameType is the first byte of every frame.
type frameType byte

const (
	frameMsg        frameType = 1 // payload: proto raftpb.Message
	frameSnapHeader frameType = 2 // payload: proto raftpb.Message (MsgSnap)
	frameSnapChunk  frameType = 3 // payload: raw snapshot body bytes
	frameSnapEnd    frameType = 4 // payload: crc32c uint32 | body length uint64
)

func (t frameType) valid() bool { return t >= frameMsg && t <= frameSnapEnd }

// handshake opens every connection.
type handshake struct {
	kind connKind
	from uint64 // sender's raft ID
	to   uint64 // the raft ID the sender believes it is talking to
}

func (h handshake) append(b []byte) []byte {
	b = append(b, magic[:]...)
	b = append(b, protocolVersion, byte(h.kind))
	b = binary.BigEndian.AppendUint64(b, h.from)
	return binary.BigEndian.AppendUint64(b, h.to)
}

// readHandshake reads and validates a handshake addressed to self.
func readHandshake(r io.Reader, self uint64) (handshake, error) {
	var b [handshakeSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return handshake{}, fmt.Errorf("%w: %w", ErrBadHandshake, err)
	}
	if [4]byte(b[:4]) != magic {
		return handshake{}, fmt.Errorf("%w: bad magic %q", ErrBadHandshake, b[:4])
	}
	if b[4] != protocolVersion {
		return handshake{}, fmt.Errorf("%w: unsupported version %d", ErrBadHandshake, b[4])
	}
	h := handshake{
		kind: connKind(b[5]),
		from: binary.BigEndian.Uint64(b[6:14]),
		to:   binary.BigEndian.Uint64(b[14:22]),
	}
	switch {
	case h.kind != kindStream && h.kind != kindSnapshot:
		return handshake{}, fmt.Errorf("%w: unknown connection kind %d", ErrBadHandshake, h.kind)
	case h.from == 0:
		return handshake{}, fmt.Errorf("%w: sender ID is zero", ErrBadHandshake)
	case h.to != self:
		return handshake{}, fmt.Errorf("%w: addressed to node %x, this is %x", ErrBadHandshake, h.to, self)
	}
	return h, nil
}

// frame is one decoded frame. payload aliases the frameReader's buffer and
// is valid until the next call to next.
type frame struct {
	typ     frameType
	group   uint64
	payload []byte
}

// appendFrameHeader appends the length prefix, type and group of a frame
// whose payload is payloadLen bytes long.
func appendFrameHeader(b []byte, typ frameType, group uint64, payloadLen int) []byte {
	n := 1 + uvarintLen(group) + payloadLen
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, byte(typ))
	return binary.AppendUvarint(b, group)
}

// appendFrame appends a whole frame.
func appendFrame(b []byte, typ frameType, group uint64, payload []byte) []byte {
	b = appendFrameHeader(b, typ, group, len(payload))
	return append(b, payload...)
}

// appendMsgFrame appends m as a frame of type typ, marshalling straight into
// b. On error b is returned unchanged.
func appendMsgFrame(b []byte, typ frameType, group uint64, m *pb.Message, maxFrame int) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, byte(typ))
	b = binary.AppendUvarint(b, group)
	b, err := proto.MarshalOptions{}.MarshalAppend(b, m)
	if err != nil {
		return b[:start], fmt.Errorf("transport: marshal %s: %w", m.GetType(), err)
	}
	n := len(b) - start - frameLenSize
	if n > maxFrame {
		return b[:start], fmt.Errorf("%w: %s to %x is %d bytes, max %d",
			ErrFrameTooLarge, m.GetType(), m.GetTo(), n, maxFrame)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// frameReader decodes frames from a stream, reusing one buffer.
type frameReader struct {
	r   *bufio.Reader
	max int
	hdr [frameLenSize]byte
	buf []byte
}

func newFrameReader(r *bufio.Reader, maxFrame int) *frameReader {
	return &frameReader{r: r, max: maxFrame}
}

// next reads one frame. It returns io.EOF only at a clean frame boundary;
// a stream cut inside a frame yields io.ErrUnexpectedEOF. Malformed input
// yields an error wrapping ErrBadFrame or ErrFrameTooLarge.
func (fr *frameReader) next() (frame, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	if uint64(n) > uint64(fr.max) {
		return frame{}, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, n, fr.max)
	}
	if cap(fr.buf) > retainMax && n <= retainMax {
		fr.buf = nil
	}
	var err error
	fr.buf, err = readN(fr.r, fr.buf, int(n))
	if err != nil {
		return frame{}, noEOF(err)
	}
	return parseFrame(fr.buf)
}

// parseFrame decodes the bytes that follow a frame's length prefix.
func parseFrame(b []byte) (frame, error) {
	if len(b) < 2 {
		return frame{}, fmt.Errorf("%w: %d-byte frame", ErrBadFrame, len(b))
	}
	typ := frameType(b[0])
	if !typ.valid() {
		return frame{}, fmt.Errorf("%w: unknown type %d", ErrBadFrame, typ)
	}
	group, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return frame{}, fmt.Errorf("%w: bad group varint", ErrBadFrame)
	}
	return frame{typ: typ, group: group, payload: b[1+k:]}, nil
}

// readN reads exactly n bytes into buf's storage and returns buf[:n]. When
// buf is too small it grows in steps no larger than what has arrived.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	if cap(buf) >= n {
		buf = buf[:n]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf = buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(len(buf), growStep)))
		}
		end := min(cap(buf), n)
		k, err := io.ReadFull(r, buf[len(buf):end])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// decodeMessage unmarshals a message payload. proto.Unmarshal copies bytes
// fields, so the result does not alias payload.
func decodeMessage(payload []byte) (*pb.Message, error) {
	m := new(pb.Message)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("%w: message: %w", ErrBadFrame, err)
	}
	return m, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a frame or a snapshot
// stream, end of input is always a truncation.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
