package query

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cairndb/cairn/internal/command"
)

// memStore is an in-memory MVCC Store for tests: every version of every
// key, a revision counter and txns with compares, like the state machine.
type memStore struct {
	mu       sync.Mutex
	rev      int64
	versions map[string][]command.KeyValue // ascending ModRevision; Version 0 = tombstone
	commits  int
	conflict int
	// beforeCommit, when set, runs before each commit (outside mu).
	beforeCommit func()
}

func newMemStore() *memStore { return &memStore{versions: map[string][]command.KeyValue{}} }

func (m *memStore) ReadRevision(ctx context.Context, stale bool) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

func (m *memStore) at(key string, rev int64) *command.KeyValue {
	vs := m.versions[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].ModRevision <= rev {
			if vs[i].Version == 0 {
				return nil
			}
			kv := vs[i]
			kv.Value = bytes.Clone(kv.Value)
			return &kv
		}
	}
	return nil
}

func (m *memStore) Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev > m.rev {
		return nil, fmt.Errorf("future revision %d", rev)
	}
	return m.at(string(key), rev), nil
}

func (m *memStore) Keys(ctx context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.versions {
		if k >= string(start) && (end == nil || k < string(end)) && m.at(k, rev) != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	out := make([]*command.KeyValue, len(keys))
	for i, k := range keys {
		out[i] = m.at(k, rev)
		out[i].Value = nil
	}
	return out, more, nil
}

func (m *memStore) Commit(ctx context.Context, t *command.TxnRequest) (*command.Result, error) {
	if m.beforeCommit != nil {
		m.beforeCommit()
	}
	return m.commit(t)
}

func (m *memStore) commit(t *command.TxnRequest) (*command.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range t.Compares {
		if c.Target == command.CompareUnchangedSince {
			if !command.ValidCompare(&c) {
				return nil, fmt.Errorf("memStore: invalid compare %+v", c)
			}
			if m.changedSince(c.Key, c.Value, c.Int) {
				m.conflict++
				return &command.Result{Revision: m.rev, Txn: &command.TxnResult{}}, nil
			}
			continue
		}
		kv := m.at(string(c.Key), m.rev)
		var got int64
		if kv != nil {
			switch c.Target {
			case command.CompareModRevision:
				got = kv.ModRevision
			case command.CompareCreateRevision:
				got = kv.CreateRevision
			default:
				return nil, fmt.Errorf("memStore: compare target %d", c.Target)
			}
		}
		if c.Result != command.CompareEqual {
			return nil, fmt.Errorf("memStore: compare result %d", c.Result)
		}
		if got != c.Int {
			m.conflict++
			return &command.Result{Revision: m.rev, Txn: &command.TxnResult{}}, nil
		}
	}
	m.rev++
	m.commits++
	for _, op := range t.Success {
		switch {
		case op.Put != nil:
			k := string(op.Put.Key)
			kv := command.KeyValue{Key: op.Put.Key, Value: op.Put.Value, Type: op.Put.Type, CreateRevision: m.rev, ModRevision: m.rev, Version: 1}
			if old := m.at(k, m.rev); old != nil {
				kv.CreateRevision, kv.Version = old.CreateRevision, old.Version+1
			}
			m.versions[k] = append(m.versions[k], kv)
		case op.Delete != nil:
			k := string(op.Delete.Key)
			m.versions[k] = append(m.versions[k], command.KeyValue{Key: op.Delete.Key, ModRevision: m.rev})
		}
	}
	return &command.Result{Revision: m.rev, Txn: &command.TxnResult{Succeeded: true}}, nil
}

// put writes a value directly, as another client would.
func (m *memStore) put(key, value string, typ command.ValueType) {
	_, err := m.commit(&command.TxnRequest{Success: []command.TxnOp{{Put: &command.PutRequest{Key: []byte(key), Value: []byte(value), Type: typ}}}})
	if err != nil {
		panic(err)
	}
}

func delTxn(key string) *command.TxnRequest {
	return &command.TxnRequest{Success: []command.TxnOp{{Delete: &command.DeleteRequest{Key: []byte(key)}}}}
}

// changedSince reports whether a key of the span key, end was written
// after rev (or rev is in the future), as the state machine evaluates
// command.CompareUnchangedSince. REQUIRES: m.mu.
func (m *memStore) changedSince(key, end []byte, rev int64) bool {
	if rev > m.rev {
		return true
	}
	for k, vs := range m.versions {
		if command.InSpan([]byte(k), key, end) && len(vs) > 0 && vs[len(vs)-1].ModRevision > rev {
			return true
		}
	}
	return false
}
