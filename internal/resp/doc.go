// Package resp is Cairn's codec for RESP, the Redis serialization protocol,
// so that redis-cli, redis-benchmark and Redis client libraries can talk to
// Cairn. It does no networking: it works on an io.Reader and an io.Writer.
//
// # Reading commands
//
// A Reader reads client commands in both forms Redis accepts: multibulk
// arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline
// lines ("GET k\r\n" or "GET k\n"), split like Redis's sdssplitargs: on
// spaces and tabs, with double-quoted strings taking the escapes \n \r \t
// \b \a \\ \" and \xHH, and single-quoted strings taking \'. Like Redis it
// skips blank inline lines and "*0"/"*-1" arrays, and "$0\r\n\r\n" is an
// empty argument. Command.Inline tells which form a command came in.
//
// The server loop reuses one Command per connection:
//
//	r := resp.NewReader(conn, limits)
//	w := resp.NewWriter(conn)
//	var cmd resp.Command
//	for {
//		if err := r.ReadCommand(&cmd); err != nil {
//			var pe *resp.ProtocolError
//			if errors.As(err, &pe) {
//				w.Error("ERR " + pe.Error())
//				w.Flush()
//			}
//			return // close the connection, whatever the error
//		}
//		execute(w, cmd.Args)
//		if r.Buffered() == 0 { // no pipelined command waiting
//			if err := w.Flush(); err != nil {
//				return
//			}
//		}
//	}
//
// # Ownership
//
// Command.Args alias memory owned by the Command, valid until the next
// ReadCommand into it: copy what must outlive the command (for example what
// goes into a Raft proposal that is encoded later). Steady-state reading of
// commands no larger than earlier ones allocates nothing. A command over
// 1 MiB or 1024 arguments gets fresh memory that the next command releases.
//
// # Limits
//
// Limits bounds bulk length (MaxBulkLen, Redis's proto-max-bulk-len),
// argument count (MaxArrayLen), inline line length (MaxInlineLen, Redis's
// 64 KiB) and the total argument bytes of a command (MaxCommandLen, like
// client-query-buffer-limit). A declared length costs nothing until its
// bytes arrive: memory grows with the data received, so "$536870912\r\n"
// followed by silence allocates nothing.
//
// # Errors
//
// ReadCommand returns io.EOF when the stream ends between commands,
// io.ErrUnexpectedEOF when it ends inside one, a *ProtocolError (text as
// Redis's, e.g. "Protocol error: invalid bulk length") for a malformed or
// oversized request, or the underlying reader's error. After any error the
// Reader is out of step with the stream and the connection must be closed,
// as Redis does after a protocol error. The Reader never panics on input.
//
// # Writing replies
//
// A Writer appends replies to its buffer without allocating, in RESP2 or
// (after SetProtocol(3)) RESP3, mapping RESP3-only types to their RESP2
// equivalents as Redis does: maps and sets become arrays, doubles and big
// numbers bulk strings, booleans integers. Aggregates are written as a
// header (ArrayLen, MapLen, SetLen, Push) followed by their elements.
// Write errors are sticky and reported by Flush.
//
// # Reading replies
//
// ReadReply parses any RESP2 or RESP3 reply into a Value, for tests and Go
// tools; AppendCommand encodes a command as clients do. Neither is on the
// server's hot path.
//
// # Differences from Redis
//
//   - A bulk string must be followed by CRLF; Redis skips the two bytes
//     unread.
//   - In inline commands NUL is an ordinary byte; Redis stops the line at a
//     NUL (its split works on C strings).
//   - An inline line over MaxInlineLen is refused even when it arrives whole;
//     Redis only checks lines it has to wait for.
//   - Headers must end in CRLF, and are refused ("invalid multibulk
//     length", "invalid bulk length") as soon as they cannot be valid, after
//     23 bytes; Redis looks for the '\r' for up to 64 KiB ("too big mbulk
//     count string") and takes the byte after it for '\n'.
//   - MaxArrayLen defaults to 1<<20 arguments; Redis allows up to INT_MAX.
//   - Total command size is a protocol error with a reply; Redis closes such
//     a client silently.
//   - Checks that depend on authentication (Redis's "unauthenticated
//     multibulk length") are left to the server.
package resp
