package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SendSnapshot implements Transport. The transfer runs on its own
// connection in a tracked goroutine, bounded by SnapshotTimeout and
// cancelled by Close. The outcome is always reported through
// ReportSnapshot from that goroutine, never from the caller's, so a
// Handler may block in ReportSnapshot until the raft loop takes it.
func (t *TCP) SendSnapshot(group uint64, m *pb.Message, body io.ReadCloser) {
	to := m.GetTo()
	t.mu.RLock()
	var addr string
	if p := t.peers[to]; p != nil {
		addr = p.addr
	}
	t.mu.RUnlock()

	started := t.spawn(func() {
		err := t.sendSnapshot(addr, group, m, body)
		if err != nil {
			t.log.Warn("transport: snapshot send failed",
				"peer", fmt.Sprintf("%x", to), "group", group, "err", err)
		}
		t.cfg.Handler.ReportSnapshot(group, to, err != nil)
	})
	if !started {
		body.Close()
	}
}

// sendSnapshot streams one snapshot and waits for the receiver's ack. It
// always closes body.
func (t *TCP) sendSnapshot(addr string, group uint64, m *pb.Message, body io.ReadCloser) error {
	closeBody := sync.OnceValue(body.Close)
	defer closeBody()
	if addr == "" {
		return fmt.Errorf("%w: %x", ErrUnknownPeer, m.GetTo())
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.SnapshotTimeout)
	defer cancel()

	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	defer conn.Close()
	// Unblock a stalled body read or network write on timeout or Close.
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		closeBody()
	})
	defer stop()

	if err := t.writeSnapshot(conn, group, m, body); err != nil {
		return ctxErr(ctx, err)
	}
	return ctxErr(ctx, readAck(conn))
}

// writeSnapshot writes the handshake, the header, the body in chunks and
// the end frame.
func (t *TCP) writeSnapshot(conn net.Conn, group uint64, m *pb.Message, body io.Reader) error {
	bw := bufio.NewWriterSize(conn, writeBufSize)
	hdr := handshake{kind: kindSnapshot, from: t.cfg.ID, to: m.GetTo()}.append(nil)
	hdr, err := appendMsgFrame(hdr, frameSnapHeader, group, m, t.cfg.MaxFrameSize)
	if err != nil {
		return err
	}
	bw.Write(hdr)

	chunk := make([]byte, t.cfg.SnapshotChunkSize)
	var crc uint32
	var size uint64
	for {
		n, rerr := fill(body, chunk)
		if n > 0 {
			crc = crc32.Update(crc, castagnoli, chunk[:n])
			size += uint64(n)
			hdr = appendFrameHeader(hdr[:0], frameSnapChunk, group, n)
			bw.Write(hdr)
			if _, err := bw.Write(chunk[:n]); err != nil {
				return fmt.Errorf("transport: write snapshot: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("transport: read snapshot body: %w", rerr)
		}
	}
	end := binary.BigEndian.AppendUint32(make([]byte, 0, snapEndSize), crc)
	end = binary.BigEndian.AppendUint64(end, size)
	bw.Write(appendFrame(hdr[:0], frameSnapEnd, group, end))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("transport: write snapshot: %w", err)
	}
	return nil
}

// fill reads from r until b is full or r fails, returning r's error as is
// (io.EOF at the end of the body). Unlike io.ReadFull it never mistakes a
// body that itself fails with io.ErrUnexpectedEOF for a clean end.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func readAck(conn net.Conn) error {
	var ack [1]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return fmt.Errorf("%w: no ack: %w", ErrSnapshotRejected, err)
	}
	if ack[0] != ackOK {
		return ErrSnapshotRejected
	}
	return nil
}

// ctxErr prefers the context's error, which explains a closed connection.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("transport: snapshot: %w (%w)", context.Cause(ctx), err)
	}
	return err
}

// receiveSnapshot reads one snapshot from c, hands it to the Handler as a
// stream and acks the outcome.
func (t *TCP) receiveSnapshot(c net.Conn, fr *frameReader, from uint64) error {
	c.SetDeadline(time.Now().Add(t.cfg.SnapshotTimeout))
	f, err := fr.next()
	if err != nil {
		return err
	}
	if f.typ != frameSnapHeader {
		return fmt.Errorf("%w: type %d, want snapshot header", ErrBadFrame, f.typ)
	}
	m, err := decodeMessage(f.payload)
	if err != nil {
		return err
	}
	if m.GetType() != pb.MsgSnap {
		return fmt.Errorf("%w: snapshot header carries %s", ErrBadFrame, m.GetType())
	}

	sr := &snapshotReader{fr: fr, group: f.group}
	herr := t.cfg.Handler.ReceiveSnapshot(f.group, m, sr)
	var serr error
	if herr == nil {
		serr = sr.finish()
	}
	ack := ackOK
	if herr != nil || serr != nil {
		ack = ackFail
	}
	_, werr := c.Write([]byte{ack})
	if herr != nil {
		herr = fmt.Errorf("transport: snapshot from %x rejected by handler: %w", from, herr)
	}
	return errors.Join(herr, serr, werr)
}

// snapshotReader presents the chunk frames of a snapshot connection as one
// stream. It returns io.EOF only after an end frame whose checksum and
// length match what was read; a cut or corrupt stream yields another error.
type snapshotReader struct {
	fr    *frameReader
	group uint64
	chunk []byte // unread part of the current chunk; aliases fr's buffer
	crc   uint32
	size  uint64
	err   error // sticky; io.EOF once verified
}

func (r *snapshotReader) Read(p []byte) (int, error) {
	for len(r.chunk) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.nextChunk()
	}
	n := copy(p, r.chunk)
	r.chunk = r.chunk[n:]
	return n, nil
}

// nextChunk reads the next frame into r.chunk, or verifies the end frame.
func (r *snapshotReader) nextChunk() error {
	f, err := r.fr.next()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshotTruncated, noEOF(err))
	}
	if f.group != r.group {
		return fmt.Errorf("%w: chunk for group %d in a snapshot of group %d", ErrBadFrame, f.group, r.group)
	}
	switch f.typ {
	case frameSnapChunk:
		r.chunk = f.payload
		r.crc = crc32.Update(r.crc, castagnoli, f.payload)
		r.size += uint64(len(f.payload))
		return nil
	case frameSnapEnd:
		return r.verify(f.payload)
	default:
		return fmt.Errorf("%w: type %d inside a snapshot", ErrBadFrame, f.typ)
	}
}

func (r *snapshotReader) verify(end []byte) error {
	if len(end) != snapEndSize {
		return fmt.Errorf("%w: %d-byte end frame", ErrBadFrame, len(end))
	}
	crc, size := binary.BigEndian.Uint32(end), binary.BigEndian.Uint64(end[4:])
	if crc != r.crc || size != r.size {
		return fmt.Errorf("%w: got crc %08x over %d bytes, sender says %08x over %d",
			ErrSnapshotChecksum, r.crc, r.size, crc, size)
	}
	return io.EOF
}

// finish reads what the handler left unread and reports whether the whole
// stream verified.
func (r *snapshotReader) finish() error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return nil // io.Copy hides the io.EOF that only verify returns
}
