package respserver

import (
	"math"
	"time"

	"github.com/cairndb/cairn/internal/command"
)

// Key expiry (Redis TTL commands). A relative TTL is turned into an
// absolute Unix-millisecond expiry with this node's clock when the command
// is parsed; the expiry is stored with the key and the leader deletes the
// key once its own clock passes it (see docs/LEASES.md). Reads hide a key
// whose expiry has passed on the serving node's clock before the deletion
// is applied.

func ttlCommands() []*spec {
	w := []string{"write", "fast"}
	r := []string{"readonly", "fast"}
	return []*spec{
		{name: "setex", arity: 4, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			summary: "Sets a key and its expiry in seconds.", build: buildSetEX("setex", 1000)},
		{name: "psetex", arity: 4, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			summary: "Sets a key and its expiry in milliseconds.", build: buildSetEX("psetex", 1)},
		{name: "expire", arity: -3, flags: w, firstKey: 1, lastKey: 1,
			summary: "Sets a key's time to live in seconds.", build: buildExpire("expire")},
		{name: "pexpire", arity: -3, flags: w, firstKey: 1, lastKey: 1,
			summary: "Sets a key's time to live in milliseconds.", build: buildExpire("pexpire")},
		{name: "expireat", arity: -3, flags: w, firstKey: 1, lastKey: 1,
			summary: "Sets a key's expiry as a Unix time in seconds.", build: buildExpire("expireat")},
		{name: "pexpireat", arity: -3, flags: w, firstKey: 1, lastKey: 1,
			summary: "Sets a key's expiry as a Unix time in milliseconds.", build: buildExpire("pexpireat")},
		{name: "persist", arity: 2, flags: w, firstKey: 1, lastKey: 1,
			summary: "Removes a key's expiry.", build: buildPersist},
		{name: "ttl", arity: 2, flags: r, firstKey: 1, lastKey: 1,
			summary: "Returns a key's time to live in seconds.", build: buildTTL(false, false)},
		{name: "pttl", arity: 2, flags: r, firstKey: 1, lastKey: 1,
			summary: "Returns a key's time to live in milliseconds.", build: buildTTL(true, false)},
		{name: "expiretime", arity: 2, flags: r, firstKey: 1, lastKey: 1,
			summary: "Returns a key's expiry as a Unix time in seconds.", build: buildTTL(false, true)},
		{name: "pexpiretime", arity: 2, flags: r, firstKey: 1, lastKey: 1,
			summary: "Returns a key's expiry as a Unix time in milliseconds.", build: buildTTL(true, true)},
	}
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// expireAt converts the argument n of an expiry option or command named
// unit (ex/px/exat/pxat, expire/pexpire/expireat/pexpireat) into Unix ms.
// It fails on overflow.
func expireAt(unit []byte, n, now int64) (int64, bool) {
	var ms, base int64
	switch {
	case eqFold(unit, "ex"), eqFold(unit, "expire"), eqFold(unit, "setex"):
		ms, base = 1000, now
	case eqFold(unit, "px"), eqFold(unit, "pexpire"), eqFold(unit, "psetex"):
		ms, base = 1, now
	case eqFold(unit, "exat"), eqFold(unit, "expireat"):
		ms = 1000
	default: // pxat, pexpireat
		ms = 1
	}
	if n > math.MaxInt64/ms || n < math.MinInt64/ms {
		return 0, false
	}
	n *= ms
	if (n > 0 && base > math.MaxInt64-n) || (n < 0 && base < math.MinInt64-n) {
		return 0, false
	}
	return base + n, true
}

// expireIfWritten sets key's expiry if an earlier op of the same txn wrote
// it (SET ... EX after a SET that may not have written).
func expireIfWritten(key []byte, at, now int64) command.TxnOp {
	return command.TxnOp{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: key, At: max(at, 1), Now: now, Cond: command.ExpireIfWritten}}
}

func buildSetEX(name string, unit int64) func(args [][]byte) plan {
	return func(args [][]byte) plan {
		n, ok := command.ParseInteger(args[2])
		if !ok {
			return errPlan(errNotInteger)
		}
		now := nowMillis()
		at, ok := expireAt([]byte(name), n, now)
		if !ok || n <= 0 {
			return errPlan("ERR invalid expire time in '" + name + "' command")
		}
		m := &command.MutateRequest{Op: command.MutateSet, Key: args[1], Value: args[3]}
		return plan{ops: []command.TxnOp{mutateOp(m), expireIfWritten(args[1], at, now)},
			reply: func(c *conn, _ []command.TxnOpResult) { c.ok() }}
	}
}

func buildExpire(name string) func(args [][]byte) plan {
	return func(args [][]byte) plan {
		n, ok := command.ParseInteger(args[2])
		if !ok {
			return errPlan(errNotInteger)
		}
		var cond command.ExpireCond
		for _, a := range args[3:] {
			var c command.ExpireCond
			switch {
			case eqFold(a, "nx"):
				c = command.ExpireNX
			case eqFold(a, "xx"):
				c = command.ExpireXX
			case eqFold(a, "gt"):
				c = command.ExpireGT
			case eqFold(a, "lt"):
				c = command.ExpireLT
			default:
				return errPlan("ERR Unsupported option " + string(a))
			}
			if cond != 0 && cond != c {
				if cond == command.ExpireNX || c == command.ExpireNX {
					return errPlan("ERR NX and XX, GT or LT options at the same time are not compatible")
				}
				if (cond == command.ExpireGT && c == command.ExpireLT) || (cond == command.ExpireLT && c == command.ExpireGT) {
					return errPlan("ERR GT and LT options at the same time are not compatible")
				}
				// XX with GT or LT: XX is implied by GT ("a key without
				// expiry never passes GT") but not by LT; keep both checks.
				if c == command.ExpireXX {
					c = cond
				} else if cond == command.ExpireXX && c == command.ExpireLT {
					return errPlan("ERR XX and LT together are not supported by Cairn; use two commands")
				}
			}
			cond = c
		}
		now := nowMillis()
		at, ok := expireAt([]byte(name), n, now)
		if !ok {
			return errPlan("ERR invalid expire time in '" + name + "' command")
		}
		e := &command.ExpireRequest{Op: command.ExpireSet, Key: args[1], At: max(at, 1), Now: now, Cond: cond}
		return plan{ops: []command.TxnOp{{Expire: e}}, reply: func(c *conn, res []command.TxnOpResult) {
			c.w.Int(b2i(res[0].Expire.Done))
		}}
	}
}

func buildPersist(args [][]byte) plan {
	e := &command.ExpireRequest{Op: command.ExpirePersist, Key: args[1]}
	return plan{ops: []command.TxnOp{{Expire: e}}, reply: func(c *conn, res []command.TxnOpResult) {
		c.w.Int(b2i(res[0].Expire.Done))
	}}
}

// buildTTL answers TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing
// (or already expired) key, -1 for a key without expiry.
func buildTTL(millis, absolute bool) func(args [][]byte) plan {
	return func(args [][]byte) plan {
		return plan{ops: []command.TxnOp{pointRead(args[1])}, reply: func(c *conn, res []command.TxnOpResult) {
			kv := firstKV(res[0].Range)
			now := nowMillis()
			switch {
			case kv == nil || (kv.ExpireAt != 0 && kv.ExpireAt <= now):
				c.w.Int(-2)
				return
			case kv.ExpireAt == 0:
				c.w.Int(-1)
				return
			}
			v := kv.ExpireAt
			if !absolute {
				v -= now
			}
			if !millis {
				v = (v + 500) / 1000
			}
			c.w.Int(v)
		}}
	}
}
