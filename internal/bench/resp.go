package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/resp"
)

// RESPConfig configures the RESP driver.
type RESPConfig struct {
	// Addrs are the servers' host:port; client i talks to
	// Addrs[i%len(Addrs)].
	Addrs []string
	// ReadOnly sends READONLY on connect, which asks Cairn for stale
	// reads. A server that refuses it (a Redis not in cluster mode) fails
	// the connection.
	ReadOnly bool
	// Timeout bounds each batch, and each dial. Zero means 5s.
	Timeout time.Duration
}

// NewRESP returns a driver for RESP servers (Cairn's RESP front end, or
// Redis): a minimal client per connection that writes a whole batch with
// one write and then reads its replies (the way redis-benchmark -P
// pipelines).
//
// Workloads map to commands as follows: put is SET; get is GET (a nil
// reply is a miss); txn is MULTI, one SET per key, EXEC, all in one
// write; cas is WATCH and GET in one round trip, then MULTI, SET, EXEC in a
// second, and a nil EXEC reply (the key changed) is a conflict. doc reads
// are JSON.GET key $.name (nil is a miss) and its writes JSON.NUMINCRBY key
// $.n 1; the document preload is DEL then JSON.SET key $ doc. query sends
// CAIRN.QUERY script (see appendScript), with WRITE for the writing one; a
// nil reply to a read (a missing key) is a miss. Every kind but cas
// pipelines.
func NewRESP(cfg RESPConfig) (Driver, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("bench: resp: no address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &respDriver{cfg: cfg}, nil
}

type respDriver struct{ cfg RESPConfig }

func (d *respDriver) Name() string { return "resp" }
func (d *respDriver) Close() error { return nil }

func (d *respDriver) Dial(ctx context.Context, client int) (Conn, error) {
	c := &respConn{cfg: &d.cfg, addr: d.cfg.Addrs[client%len(d.cfg.Addrs)]}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Command names, as arguments for resp.AppendCommand.
var (
	cmdSET      = []byte("SET")
	cmdGET      = []byte("GET")
	cmdMULTI    = []byte("MULTI")
	cmdEXEC     = []byte("EXEC")
	cmdWATCH    = []byte("WATCH")
	cmdREADONLY = []byte("READONLY")
	cmdDEL      = []byte("DEL")
	cmdJSONGET  = []byte("JSON.GET")
	cmdJSONSET  = []byte("JSON.SET")
	cmdJSONINCR = []byte("JSON.NUMINCRBY")
	cmdQUERY    = []byte("CAIRN.QUERY")
	argWRITE    = []byte("WRITE")
	argRoot     = []byte("$")
	argName     = []byte("$.name")
	argN        = []byte("$.n")
	argOne      = []byte("1")
)

// respConn is one connection; it reconnects on the next Do after an I/O or
// protocol error.
type respConn struct {
	cfg  *RESPConfig
	addr string

	nc      net.Conn // nil while broken
	unwatch func() bool
	br      *bufio.Reader
	wbuf    []byte
	args    [4][]byte // scratch for one command's arguments
	script  []byte    // scratch for a query's script
}

func (c *respConn) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: c.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 64<<10)
	} else {
		c.br.Reset(nc)
	}
	c.nc = nc
	// Unblock I/O at once when the run is canceled.
	c.unwatch = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	if c.cfg.ReadOnly {
		nc.SetDeadline(time.Now().Add(c.cfg.Timeout))
		c.wbuf = resp.AppendCommand(c.wbuf[:0], cmdREADONLY)
		r, err := c.roundTrip()
		if err == nil && r.typ == '-' {
			err = fmt.Errorf("server refused READONLY (stale reads): %s", r.msg)
		}
		if err != nil {
			c.Close()
			return fmt.Errorf("bench: resp %s: %w", c.addr, err)
		}
	}
	return nil
}

func (c *respConn) Close() error {
	if c.nc == nil {
		return nil
	}
	c.unwatch()
	err := c.nc.Close()
	c.nc = nil
	return err
}

// roundTrip writes wbuf and reads one reply.
func (c *respConn) roundTrip() (reply, error) {
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return reply{}, err
	}
	return readReply(c.br, 0)
}

func (c *respConn) Do(ctx context.Context, ops []Op) {
	if c.nc == nil {
		if err := c.connect(ctx); err != nil {
			fail(ops, err)
			return
		}
	}
	c.nc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	var err error
	if ops[0].Kind == OpCAS { // two dependent round trips each: no pipelining
		for i := range ops {
			if err = c.cas(&ops[i]); err != nil {
				fail(ops[i:], err)
				break
			}
		}
	} else {
		err = c.pipeline(ops)
	}
	if err != nil { // the connection is out of step or dead
		c.Close()
	}
}

// fail ends ops with err.
func fail(ops []Op, err error) {
	now := time.Now()
	for i := range ops {
		ops[i].Err, ops[i].Done = err, now
	}
}

// pipeline writes every op's commands at once, then reads the replies.
func (c *respConn) pipeline(ops []Op) error {
	b := c.wbuf[:0]
	for i := range ops {
		b = c.appendOp(b, &ops[i])
	}
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		fail(ops, err)
		return err
	}
	for i := range ops {
		if err := c.readOp(&ops[i]); err != nil {
			fail(ops[i:], err)
			return err
		}
		ops[i].Done = time.Now()
	}
	return nil
}

func (c *respConn) appendOp(b []byte, op *Op) []byte {
	a := &c.args
	switch op.Kind {
	case OpPut:
		a[0], a[1], a[2] = cmdSET, op.Key(), op.Value
		b = resp.AppendCommand(b, a[:3]...)
	case OpGet:
		a[0], a[1] = cmdGET, op.Key()
		b = resp.AppendCommand(b, a[:2]...)
	case OpTxn:
		a[0] = cmdMULTI
		b = resp.AppendCommand(b, a[:1]...)
		for _, k := range op.Keys {
			a[0], a[1], a[2] = cmdSET, k, op.Value
			b = resp.AppendCommand(b, a[:3]...)
		}
		a[0] = cmdEXEC
		b = resp.AppendCommand(b, a[:1]...)
	case OpDocGet:
		a[0], a[1], a[2] = cmdJSONGET, op.Key(), argName
		b = resp.AppendCommand(b, a[:3]...)
	case OpDocIncr:
		a[0], a[1], a[2], a[3] = cmdJSONINCR, op.Key(), argN, argOne
		b = resp.AppendCommand(b, a[:4]...)
	case OpDocSet: // JSON.SET on a plain value is WRONGTYPE: delete first
		a[0], a[1] = cmdDEL, op.Key()
		b = resp.AppendCommand(b, a[:2]...)
		a[0], a[1], a[2], a[3] = cmdJSONSET, op.Key(), argRoot, op.Value
		b = resp.AppendCommand(b, a[:4]...)
	case OpQuery, OpQueryTxn:
		c.script = appendScript(c.script[:0], op)
		a[0], a[1], a[2] = cmdQUERY, c.script, argWRITE
		n := 2
		if op.Kind == OpQueryTxn {
			n = 3
		}
		b = resp.AppendCommand(b, a[:n]...)
	}
	return b
}

// readOp reads the replies of op's commands. An error reply sets op.Err;
// the returned error is for I/O and protocol errors, after which the
// connection is unusable.
func (c *respConn) readOp(op *Op) error {
	switch op.Kind {
	case OpPut:
		r, err := readReply(c.br, 0)
		if err == nil {
			op.Err = r.err()
		}
		return err
	case OpGet, OpDocGet, OpQuery:
		r, err := readReply(c.br, 0)
		if err == nil {
			op.Err = r.err()
			if r.null {
				op.Outcome = OutcomeMiss
			}
		}
		return err
	case OpDocIncr, OpQueryTxn:
		r, err := readReply(c.br, 0)
		if err == nil {
			op.Err = r.err()
		}
		return err
	case OpDocSet:
		for range 2 { // DEL, JSON.SET
			r, err := readReply(c.br, 0)
			if err != nil {
				return err
			}
			if op.Err == nil {
				op.Err = r.err()
			}
		}
		return nil
	case OpTxn:
		for range len(op.Keys) + 1 { // +OK for MULTI, +QUEUED for each SET
			r, err := readReply(c.br, 0)
			if err != nil {
				return err
			}
			if op.Err == nil {
				op.Err = r.err()
			}
		}
		r, err := readReply(c.br, 0)
		if err == nil && op.Err == nil {
			op.Err = r.err()
		}
		return err
	}
	return fmt.Errorf("bench: resp: cannot pipeline %v", op.Kind)
}

// cas runs WATCH key, GET key, then MULTI, SET key value, EXEC.
func (c *respConn) cas(op *Op) error {
	a := &c.args
	a[0], a[1] = cmdWATCH, op.Key()
	b := resp.AppendCommand(c.wbuf[:0], a[:2]...)
	a[0] = cmdGET
	b = resp.AppendCommand(b, a[:2]...)
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	for range 2 {
		r, err := readReply(c.br, 0)
		if err != nil {
			return err
		}
		if op.Err == nil {
			op.Err = r.err()
		}
	}
	if op.Err != nil { // still inside WATCH: drop it with the connection
		op.Done = time.Now()
		return op.Err
	}
	op.Kind = OpTxn // same commands as a one-key txn
	b = c.appendOp(c.wbuf[:0], op)
	op.Kind = OpCAS
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	for range 2 { // MULTI, SET
		r, err := readReply(c.br, 0)
		if err != nil {
			return err
		}
		if op.Err == nil {
			op.Err = r.err()
		}
	}
	r, err := readReply(c.br, 0)
	if err != nil {
		return err
	}
	if op.Err == nil {
		op.Err = r.err()
	}
	if r.null {
		op.Outcome = OutcomeConflict
	}
	op.Done = time.Now()
	return nil
}

// reply is what the driver keeps of a reply: its type and whether it is a
// null; for an error, its message; for an aggregate, the first error
// inside it. Values are skipped, not copied.
type reply struct {
	typ  byte
	null bool
	msg  string
}

// err returns the reply as an *OpError if it is an error or holds one.
func (r reply) err() error {
	if r.msg == "" {
		return nil
	}
	kind, _, _ := strings.Cut(r.msg, " ")
	return &OpError{Kind: "resp:" + kind, Msg: r.msg}
}

var errRESPProtocol = errors.New("bench: resp: malformed reply")

// maxRESPDepth bounds the nesting of aggregates.
const maxRESPDepth = 32

// readReply reads one RESP2 or RESP3 reply, skipping over its data: unlike
// resp.ReadReply, it allocates only for error messages, so that it costs
// the benchmark client little.
func readReply(br *bufio.Reader, depth int) (reply, error) {
	if depth > maxRESPDepth {
		return reply{}, errRESPProtocol
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			err = errRESPProtocol
		}
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, errRESPProtocol
	}
	r := reply{typ: line[0]}
	body := line[1 : len(line)-2]
	switch r.typ {
	case '-':
		r.msg = string(body)
		if r.msg == "" {
			r.msg = "(empty error)"
		}
		return r, nil
	case '+', ':', ',', '#', '(':
		return r, nil
	case '_':
		r.null = true
		return r, nil
	case '$', '=', '!':
		n, ok := parseLen(body)
		if !ok {
			return reply{}, errRESPProtocol
		}
		if n < 0 {
			r.null = true
			return r, nil
		}
		if r.typ == '!' { // a blob error: keep its text
			b, err := br.Peek(min(n, 1024))
			if err != nil {
				return reply{}, err
			}
			r.msg = string(b)
		}
		_, err := br.Discard(n + 2)
		return r, err
	case '*', '~', '>', '%', '|':
		n, ok := parseLen(body)
		if !ok {
			return reply{}, errRESPProtocol
		}
		if n < 0 {
			r.null = true
			return r, nil
		}
		if r.typ == '%' || r.typ == '|' {
			n *= 2
		}
		for range n {
			e, err := readReply(br, depth+1)
			if err != nil {
				return reply{}, err
			}
			if r.msg == "" && r.typ != '|' {
				r.msg = e.msg
			}
		}
		if r.typ == '|' { // attributes precede the value they annotate
			return readReply(br, depth+1)
		}
		return r, nil
	}
	return reply{}, errRESPProtocol
}

// parseLen parses a length: a decimal, or -1.
func parseLen(b []byte) (int, bool) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, true
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
