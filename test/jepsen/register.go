package jepsen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// regInput is one register operation: get, put or cas (old -> val).
type regInput struct {
	Op  string `json:"op"`
	Key string `json:"key"`
	Val string `json:"val,omitempty"`
	Old string `json:"old,omitempty"`
}

// regOutput is its outcome. A missing key reads as "".
type regOutput struct {
	Val     string `json:"val,omitempty"`
	OK      bool   `json:"ok,omitempty"`      // cas succeeded
	Unknown bool   `json:"unknown,omitempty"` // write with unknown outcome
	Node    string `json:"node"`
}

// registerModel is a map of independent registers, partitioned by key, so
// each key's history is checked on its own with a string as the state.
var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(regInput), output.(regOutput)
		switch in.Op {
		case "get":
			return out.Val == s, s
		case "put":
			return true, in.Val
		case "cas":
			switch {
			case out.Unknown: // if it took effect, the compare decided
				if s == in.Old {
					return true, in.Val
				}
				return true, s
			case out.OK:
				return s == in.Old, in.Val
			default:
				return s != in.Old, s
			}
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		res := ""
		switch {
		case out.Unknown:
			res = "?"
		case in.Op == "get":
			res = fmt.Sprintf("%q", out.Val)
		case in.Op == "cas":
			res = fmt.Sprint(out.OK)
		default:
			res = "ok"
		}
		switch in.Op {
		case "get":
			return fmt.Sprintf("get(%s) -> %s @%s", in.Key, res, out.Node)
		case "put":
			return fmt.Sprintf("put(%s, %q) -> %s @%s", in.Key, in.Val, res, out.Node)
		default:
			return fmt.Sprintf("cas(%s, %q -> %q) -> %s @%s", in.Key, in.Old, in.Val, res, out.Node)
		}
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}

// RegisterClient is one client session of the register workload: HTTP
// (httpRegister) or RESP (respRegister: GET, SET and WATCH+MULTI/EXEC
// against Node.RESP). Errors must be *OpError so that Definite can tell
// "no effect" from "unknown". A client that is an io.Closer is closed when
// its worker ends.
type RegisterClient interface {
	Get(ctx context.Context, n *Node, key string) (val string, found bool, err error)
	Put(ctx context.Context, n *Node, key, val string) error
	CAS(ctx context.Context, n *Node, key, old, val string) (bool, error)
}

// httpRegister drives the registers through the HTTP API.
type httpRegister struct{ kv *KV }

// NewHTTPRegister returns an HTTP register client with a request timeout.
func NewHTTPRegister(timeout time.Duration) RegisterClient { return httpRegister{NewKV(timeout)} }

func (h httpRegister) Get(ctx context.Context, n *Node, key string) (string, bool, error) {
	v, found, _, err := h.kv.Get(ctx, n.HTTP, key, false)
	return v, found, err
}

func (h httpRegister) Put(ctx context.Context, n *Node, key, val string) error {
	_, err := h.kv.Put(ctx, n.HTTP, key, val)
	return err
}

func (h httpRegister) CAS(ctx context.Context, n *Node, key, old, val string) (bool, error) {
	ok, _, err := h.kv.CAS(ctx, n.HTTP, key, old, val)
	return ok, err
}

// RegisterWorkload runs clients that get, put and cas a few keys. Keys
// rotate every KeyPeriod so each key's history stays small enough to check
// quickly even with many indeterminate writes.
type RegisterWorkload struct {
	Clients   int
	Keys      int
	KeyPeriod time.Duration
	Timeout   time.Duration // per request
	// NewClient makes the client of worker id (default: HTTP for all;
	// MixedRegisterClients alternates HTTP and RESP).
	NewClient func(id int, timeout time.Duration) RegisterClient
}

// Run drives the workload until ctx ends. rng seeds each client.
func (w RegisterWorkload) Run(ctx context.Context, c *Cluster, rec *Recorder, seed uint64) Stats {
	var st statsCollector
	done := make(chan struct{})
	for i := range w.Clients {
		go func() {
			defer func() { done <- struct{}{} }()
			w.client(ctx, c, rec, rand.New(rand.NewPCG(seed, uint64(i)+1)), i, &st)
		}()
	}
	for range w.Clients {
		<-done
	}
	return st.get()
}

func (w RegisterWorkload) client(ctx context.Context, c *Cluster, rec *Recorder, rng *rand.Rand, id int, st *statsCollector) {
	cl := NewHTTPRegister(w.Timeout)
	if w.NewClient != nil {
		cl = w.NewClient(id, w.Timeout)
	}
	if c, ok := cl.(io.Closer); ok {
		defer c.Close()
	}
	proto := protoName(cl)
	proc := rec.NewProcess()
	last := map[string]string{} // last value this client saw per key
	start := time.Now()
	for n := 0; ctx.Err() == nil; n++ {
		members := c.Members()
		node := members[rng.IntN(len(members))]
		key := fmt.Sprintf("reg/%d-%d", time.Since(start)/w.KeyPeriod, rng.IntN(w.Keys))
		val := fmt.Sprintf("c%d-%d", id, n)
		in := regInput{Key: key}
		switch p := rng.IntN(100); {
		case p < 50:
			in.Op = "get"
		case p < 75:
			in.Op, in.Val = "put", val
		default:
			in.Op, in.Val, in.Old = "cas", val, last[key]
		}
		out := regOutput{Node: node.Name + "/" + proto}
		rctx, cancel := context.WithTimeout(context.Background(), w.Timeout)
		call := rec.Now()
		var err error
		switch in.Op {
		case "get":
			var found bool
			out.Val, found, err = cl.Get(rctx, node, key)
			if err == nil && found {
				last[key] = out.Val
			}
		case "put":
			err = cl.Put(rctx, node, key, in.Val)
		case "cas":
			out.OK, err = cl.CAS(rctx, node, key, in.Old, in.Val)
		}
		ret := rec.Now()
		cancel()
		switch {
		case err == nil:
			st.ok()
			if in.Op != "get" && (in.Op == "put" || out.OK) {
				last[key] = in.Val
			}
		case in.Op == "get" || Definite(err):
			st.fail() // no effect: leave it out of the history
			continue
		default:
			st.info()
			out.Unknown, ret = true, pending
		}
		rec.Add(porcupine.Operation{ClientId: proc, Input: in, Call: call, Output: out, Return: ret})
		if out.Unknown {
			proc = rec.NewProcess()
		}
	}
}

// CheckRegister checks the recorded history for linearizability. On a
// violation it writes the history (JSON) and porcupine's visualization
// (HTML) to outDir and returns an error naming them.
func CheckRegister(rec *Recorder, outDir, name string, timeout time.Duration) (porcupine.CheckResult, error) {
	ops := rec.Operations()
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, timeout)
	if res == porcupine.Ok {
		return res, nil
	}
	info.AddAnnotations(rec.Annotations())
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return res, err
	}
	html := filepath.Join(outDir, name+".html")
	hist := filepath.Join(outDir, name+"-history.json")
	if err := porcupine.VisualizePath(registerModel, info, html); err != nil {
		return res, fmt.Errorf("visualize: %w", err)
	}
	b, _ := json.MarshalIndent(ops, "", " ")
	if err := os.WriteFile(hist, b, 0o644); err != nil {
		return res, err
	}
	return res, fmt.Errorf("register history is %s (%d ops): visualization %s, history %s", res, len(ops), html, hist)
}
