package resp_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cairndb/cairn/internal/resp"
)

// A connection's loop: read each command, reply, and flush only when no
// pipelined command is waiting.
func Example() {
	in := strings.NewReader("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n")
	var out bytes.Buffer
	r := resp.NewReader(in, resp.Limits{MaxBulkLen: 8 << 20})
	w := resp.NewWriter(&out)
	store := map[string]string{}
	var cmd resp.Command
	for r.ReadCommand(&cmd) == nil {
		switch strings.ToUpper(string(cmd.Args[0])) {
		case "SET":
			store[string(cmd.Args[1])] = string(cmd.Args[2]) // copy: Args are reused
			w.SimpleString("OK")
		case "GET":
			w.BulkString(store[string(cmd.Args[1])])
		default:
			w.Error("ERR unknown command")
		}
		fmt.Printf("%q inline=%v buffered=%d\n", cmd.Args, cmd.Inline, r.Buffered())
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
	fmt.Printf("%q\n", out.String())
	// Output:
	// ["SET" "k" "v"] inline=false buffered=7
	// ["GET" "k"] inline=true buffered=0
	// "+OK\r\n$1\r\nv\r\n"
}
