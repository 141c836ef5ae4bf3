package respserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
)

// redisVersion is the Redis version Cairn's command set and replies
// follow; INFO and HELLO report it as redis_version / version so that
// clients enable the features they gate on it.
const redisVersion = "7.0.0"

func connectionCommands() []*spec {
	return []*spec{
		{name: "ping", arity: -1, flags: []string{"fast"}, multiOK: true,
			summary: "Returns PONG, or the argument.", run: runPing},
		{name: "echo", arity: 2, flags: []string{"fast"}, multiOK: true,
			summary: "Returns the argument.", run: runEcho},
		{name: "hello", arity: -1, flags: []string{"noscript", "loading", "stale", "fast", "no_auth"},
			summary: "Selects RESP2 or RESP3 and describes the server.", run: runHello},
		{name: "auth", arity: -2, flags: []string{"noscript", "loading", "stale", "fast", "no_auth"},
			summary: "Authentication (not supported yet).", run: runAuth},
		{name: "select", arity: 2, flags: []string{"loading", "stale", "fast"}, multiOK: true,
			summary: "Selects database 0 (the only one).", run: runSelect},
		{name: "quit", arity: -1, flags: []string{"fast", "no_auth"}, txnControl: true,
			summary: "Closes the connection.", run: runQuit},
		{name: "reset", arity: 1, flags: []string{"fast", "no_auth"}, txnControl: true,
			summary: "Resets the connection state.", run: runReset},
		{name: "client", arity: -2, flags: []string{"loading", "stale"},
			summary: "CLIENT ID, SETNAME, GETNAME, SETINFO, LIST, INFO.", run: runClient},
		{name: "command", arity: -1, flags: []string{"loading", "stale"},
			summary: "Describes the commands (COUNT, INFO, LIST).", run: runCommand},
		{name: "info", arity: -1, flags: []string{"loading", "stale"},
			summary: "Server, clients, replication (raft) and keyspace information.", run: runInfo},
		{name: "time", arity: 1, flags: []string{"loading", "stale", "fast"}, multiOK: true,
			summary: "Returns this node's clock.", run: runTime},
		{name: "config", arity: -2, flags: []string{"admin", "noscript", "loading", "stale"},
			summary: "CONFIG GET of a few read-only parameters (for redis-benchmark and tools).", run: runConfig},
		{name: "readonly", arity: 1, flags: []string{"loading", "stale", "fast"},
			summary: "Serves this connection's reads locally (stale) from now on.", run: runReadOnly},
		{name: "readwrite", arity: 1, flags: []string{"loading", "stale", "fast"},
			summary: "Makes this connection's reads linearizable again (the default).", run: runReadWrite},
	}
}

func runPing(c *conn, args [][]byte) {
	switch len(args) {
	case 1:
		c.w.SimpleString("PONG")
	case 2:
		c.w.Bulk(args[1])
	default:
		c.w.Error(errArity("ping"))
	}
}

func runEcho(c *conn, args [][]byte) { c.w.Bulk(args[1]) }

// runHello implements HELLO [protover [AUTH user pass] [SETNAME name]].
func runHello(c *conn, args [][]byte) {
	proto := c.w.Protocol()
	if len(args) > 1 {
		v, ok := command.ParseInteger(args[1])
		if !ok {
			c.w.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 && v != 3 {
			c.w.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = int(v)
	}
	var name []byte
	setName := false
	for i := 2; i < len(args); i++ {
		switch {
		case eqFold(args[i], "auth") && i+2 < len(args):
			c.w.Error(errAuth)
			return
		case eqFold(args[i], "setname") && i+1 < len(args):
			i++
			name, setName = args[i], true
		default:
			c.w.Error("ERR Syntax error in HELLO option '" + string(clip(args[i])) + "'")
			return
		}
	}
	if setName {
		if msg := checkClientName(name); msg != "" {
			c.w.Error(msg)
			return
		}
		c.mu.Lock()
		c.name = string(name)
		c.mu.Unlock()
	}
	_ = c.w.SetProtocol(proto)
	role := "master"
	if st, err := c.srv.svc.Status(c.ctx); err == nil && st.Role != "leader" {
		role = "replica"
	}
	c.w.MapLen(7)
	c.w.BulkString("server")
	c.w.BulkString("redis")
	c.w.BulkString("version")
	c.w.BulkString(redisVersion)
	c.w.BulkString("proto")
	c.w.Int(int64(proto))
	c.w.BulkString("id")
	c.w.Int(c.id)
	c.w.BulkString("mode")
	c.w.BulkString("standalone")
	c.w.BulkString("role")
	c.w.BulkString(role)
	c.w.BulkString("modules")
	c.w.ArrayLen(0)
}

func runAuth(c *conn, _ [][]byte) { c.w.Error(errAuth) }

func runSelect(c *conn, args [][]byte) {
	n, ok := command.ParseInteger(args[1])
	switch {
	case !ok:
		c.w.Error(errNotInteger)
	case n != 0:
		c.w.Error("ERR DB index is out of range (Cairn has only database 0)")
	default:
		c.ok()
	}
}

func runQuit(c *conn, _ [][]byte) {
	c.ok()
	c.quit = true
}

// runReset restores the connection's defaults: out of MULTI, no watched
// keys, RESP2, linearizable reads, no name.
func runReset(c *conn, _ [][]byte) {
	c.endMulti()
	c.resetPubSub()
	c.stale = false
	_ = c.w.SetProtocol(2)
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	c.w.SimpleString("RESET")
}

func runReadOnly(c *conn, _ [][]byte) {
	c.stale = true
	c.ok()
}

func runReadWrite(c *conn, _ [][]byte) {
	c.stale = false
	c.ok()
}

func runTime(c *conn, _ [][]byte) {
	now := time.Now()
	var buf [20]byte
	c.w.ArrayLen(2)
	c.w.Bulk(strconv.AppendInt(buf[:0], now.Unix(), 10))
	c.w.Bulk(strconv.AppendInt(buf[:0], int64(now.Nanosecond()/1000), 10))
}

// checkClientName applies Redis's rule: no spaces, newlines or other
// characters outside '!'..'~'.
func checkClientName(name []byte) string {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func runClient(c *conn, args [][]byte) {
	sub := args[1]
	switch {
	case eqFold(sub, "id") && len(args) == 2:
		c.w.Int(c.id)
	case eqFold(sub, "setname") && len(args) == 3:
		if msg := checkClientName(args[2]); msg != "" {
			c.w.Error(msg)
			return
		}
		c.mu.Lock()
		c.name = string(args[2])
		c.mu.Unlock()
		c.ok()
	case eqFold(sub, "getname") && len(args) == 2:
		c.mu.Lock()
		name := c.name
		c.mu.Unlock()
		if name == "" {
			c.w.Null()
		} else {
			c.w.BulkString(name)
		}
	case eqFold(sub, "setinfo") && len(args) == 4:
		v := string(args[3])
		if strings.ContainsAny(v, " \n\r") {
			c.w.Error("ERR " + string(clip(args[2])) + " cannot contain spaces, newlines or special characters.")
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case eqFold(args[2], "lib-name"):
			c.libName = v
		case eqFold(args[2], "lib-ver"):
			c.libVer = v
		default:
			c.w.Error("ERR Unrecognized option '" + string(clip(args[2])) + "'")
			return
		}
		c.ok()
	case eqFold(sub, "info") && len(args) == 2:
		c.w.Verbatim("txt", c.describe()+"\n")
	case eqFold(sub, "list") && len(args) == 2:
		var b strings.Builder
		for _, o := range c.srv.clients() {
			b.WriteString(o.describe())
			b.WriteByte('\n')
		}
		c.w.Verbatim("txt", b.String())
	case eqFold(sub, "help"):
		lines := []string{
			"CLIENT <subcommand> [<arg> ...]. Subcommands are:",
			"ID", "    Return the ID of the current connection.",
			"SETNAME <name>", "    Assign a name to the current connection.",
			"GETNAME", "    Return the name of the current connection.",
			"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library information.",
			"INFO", "    Describe the current connection.",
			"LIST", "    Describe every connection to this node.",
		}
		c.w.ArrayLen(len(lines))
		for _, l := range lines {
			c.w.SimpleString(l)
		}
	default:
		c.w.Error(errUnknownSubcommand("CLIENT", sub))
	}
}

// describe is the connection's CLIENT LIST line. The fields other than
// those under mu are read without synchronization only for this
// connection's own goroutine; other connections report what is set once.
func (c *conn) describe() string {
	c.mu.Lock()
	name, lib, ver := c.name, c.libName, c.libVer
	c.mu.Unlock()
	age := int64(time.Since(c.created).Seconds())
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=0 flags=N db=0 lib-name=%s lib-ver=%s",
		c.id, c.addr, c.nc.LocalAddr(), name, age, lib, ver)
}

// runCommand implements COMMAND, COMMAND COUNT, COMMAND INFO [name ...],
// COMMAND LIST. COMMAND DOCS is refused with an error, on which redis-cli
// falls back to its built-in help for hints and completion.
func runCommand(c *conn, args [][]byte) {
	if len(args) == 1 {
		c.w.ArrayLen(len(commandNames))
		for _, name := range commandNames {
			writeCommandInfo(c.w, commands[name])
		}
		return
	}
	sub := args[1]
	switch {
	case eqFold(sub, "count") && len(args) == 2:
		c.w.Int(int64(len(commandNames)))
	case eqFold(sub, "list"):
		c.w.ArrayLen(len(commandNames))
		for _, name := range commandNames {
			c.w.BulkString(name)
		}
	case eqFold(sub, "info"):
		names := args[2:]
		if len(names) == 0 {
			c.w.ArrayLen(len(commandNames))
			for _, name := range commandNames {
				writeCommandInfo(c.w, commands[name])
			}
			return
		}
		c.w.ArrayLen(len(names))
		for _, n := range names {
			if sp := lookup(n); sp != nil {
				writeCommandInfo(c.w, sp)
			} else {
				c.w.NullArray()
			}
		}
	case eqFold(sub, "docs"):
		c.w.Error("ERR COMMAND DOCS is not supported by Cairn; clients use their built-in help")
	case eqFold(sub, "getkeys"):
		c.w.Error("ERR COMMAND GETKEYS is not supported by Cairn")
	default:
		c.w.Error(errUnknownSubcommand("COMMAND", sub))
	}
}

// writeCommandInfo writes one COMMAND entry in Redis 7's ten-field form.
func writeCommandInfo(w *resp.Writer, sp *spec) {
	w.ArrayLen(10)
	w.BulkString(sp.name)
	w.Int(int64(sp.arity))
	w.SetLen(len(sp.flags))
	for _, f := range sp.flags {
		w.SimpleString(f)
	}
	w.Int(int64(sp.firstKey))
	w.Int(int64(sp.lastKey))
	w.Int(int64(sp.step))
	w.SetLen(0) // ACL categories
	w.SetLen(0) // tips
	w.ArrayLen(0)
	w.ArrayLen(0)
}

// runInfo implements INFO [section ...]: server, clients, replication
// (role:master on the raft leader, role:slave elsewhere, plus raft_*
// fields) and keyspace. "all", "everything" and "default" mean all.
func runInfo(c *conn, args [][]byte) {
	want := map[string]bool{}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	section := func(name string) bool {
		if !all && !want[strings.ToLower(name)] {
			return false
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + name + "\r\n")
		return true
	}
	field := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	s := c.srv
	if section("Server") {
		up := time.Since(s.started)
		field("redis_version", redisVersion)
		field("cairn_version", s.opts.Version)
		field("redis_mode", "standalone")
		field("os", runtime.GOOS+" "+runtime.GOARCH)
		field("arch_bits", strconv.IntSize)
		field("go_version", runtime.Version())
		field("process_id", os.Getpid())
		field("run_id", s.runID)
		field("tcp_port", localPort(c.nc.LocalAddr()))
		field("uptime_in_seconds", int64(up.Seconds()))
		field("uptime_in_days", int64(up.Hours()/24))
	}
	if section("Clients") {
		field("connected_clients", s.connCount())
	}
	var st service.Status
	var stErr error
	if all || want["replication"] {
		st, stErr = s.svc.Status(c.ctx)
	}
	if section("Replication") {
		if stErr != nil {
			field("role", "slave")
			field("raft_error", strings.ReplaceAll(stErr.Error(), "\n", " "))
		} else {
			writeReplication(field, st)
		}
	}
	if section("Keyspace") {
		r := &command.RangeRequest{Key: allKeysStart, End: allKeysEnd, CountOnly: true}
		if res, _, err := s.svc.Range(c.ctx, r, service.ReadOptions{Consistency: service.Stale}); err == nil && res.Count > 0 {
			var expires, avgTTL int64
			if es, ok := s.svc.(expiryStater); ok {
				expires, avgTTL, _ = es.ExpiryStats()
			}
			field("db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", res.Count, expires, avgTTL))
		}
	}
	c.w.Verbatim("txt", b.String())
}

// expiryStater is the service's count of keys with a TTL (INFO keyspace);
// a service without it reports expires=0.
type expiryStater interface {
	ExpiryStats() (count, avgTTL int64, err error)
}

var _ expiryStater = (*service.Service)(nil)

func writeReplication(field func(string, any), st service.Status) {
	if st.Role == "leader" {
		field("role", "master")
		followers := 0
		for _, m := range st.Members {
			if m.ID != st.ID {
				followers++
			}
		}
		field("connected_slaves", followers)
	} else {
		field("role", "slave")
		host, port := "", ""
		for _, m := range st.Members {
			if m.ID == st.Leader && m.RESPAddr != "" {
				host, port, _ = net.SplitHostPort(m.RESPAddr)
			}
		}
		field("master_host", host)
		field("master_port", port)
		if st.Leader != 0 {
			field("master_link_status", "up")
		} else {
			field("master_link_status", "down")
		}
	}
	field("raft_node_id", membership.IDString(st.ID))
	field("raft_name", st.Name)
	field("raft_role", st.Role)
	field("raft_term", st.Term)
	field("raft_leader", membership.IDString(st.Leader))
	field("raft_commit_index", st.CommitIndex)
	field("raft_applied_index", st.AppliedIndex)
	field("raft_revision", st.Revision)
	field("raft_compact_revision", st.Compacted)
	field("raft_members", len(st.Members))
}

// configParams are what CONFIG GET reports: tools such as
// redis-benchmark read save and appendonly. Every write is fsynced to the
// raft log before it is acknowledged, the equivalent of appendfsync always.
var configParams = [][2]string{
	{"appendfsync", "always"},
	{"appendonly", "yes"},
	{"databases", "1"},
	{"maxmemory", "0"},
	{"notify-keyspace-events", "KEA"}, // always: see pubsub.go
	{"proto-max-bulk-len", strconv.Itoa(service.MaxValueSize)},
	{"save", ""},
}

func runConfig(c *conn, args [][]byte) {
	switch sub := args[1]; {
	case eqFold(sub, "get") && len(args) >= 3:
		var out [][2]string
		for _, p := range configParams {
			for _, pat := range args[2:] {
				if globMatch(bytes.ToLower(pat), []byte(p[0])) {
					out = append(out, p)
					break
				}
			}
		}
		c.w.MapLen(len(out))
		for _, p := range out {
			c.w.BulkString(p[0])
			c.w.BulkString(p[1])
		}
	case eqFold(sub, "resetstat") && len(args) == 2:
		c.ok()
	case eqFold(sub, "set") && len(args) == 4 && isConfigNotify(args[2]):
		c.ok() // Cairn publishes every keyspace event whatever the setting
	case eqFold(sub, "set"), eqFold(sub, "rewrite"):
		c.w.Error("ERR CONFIG " + strings.ToUpper(string(sub)) + " is not supported by Cairn; configure the node with its flags")
	default:
		c.w.Error(errUnknownSubcommand("CONFIG", sub))
	}
}

func localPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(ta.Port)
	}
	return "0"
}
