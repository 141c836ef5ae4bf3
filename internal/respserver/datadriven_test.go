package respserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cockroachdb/datadriven"
)

// startServer serves svc on a loopback listener until the test ends.
func startServer(t testing.TB, svc Service) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(svc, Options{Version: "test"})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, ln.Addr().String()
}

// testConn is a raw client connection.
type testConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *testConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &testConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *testConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testConn) read() (resp.Value, error) {
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	return resp.ReadReply(c.br)
}

// do sends one command and returns its reply.
func (c *testConn) do(args ...string) resp.Value {
	c.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	c.send(resp.AppendCommand(nil, bargs...))
	v, err := c.read()
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return v
}

// splitLine splits a test line into arguments as redis-cli does (quotes,
// escapes), using the codec's inline parser.
func splitLine(t testing.TB, line string) [][]byte {
	r := resp.NewReader(strings.NewReader(line+"\n"), resp.Limits{})
	var cmd resp.Command
	if err := r.ReadCommand(&cmd); err != nil {
		t.Fatalf("bad test line %q: %v", line, err)
	}
	out := make([][]byte, len(cmd.Args))
	for i, a := range cmd.Args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}

// render prints a reply compactly: +simple -error :int "bulk" (nil)
// *array %map ~set _ ,double #bool =fmt:"verbatim".
func render(b *strings.Builder, v resp.Value, indent string) {
	b.WriteString(indent)
	switch v.Type {
	case resp.TypeSimpleString:
		b.WriteString("+" + v.Str)
	case resp.TypeError:
		b.WriteString("-" + v.Str)
	case resp.TypeInt:
		fmt.Fprintf(b, ":%d", v.Int)
	case resp.TypeBulk:
		if v.Null {
			b.WriteString("(nil)")
		} else {
			b.WriteString(strconv.Quote(v.Str))
		}
	case resp.TypeNull:
		b.WriteString("_")
	case resp.TypeDouble:
		fmt.Fprintf(b, ",%v", v.Float)
	case resp.TypeBool:
		fmt.Fprintf(b, "#%t", v.Bool)
	case resp.TypeVerbatim:
		fmt.Fprintf(b, "=%s:%q", v.Format, v.Str)
	case resp.TypeArray, resp.TypeSet, resp.TypeMap, resp.TypePush:
		if v.Null {
			b.WriteString("(nil array)")
			break
		}
		n := len(v.Array)
		if v.Type == resp.TypeMap {
			n /= 2
		}
		fmt.Fprintf(b, "%c%d", v.Type, n)
		for _, e := range v.Array {
			b.WriteString("\n")
			render(b, e, indent+"  ")
		}
	default:
		fmt.Fprintf(b, "%c%q", v.Type, v.Str)
	}
}

type ddEnv struct {
	t     *testing.T
	svc   *fakeService
	addr  string
	conns map[string]*testConn
}

func (e *ddEnv) conn(d *datadriven.TestData) *testConn {
	name := "default"
	d.MaybeScanArgs(e.t, "conn", &name)
	c, ok := e.conns[name]
	if !ok {
		c = dial(e.t, e.addr)
		e.conns[name] = c
	}
	return c
}

// TestDataDriven runs testdata/*.txt. Directives:
//
//	run [conn=name]   each input line is a command (split as redis-cli
//	                  does); all are sent in one write (a pipeline), then
//	                  each reply is printed after its command
//	raw [conn=name]   the input, a Go string literal body, is sent as is;
//	                  replies are printed until the server closes the
//	                  connection or is silent for 200ms
//	fail err=noleader|timeout|none   inject a service failure
//	role leader|follower             what Status reports
//
// Run with -rewrite to regenerate the expected output.
func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt") // testdata/fuzz holds fuzz corpora
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) { runDataDriven(t, path) })
	}
}

func runDataDriven(t *testing.T, path string) {
	svc := newFakeService(t)
	_, addr := startServer(t, svc)
	e := &ddEnv{t: t, svc: svc, addr: addr, conns: map[string]*testConn{}}
	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
		e.t = t
		switch d.Cmd {
		case "run":
			return e.run(d)
		case "raw":
			return e.raw(d)
		case "fail":
			var which string
			d.ScanArgs(t, "err", &which)
			switch which {
			case "noleader":
				svc.setErr(fmt.Errorf("%w; gave up after the request deadline", service.ErrNoLeader))
			case "timeout":
				svc.setErr(service.ErrTimeout)
			default:
				svc.setErr(nil)
			}
			return ""
		case "role":
			svc.mu.Lock()
			svc.status.Role = d.CmdArgs[0].Key
			svc.mu.Unlock()
			return ""
		}
		d.Fatalf(t, "unknown directive %s", d.Cmd)
		return ""
	})
}

func (e *ddEnv) run(d *datadriven.TestData) string {
	c := e.conn(d)
	var lines []string
	var buf []byte
	for _, line := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, line)
		buf = resp.AppendCommand(buf, splitLine(e.t, line)...)
	}
	c.send(buf)
	var b strings.Builder
	for _, line := range lines {
		b.WriteString("> " + line + "\n")
		v, err := c.read()
		if err != nil {
			b.WriteString(readErr(err) + "\n")
			break
		}
		render(&b, v, "")
		b.WriteString("\n")
	}
	return b.String()
}

func (e *ddEnv) raw(d *datadriven.TestData) string {
	c := e.conn(d)
	input, err := strconv.Unquote(`"` + strings.ReplaceAll(d.Input, "\n", "") + `"`)
	if err != nil {
		d.Fatalf(e.t, "raw input: %v", err)
	}
	c.send([]byte(input))
	var b strings.Builder
	for {
		c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		v, err := resp.ReadReply(c.br)
		if err != nil {
			if s := readErr(err); s != "" {
				b.WriteString(s + "\n")
			}
			return b.String()
		}
		render(&b, v, "")
		b.WriteString("\n")
	}
}

// readErr describes why reading a reply stopped: "<closed>" when the
// server closed the connection, "" when it was merely silent.
func readErr(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "<closed>"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ""
	}
	return "<error: " + err.Error() + ">"
}
