package resp

import (
	"bufio"
	"bytes"
	"io"
	"slices"

	"github.com/cairndb/cairn/internal/redisnum"
)

// Defaults for the zero fields of Limits.
const (
	// DefaultMaxBulkLen is Redis's proto-max-bulk-len.
	DefaultMaxBulkLen = 512 << 20
	// DefaultMaxArrayLen bounds the argument count of a multibulk command.
	DefaultMaxArrayLen = 1 << 20
	// DefaultMaxInlineLen is Redis's PROTO_INLINE_MAX_SIZE.
	DefaultMaxInlineLen = 64 << 10
	// DefaultMaxCommandLen is Redis's client-query-buffer-limit.
	DefaultMaxCommandLen = 1 << 30
)

// Limits bound what a Reader accepts from a client. A zero or negative field
// takes its default. Exceeding a limit is a *ProtocolError.
type Limits struct {
	// MaxBulkLen is the largest bulk string argument of a multibulk command,
	// in bytes. Default DefaultMaxBulkLen (512 MiB).
	MaxBulkLen int
	// MaxArrayLen is the most arguments a multibulk command may declare.
	// Default DefaultMaxArrayLen (1<<20).
	MaxArrayLen int
	// MaxInlineLen is the longest inline command line, in bytes, counting a
	// trailing '\r' but not the '\n'. It is the only limit on inline
	// commands: the others apply to multibulk ones. Default
	// DefaultMaxInlineLen (64 KiB).
	MaxInlineLen int
	// MaxCommandLen bounds the sum of the argument lengths of one multibulk
	// command, the memory one command may hold. Default DefaultMaxCommandLen
	// (1 GiB).
	MaxCommandLen int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBulkLen, DefaultMaxBulkLen)
	def(&l.MaxArrayLen, DefaultMaxArrayLen)
	def(&l.MaxInlineLen, DefaultMaxInlineLen)
	def(&l.MaxCommandLen, DefaultMaxCommandLen)
	return l
}

// ProtocolError reports a malformed request or one over a Limit. Its text is
// Redis's, e.g. "Protocol error: invalid bulk length"; Redis replies with it
// behind "ERR " and then closes the connection, and so must the server: the
// Reader has lost its place in the stream.
type ProtocolError struct {
	msg string
}

func (e *ProtocolError) Error() string { return e.msg }

var (
	errInvalidMultibulkLen = &ProtocolError{"Protocol error: invalid multibulk length"}
	errInvalidBulkLen      = &ProtocolError{"Protocol error: invalid bulk length"}
	errTooBigInline        = &ProtocolError{"Protocol error: too big inline request"}
	errUnbalancedQuotes    = &ProtocolError{"Protocol error: unbalanced quotes in request"}
	// Not in Redis, which does not check the two bytes after a bulk string.
	errBulkTerminator = &ProtocolError{"Protocol error: bulk data not terminated by CRLF"}
	// Redis closes such a client without a reply (client-query-buffer-limit).
	errTooBigCommand = &ProtocolError{"Protocol error: too big multibulk request"}
)

func errExpectedDollar(got byte) error {
	return &ProtocolError{"Protocol error: expected '$', got '" + string([]byte{got}) + "'"}
}

const (
	readBufSize = 64 << 10
	// maxHeaderLen is the longest valid "*<n>\r\n" or "$<n>\r\n" line: Redis's
	// string2ll takes at most 20 characters.
	maxHeaderLen = 1 + 20 + 2
	// A Command drops buffers above these sizes before reading the next
	// command, so one huge command does not pin its memory for the life of
	// the connection.
	maxRetainBuf  = 1 << 20
	maxRetainArgs = 1 << 10
	// maxZeroReads is how many empty reads in a row count as no progress
	// (bufio uses 100 too).
	maxZeroReads = 100
)

// Command is one client command. Reuse it across ReadCommand calls: its
// slices are kept, so reading commands of a familiar shape allocates nothing.
type Command struct {
	// Args are the arguments, the command name first. They alias memory
	// owned by the Command and are valid until the next ReadCommand with it;
	// copy what must outlive that. Each has its capacity capped at its length,
	// so appending to one never overwrites another.
	Args [][]byte
	// Inline reports that the command came as an inline (telnet style) line
	// rather than a multibulk array.
	Inline bool

	buf  []byte // argument bytes, back to back
	ends []int  // end offset in buf of each argument
}

func (c *Command) reset() {
	if cap(c.buf) > maxRetainBuf || cap(c.ends) > maxRetainArgs {
		clear(c.Args[:cap(c.Args)]) // drop references into the old buf
		c.buf, c.ends = nil, nil
	}
	if cap(c.Args) > maxRetainArgs {
		c.Args = nil
	}
	if c.buf == nil {
		c.buf = make([]byte, 0, 512)
	}
	c.buf, c.ends, c.Args = c.buf[:0], c.ends[:0], c.Args[:0]
	c.Inline = false
}

// endArg ends the argument being appended to c.buf.
func (c *Command) endArg() { c.ends = append(c.ends, len(c.buf)) }

// finish points Args into buf. It runs once buf has stopped growing.
func (c *Command) finish() {
	start := 0
	for _, end := range c.ends {
		c.Args = append(c.Args, c.buf[start:end:end])
		start = end
	}
}

// Reader reads client commands from a stream. It is not safe for concurrent
// use.
type Reader struct {
	br   *bufio.Reader
	lim  Limits
	line []byte // an inline line longer than the bufio buffer
}

// NewReader returns a Reader that reads from r through a 64 KiB buffer of
// its own.
func NewReader(r io.Reader, lim Limits) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readBufSize), lim: lim.withDefaults()}
}

// Buffered returns the number of bytes already read from the stream and not
// yet consumed: if it is zero, no pipelined command is waiting and the
// server should flush its replies before the next ReadCommand blocks.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadCommand reads the next command into cmd, skipping empty inline lines
// and empty or null arrays ("*0\r\n", "*-1\r\n") as Redis does.
//
// It returns io.EOF if the stream ends between commands,
// io.ErrUnexpectedEOF if it ends inside one, a *ProtocolError if the
// request is malformed or over a limit, and otherwise the error of the
// underlying reader. After any error cmd.Args is not valid and the Reader's
// position in the stream is lost: close the connection.
func (r *Reader) ReadCommand(cmd *Command) error {
	cmd.reset()
	for {
		b, err := r.br.Peek(1)
		if err != nil {
			return err
		}
		inline := b[0] != '*'
		var ok bool
		if inline {
			ok, err = r.readInline(cmd)
		} else {
			ok, err = r.readMultibulk(cmd)
		}
		if err != nil {
			return err
		}
		if ok {
			cmd.Inline = inline
			cmd.finish()
			return nil
		}
	}
}

// readMultibulk reads "*<n>\r\n" and n bulk strings. It returns false for
// the arrays Redis skips.
func (r *Reader) readMultibulk(cmd *Command) (bool, error) {
	n, err := r.readHeader(errInvalidMultibulkLen)
	if err != nil {
		return false, err
	}
	if n <= 0 {
		return false, nil
	}
	if n > int64(r.lim.MaxArrayLen) {
		return false, errInvalidMultibulkLen
	}
	for range n {
		b, err := r.br.Peek(1)
		if err != nil {
			return false, noEOF(err)
		}
		if b[0] != '$' {
			return false, errExpectedDollar(b[0])
		}
		size, err := r.readHeader(errInvalidBulkLen)
		if err != nil {
			return false, err
		}
		if size < 0 || size > int64(r.lim.MaxBulkLen) {
			return false, errInvalidBulkLen
		}
		if int64(len(cmd.buf))+size > int64(r.lim.MaxCommandLen) {
			return false, errTooBigCommand
		}
		if err := r.readBulk(cmd, int(size)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// readHeader reads a "*<n>\r\n" or "$<n>\r\n" line (the caller has checked
// the first byte) and returns n. It returns bad as soon as it is clear the
// line is not a valid one, without waiting for more input.
func (r *Reader) readHeader(bad *ProtocolError) (int64, error) {
	for {
		buf, _ := r.br.Peek(r.br.Buffered())
		i := bytes.IndexByte(buf[:min(len(buf), maxHeaderLen)], '\n')
		if i < 0 {
			if len(buf) >= maxHeaderLen {
				return 0, bad
			}
			if _, err := r.br.Peek(len(buf) + 1); err != nil {
				return 0, noEOF(err)
			}
			continue
		}
		if i < 2 || buf[i-1] != '\r' {
			return 0, bad
		}
		n, ok := parseInt(buf[1 : i-1])
		if !ok {
			return 0, bad
		}
		r.br.Discard(i + 1)
		return n, nil
	}
}

// readBulk appends size bytes and the CRLF after them to cmd as an argument.
func (r *Reader) readBulk(cmd *Command, size int) error {
	if size+2 <= r.br.Size() {
		b, err := r.br.Peek(size + 2)
		if err != nil {
			return noEOF(err)
		}
		if b[size] != '\r' || b[size+1] != '\n' {
			return errBulkTerminator
		}
		cmd.buf = append(cmd.buf, b[:size]...)
		r.br.Discard(size + 2)
		cmd.endArg()
		return nil
	}
	if err := r.readLarge(cmd, size); err != nil {
		return err
	}
	b, err := r.br.Peek(2)
	if err != nil {
		return noEOF(err)
	}
	if b[0] != '\r' || b[1] != '\n' {
		return errBulkTerminator
	}
	r.br.Discard(2)
	cmd.endArg()
	return nil
}

// readLarge appends size bytes to cmd.buf, growing it only as data arrives
// (at most doubling it per step), so a declared length alone costs nothing.
func (r *Reader) readLarge(cmd *Command, size int) error {
	zero := 0
	for size > 0 {
		if len(cmd.buf) == cap(cmd.buf) {
			cmd.buf = slices.Grow(cmd.buf, min(size, max(cap(cmd.buf), readBufSize)))
		}
		l := len(cmd.buf)
		n, err := r.br.Read(cmd.buf[l:min(l+size, cap(cmd.buf))])
		cmd.buf = cmd.buf[:l+n]
		size -= n
		if err != nil {
			return noEOF(err)
		}
		if n > 0 {
			zero = 0
		} else if zero++; zero >= maxZeroReads {
			return io.ErrNoProgress
		}
	}
	return nil
}

// readInline reads one inline line and splits it into cmd. It returns false
// for a blank line.
func (r *Reader) readInline(cmd *Command) (bool, error) {
	line, err := r.readLine()
	if err != nil {
		return false, err
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if !splitArgs(cmd, line) {
		return false, errUnbalancedQuotes
	}
	return len(cmd.ends) > 0, nil
}

// readLine returns the next line without its '\n'. It fails as soon as
// more than MaxInlineLen bytes have arrived without a '\n'. The line aliases
// the bufio buffer or r.line and is valid until the next read.
func (r *Reader) readLine() ([]byte, error) {
	limit := r.lim.MaxInlineLen
	if cap(r.line) > maxRetainBuf {
		r.line = nil
	}
	r.line = r.line[:0]
	for {
		buf, _ := r.br.Peek(r.br.Buffered())
		window := buf[:min(len(buf), limit+1-len(r.line))]
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			r.br.Discard(i + 1)
			if len(r.line) == 0 {
				return buf[:i], nil
			}
			r.line = append(r.line, buf[:i]...)
			return r.line, nil
		}
		if len(r.line)+len(window) > limit {
			return nil, errTooBigInline
		}
		if len(buf) == r.br.Size() {
			r.line = append(r.line, buf...)
			r.br.Discard(len(buf))
			buf = nil
		}
		if _, err := r.br.Peek(len(buf) + 1); err != nil {
			return nil, noEOF(err)
		}
	}
}

// splitArgs appends the arguments of an inline line to cmd, following
// Redis's sdssplitargs except that NUL is an ordinary byte. It returns false
// for unbalanced quotes, or a closing quote not followed by a space.
func splitArgs(cmd *Command, line []byte) bool {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return true
		}
		var inDouble, inSingle bool
		for done := false; !done; i++ {
			if i == len(line) {
				if inDouble || inSingle {
					return false
				}
				break
			}
			c := line[i]
			switch {
			case inDouble:
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cmd.buf = append(cmd.buf, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					cmd.buf = append(cmd.buf, unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return false
					}
					done = true
				default:
					cmd.buf = append(cmd.buf, c)
				}
			case inSingle:
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cmd.buf = append(cmd.buf, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return false
					}
					done = true
				default:
					cmd.buf = append(cmd.buf, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					cmd.buf = append(cmd.buf, c)
				}
			}
		}
		cmd.endArg()
	}
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	default:
		return c
	}
}

// parseInt parses a length as strictly as Redis's string2ll.
func parseInt(b []byte) (int64, bool) { return redisnum.ParseInt(b) }

// noEOF turns io.EOF inside a command into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
