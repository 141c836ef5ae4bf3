package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Workload names the mix of operations a run issues.
type Workload string

// Workloads.
const (
	WorkloadPut   Workload = "put"   // every op writes one key
	WorkloadGet   Workload = "get"   // every op reads one key
	WorkloadMixed Workload = "mixed" // reads with probability ReadRatio, else writes
	WorkloadTxn   Workload = "txn"   // every op writes TxnKeys distinct keys atomically
	WorkloadCAS   Workload = "cas"   // every op reads a key's version, then writes it if unchanged
	// WorkloadDoc reads a path of a key's JSON document with probability
	// ReadRatio, else increments a number in it by path (OpDocGet,
	// OpDocIncr). The keys should be preloaded with documents (DocJSON).
	WorkloadDoc Workload = "doc"
	// WorkloadQuery runs a read-only Starlark query of one key with
	// probability ReadRatio, else a writing script that increments a
	// counter in the key's document (OpQuery, OpQueryTxn). The keys should
	// be preloaded with documents (DocJSON).
	WorkloadQuery Workload = "query"
)

// KeyDist names how keys are chosen.
type KeyDist string

// Key distributions.
const (
	DistUniform KeyDist = "uniform"
	// DistZipfian picks key rank k with probability proportional to
	// 1/(k+1)^s; ranks are mapped to keys by a fixed random permutation,
	// so the hot keys are spread over the key space.
	DistZipfian KeyDist = "zipfian"
)

// OpKind is the kind of one operation.
type OpKind uint8

// Operation kinds.
const (
	OpPut      OpKind = iota + 1 // write Key = Value
	OpGet                        // read Key
	OpTxn                        // write Value to every key of Keys, atomically
	OpCAS                        // read Key's version, then write Value if it did not change
	OpDocGet                     // read the path $.name of Key's document
	OpDocIncr                    // increment the number at $.n of Key's document by 1
	OpDocSet                     // replace Key, whatever it holds, with the document Value (preload)
	OpQuery                      // read-only script: Key's value (db.get)
	OpQueryTxn                   // writing script: increment Key's document's "n" by 1
)

func (k OpKind) String() string {
	switch k {
	case OpPut:
		return "put"
	case OpGet:
		return "get"
	case OpTxn:
		return "txn"
	case OpCAS:
		return "cas"
	case OpDocGet:
		return "doc-get"
	case OpDocIncr:
		return "doc-incr"
	case OpDocSet:
		return "doc-set"
	case OpQuery:
		return "query"
	case OpQueryTxn:
		return "query-txn"
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// Outcome is how a successful operation ended.
type Outcome uint8

// Outcomes.
const (
	OutcomeOK       Outcome = iota
	OutcomeMiss             // a read found no value
	OutcomeConflict         // a CAS lost: the key changed between read and write
)

// KeyLen is the length of every key: "key:" and ten digits.
const KeyLen = 14

// AppendKey appends the name of key i ("key:%010d", as redis-benchmark's
// key:__rand_int__) to dst without allocating when dst has room.
func AppendKey(dst []byte, i int) []byte {
	var d [10]byte
	for j := len(d) - 1; j >= 0; j-- {
		d[j] = byte('0' + i%10)
		i /= 10
	}
	dst = append(dst, "key:"...)
	return append(dst, d[:]...)
}

// valueAlphabet is what values are made of: printable and JSON-safe, so the
// HTTP driver can embed values in request bodies without escaping.
const valueAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// valueWindow is how many distinct values a generator can hand out: values
// are windows into a random buffer this much longer than a value.
const valueWindow = 4096

// generator fills ops for one client. Not safe for concurrent use.
type generator struct {
	workload  Workload
	readRatio float64
	txnKeys   int
	keys      int
	rng       *rand.Rand
	zipf      *rand.Zipf // nil for uniform
	perm      []int32    // zipfian rank -> key index; shared, read-only
	valueSize int
	values    []byte // random; a value is values[off:off+valueSize]
}

// newGenerator returns client's generator; perm is shared by all clients
// (nil for uniform).
func newGenerator(cfg *Config, client int, perm []int32) *generator {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(client)+1))
	g := &generator{
		workload: cfg.Workload, readRatio: cfg.ReadRatio, txnKeys: cfg.TxnKeys,
		keys: cfg.Keys, rng: rng, perm: perm, valueSize: cfg.ValueSize,
	}
	if cfg.KeyDist == DistZipfian {
		g.zipf = rand.NewZipf(rng, cfg.ZipfS, 1, uint64(cfg.Keys-1))
	}
	g.values = make([]byte, cfg.ValueSize+valueWindow)
	for i := range g.values {
		g.values[i] = valueAlphabet[rng.IntN(len(valueAlphabet))]
	}
	return g
}

// zipfPerm returns the rank-to-key permutation for n keys.
func zipfPerm(seed int64, n int) []int32 {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// key returns the index of the next key.
func (g *generator) key() int {
	if g.zipf == nil {
		return g.rng.IntN(g.keys)
	}
	return int(g.perm[g.zipf.Uint64()])
}

// value returns a random value of exactly valueSize bytes. It aliases the
// generator's buffer: drivers must not modify it.
func (g *generator) value() []byte {
	off := g.rng.IntN(valueWindow + 1)
	return g.values[off : off+g.valueSize]
}

// fill makes op the next operation.
func (g *generator) fill(op *Op) {
	op.reset()
	switch g.workload {
	case WorkloadPut:
		op.Kind = OpPut
	case WorkloadGet:
		op.Kind = OpGet
	case WorkloadMixed:
		op.Kind = OpPut
		if g.rng.Float64() < g.readRatio {
			op.Kind = OpGet
		}
	case WorkloadTxn:
		op.Kind = OpTxn
	case WorkloadCAS:
		op.Kind = OpCAS
	case WorkloadDoc:
		op.Kind = OpDocIncr
		if g.rng.Float64() < g.readRatio {
			op.Kind = OpDocGet
		}
	case WorkloadQuery:
		op.Kind = OpQueryTxn
		if g.rng.Float64() < g.readRatio {
			op.Kind = OpQuery
		}
	}
	n := 1
	if op.Kind == OpTxn {
		n = g.txnKeys
	}
	for tries := 0; len(op.Keys) < n; tries++ {
		k := g.key()
		if tries > 64 { // a skewed distribution keeps drawing the same few keys
			k = g.rng.IntN(g.keys)
		}
		if !op.hasKey(k) { // a txn writes distinct keys
			op.addKey(k)
		}
	}
	if op.Kind == OpPut || op.Kind == OpTxn || op.Kind == OpCAS {
		op.Value = g.value()
	}
}

// fillPreload makes op the preload write of key k: a put of a random
// value, or for the document workloads (doc, query) the document of
// DocJSON.
func (g *generator) fillPreload(op *Op, k int) {
	op.reset()
	op.addKey(k)
	if g.workload == WorkloadDoc || g.workload == WorkloadQuery {
		op.Kind = OpDocSet
		op.buf = DocJSON(op.buf[:0], k, g.value())
		op.Value = op.buf
		return
	}
	op.Kind = OpPut
	op.Value = g.value()
}

// DocJSON appends the document that the doc and query workloads preload
// into key i: {"n":0,"name":"user-<i>","tags":[],"pad":"<pad>"}. n is the
// counter that writes increment, name what doc reads select; pad (random
// letters and digits, --value-size of them) sets the document's size.
func DocJSON(dst []byte, i int, pad []byte) []byte {
	dst = append(dst, `{"n":0,"name":"user-`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `","tags":[],"pad":"`...)
	dst = append(dst, pad...)
	return append(dst, `"}`...)
}

// appendScript appends the Starlark script of a query op to dst: for
// OpQuery db.get('<key>'), the key's value (None, so no value, when the
// key is missing); for OpQueryTxn db['<key>']['n'] += 1, a read-modify-write
// transaction on the counter of the key's document (DocJSON). Scripts
// need no escaping in JSON.
func appendScript(dst []byte, op *Op) []byte {
	if op.Kind == OpQueryTxn {
		dst = append(dst, "db['"...)
		dst = append(dst, op.Key()...)
		return append(dst, "']['n'] += 1"...)
	}
	dst = append(dst, "db.get('"...)
	dst = append(dst, op.Key()...)
	return append(dst, "')"...)
}
