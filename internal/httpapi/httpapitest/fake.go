// Package httpapitest provides Service, an in-memory implementation of
// httpapi.Service for tests of the HTTP API, the client and the CLI.
package httpapitest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/service"
)

// Service is a versioned in-memory map with revisions, compaction and a
// member list, behaving like the real service as far as the API can see
// (same sentinel errors, same limits). Safe for concurrent use.
type Service struct {
	// mu guards everything below.
	mu        sync.Mutex
	rev       int64
	compacted int64
	history   map[string][]version // versions of each key, oldest first
	members   []membership.Member
	self      uint64
	leader    uint64
	hook      func(method string) error
}

// version is one write of a key; deleted marks a tombstone.
type version struct {
	kv      command.KeyValue
	deleted bool
}

// NewService returns a one-member cluster ("n1", the leader) with an empty
// keyspace at revision 0.
func NewService() *Service {
	m := membership.Member{ID: membership.IDFromName("n1"), Name: "n1",
		PeerAddr: "127.0.0.1:7380", HTTPAddr: "127.0.0.1:7379"}
	return &Service{history: make(map[string][]version), members: []membership.Member{m},
		self: m.ID, leader: m.ID}
}

// SetHook installs f, called with the method name ("Put", "Range", ...) at
// the start of every call; a non-nil error is returned without doing the
// operation. Nil removes the hook.
func (s *Service) SetHook(f func(method string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Compact discards history before rev (reads below it fail with
// service.ErrCompacted).
func (s *Service) Compact(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compacted = rev
}

// Revision returns the current revision.
func (s *Service) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// beginLocked runs the hook. REQUIRES: s.mu.
func (s *Service) beginLocked(method string) error {
	if s.hook != nil {
		return s.hook(method)
	}
	return nil
}

func validateKey(k []byte) error {
	switch {
	case len(k) == 0:
		return fmt.Errorf("fake: %w", service.ErrKeyEmpty)
	case len(k) > service.MaxKeySize:
		return fmt.Errorf("fake: %d bytes: %w", len(k), service.ErrKeyTooLarge)
	}
	return nil
}

func validatePut(r *command.PutRequest) error {
	if err := validateKey(r.Key); err != nil {
		return err
	}
	if len(r.Value) > service.MaxValueSize {
		return fmt.Errorf("fake: %d bytes: %w", len(r.Value), service.ErrValueTooLarge)
	}
	return nil
}

func validateRange(r *command.RangeRequest) error {
	if err := validateKey(r.Key); err != nil {
		return err
	}
	if r.Limit < 0 || r.Limit > service.MaxScanLimit {
		return fmt.Errorf("fake: limit %d: %w", r.Limit, service.ErrInvalid)
	}
	return nil
}

// Put implements httpapi.Service.
func (s *Service) Put(ctx context.Context, r *command.PutRequest) (*command.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Put"); err != nil {
		return nil, err
	}
	if err := validatePut(r); err != nil {
		return nil, err
	}
	s.rev++
	return &command.Result{Revision: s.rev, Put: s.putLocked(r, s.rev)}, nil
}

// Delete implements httpapi.Service.
func (s *Service) Delete(ctx context.Context, r *command.DeleteRequest) (*command.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Delete"); err != nil {
		return nil, err
	}
	if err := validateKey(r.Key); err != nil {
		return nil, err
	}
	res := s.deleteLocked(r, s.rev+1)
	if res.Deleted > 0 {
		s.rev++
	}
	return &command.Result{Revision: s.rev, Delete: res}, nil
}

// Range implements httpapi.Service. A MinRevision above the current
// revision fails with service.ErrTimeout (the real service would wait).
func (s *Service) Range(ctx context.Context, r *command.RangeRequest, o service.ReadOptions) (*command.RangeResult, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Range"); err != nil {
		return nil, s.rev, err
	}
	if err := validateRange(r); err != nil {
		return nil, s.rev, err
	}
	if o.MinRevision > s.rev {
		return nil, s.rev, fmt.Errorf("fake: waiting for revision %d: %w", o.MinRevision, service.ErrTimeout)
	}
	rev := r.Revision
	switch {
	case rev > s.rev:
		return nil, s.rev, fmt.Errorf("fake: revision %d > %d: %w", rev, s.rev, service.ErrFutureRevision)
	case rev > 0 && rev < s.compacted:
		return nil, s.rev, fmt.Errorf("fake: revision %d < %d: %w", rev, s.compacted, service.ErrCompacted)
	case rev == 0:
		rev = s.rev
	}
	return s.rangeLocked(r, rev), s.rev, nil
}

// Txn implements httpapi.Service. The whole txn is one revision; ranges see
// the txn's own earlier writes.
func (s *Service) Txn(ctx context.Context, r *command.TxnRequest) (*command.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Txn"); err != nil {
		return nil, err
	}
	if len(r.Compares) > service.MaxTxnOps || len(r.Success) > service.MaxTxnOps || len(r.Failure) > service.MaxTxnOps {
		return nil, fmt.Errorf("fake: too many txn ops: %w", service.ErrInvalid)
	}
	for _, c := range r.Compares {
		if err := validateKey(c.Key); err != nil {
			return nil, err
		}
		if c.Target == command.CompareUnchangedSince && !command.ValidCompare(&c) {
			return nil, fmt.Errorf("fake: bad compare: %w", service.ErrInvalid)
		}
	}
	for _, branch := range [][]command.TxnOp{r.Success, r.Failure} {
		if err := validateBranch(branch); err != nil {
			return nil, err
		}
	}
	ok := true
	for _, c := range r.Compares {
		ok = ok && s.compareLocked(c)
	}
	ops := r.Failure
	if ok {
		ops = r.Success
	}
	wrev, wrote := s.rev+1, false
	res := &command.TxnResult{Succeeded: ok}
	for _, op := range ops {
		var or command.TxnOpResult
		switch {
		case op.Put != nil:
			or.Put, wrote = s.putLocked(op.Put, wrev), true
		case op.Delete != nil:
			or.Delete = s.deleteLocked(op.Delete, wrev)
			wrote = wrote || or.Delete.Deleted > 0
		case op.Range != nil:
			or.Range = s.rangeLocked(op.Range, wrev)
		}
		res.Results = append(res.Results, or)
	}
	if wrote {
		s.rev = wrev
	}
	return &command.Result{Revision: s.rev, Txn: res}, nil
}

func validateBranch(ops []command.TxnOp) error {
	written := make(map[string]bool)
	for _, op := range ops {
		var key []byte
		switch {
		case op.Put != nil:
			if err := validatePut(op.Put); err != nil {
				return err
			}
			key = op.Put.Key
		case op.Delete != nil:
			if err := validateKey(op.Delete.Key); err != nil {
				return err
			}
			key = op.Delete.Key
		case op.Range != nil:
			if err := validateRange(op.Range); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("fake: empty txn op: %w", service.ErrInvalid)
		}
		if written[string(key)] {
			return fmt.Errorf("fake: key %q: %w", key, service.ErrDuplicateKey)
		}
		written[string(key)] = true
	}
	return nil
}

// getLocked returns the live version of key at rev, or nil. REQUIRES: s.mu.
func (s *Service) getLocked(key string, rev int64) *command.KeyValue {
	vs := s.history[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].kv.ModRevision <= rev {
			if vs[i].deleted {
				return nil
			}
			kv := vs[i].kv
			return &kv
		}
	}
	return nil
}

// putLocked writes at rev. REQUIRES: s.mu.
func (s *Service) putLocked(r *command.PutRequest, rev int64) *command.PutResult {
	prev := s.getLocked(string(r.Key), rev)
	kv := command.KeyValue{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value),
		CreateRevision: rev, ModRevision: rev, Version: 1, Lease: r.Lease, Type: r.Type}
	if prev != nil {
		kv.CreateRevision, kv.Version = prev.CreateRevision, prev.Version+1
	}
	s.history[string(r.Key)] = append(s.history[string(r.Key)], version{kv: kv})
	res := &command.PutResult{}
	if r.PrevKV {
		res.PrevKV = prev
	}
	return res
}

// deleteLocked writes tombstones at rev. REQUIRES: s.mu.
func (s *Service) deleteLocked(r *command.DeleteRequest, rev int64) *command.DeleteResult {
	res := &command.DeleteResult{}
	for _, kv := range s.matchLocked(r.Key, r.End, rev) {
		s.history[string(kv.Key)] = append(s.history[string(kv.Key)],
			version{kv: command.KeyValue{Key: kv.Key, ModRevision: rev}, deleted: true})
		res.Deleted++
		if r.PrevKV {
			res.PrevKVs = append(res.PrevKVs, kv)
		}
	}
	return res
}

// rangeLocked reads at rev. REQUIRES: s.mu.
func (s *Service) rangeLocked(r *command.RangeRequest, rev int64) *command.RangeResult {
	kvs := s.matchLocked(r.Key, r.End, rev)
	res := &command.RangeResult{Count: int64(len(kvs))}
	if r.CountOnly {
		return res
	}
	if r.Limit > 0 && int64(len(kvs)) > r.Limit {
		kvs, res.More = kvs[:r.Limit], true
	}
	for _, kv := range kvs {
		if r.KeysOnly {
			kv.Value = nil
		}
		res.KVs = append(res.KVs, kv)
	}
	return res
}

// matchLocked returns the live versions in [key, end) at rev, sorted by key
// (end nil: key alone; end "\x00": every key >= key). REQUIRES: s.mu.
func (s *Service) matchLocked(key, end []byte, rev int64) []*command.KeyValue {
	var keys []string
	for k := range s.history {
		kb := []byte(k)
		switch {
		case len(end) == 0:
			if !bytes.Equal(kb, key) {
				continue
			}
		case bytes.Equal(end, []byte{0}):
			if bytes.Compare(kb, key) < 0 {
				continue
			}
		default:
			if bytes.Compare(kb, key) < 0 || bytes.Compare(kb, end) >= 0 {
				continue
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*command.KeyValue
	for _, k := range keys {
		if kv := s.getLocked(k, rev); kv != nil {
			out = append(out, kv)
		}
	}
	return out
}

// compareLocked evaluates c at the current revision. REQUIRES: s.mu.
func (s *Service) compareLocked(c command.Compare) bool {
	if c.Target == command.CompareUnchangedSince {
		if c.Int < s.compacted || c.Int > s.rev {
			return false
		}
		for k, vs := range s.history {
			if command.InSpan([]byte(k), c.Key, c.Value) && len(vs) > 0 && vs[len(vs)-1].kv.ModRevision > c.Int {
				return false
			}
		}
		return true
	}
	kv := s.getLocked(string(c.Key), s.rev)
	if kv == nil {
		kv = &command.KeyValue{}
	}
	var cmp int
	switch c.Target {
	case command.CompareValue:
		cmp = bytes.Compare(kv.Value, c.Value)
	case command.CompareVersion:
		cmp = compareInt(kv.Version, c.Int)
	case command.CompareCreateRevision:
		cmp = compareInt(kv.CreateRevision, c.Int)
	case command.CompareModRevision:
		cmp = compareInt(kv.ModRevision, c.Int)
	case command.CompareExists:
		exists := int64(0)
		if kv.Version > 0 {
			exists = 1
		}
		cmp = compareInt(exists, c.Int)
	}
	switch c.Result {
	case command.CompareEqual:
		return cmp == 0
	case command.CompareNotEqual:
		return cmp != 0
	case command.CompareLess:
		return cmp < 0
	case command.CompareGreater:
		return cmp > 0
	}
	return false
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Members implements httpapi.Service.
func (s *Service) Members(ctx context.Context) ([]membership.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Members"); err != nil {
		return nil, err
	}
	return slices.Clone(s.members), nil
}

// Join implements httpapi.Service: m joins as a learner (read-only if
// m.Learner was set); the fake never promotes automatically.
func (s *Service) Join(ctx context.Context, m membership.Member) ([]membership.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Join"); err != nil {
		return nil, err
	}
	if m.Name == "" || m.PeerAddr == "" {
		return nil, fmt.Errorf("fake: join needs a name and a peer address: %w", service.ErrInvalid)
	}
	if m.ID == 0 {
		m.ID = membership.IDFromName(m.Name)
	}
	for _, x := range s.members {
		if x.ID == m.ID && x.PeerAddr == m.PeerAddr { // a retried join: no-op
			return slices.Clone(s.members), nil
		}
		if x.ID == m.ID || x.Name == m.Name || x.PeerAddr == m.PeerAddr {
			return nil, fmt.Errorf("fake: %s: %w", m.Name, service.ErrMemberExists)
		}
	}
	m.ReadOnly = m.ReadOnly || m.Learner // as the real service: join's learner asks for read-only
	m.Learner = true
	s.members = append(s.members, m)
	return slices.Clone(s.members), nil
}

// indexLocked finds a member. REQUIRES: s.mu.
func (s *Service) indexLocked(id uint64) (int, error) {
	for i, m := range s.members {
		if m.ID == id {
			return i, nil
		}
	}
	return -1, fmt.Errorf("fake: %s: %w", membership.IDString(id), service.ErrMemberNotFound)
}

// Remove implements httpapi.Service.
func (s *Service) Remove(ctx context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Remove"); err != nil {
		return err
	}
	i, err := s.indexLocked(id)
	if err != nil {
		return err
	}
	s.members = slices.Delete(s.members, i, i+1)
	return nil
}

// Promote implements httpapi.Service.
func (s *Service) Promote(ctx context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Promote"); err != nil {
		return err
	}
	i, err := s.indexLocked(id)
	if err != nil {
		return err
	}
	if !s.members[i].Learner {
		return fmt.Errorf("fake: %s: %w", membership.IDString(id), service.ErrNotLearner)
	}
	s.members[i].Learner = false
	return nil
}

// TransferLeader implements httpapi.Service.
func (s *Service) TransferLeader(ctx context.Context, to uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("TransferLeader"); err != nil {
		return err
	}
	i, err := s.indexLocked(to)
	if err != nil {
		return err
	}
	if s.members[i].Learner {
		return fmt.Errorf("fake: a learner cannot lead: %w", service.ErrInvalid)
	}
	s.leader = to
	return nil
}

// Status implements httpapi.Service.
func (s *Service) Status(ctx context.Context) (service.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Status"); err != nil {
		return service.Status{}, err
	}
	st := service.Status{ID: s.self, Role: "follower", Leader: s.leader, Term: 1,
		CommitIndex: uint64(s.rev) + 1, AppliedIndex: uint64(s.rev) + 1,
		Revision: s.rev, Compacted: s.compacted, Members: slices.Clone(s.members)}
	if s.self == s.leader {
		st.Role = "leader"
	}
	if i, err := s.indexLocked(s.self); err == nil {
		st.Name = s.members[i].Name
	}
	return st, nil
}

// Ready implements httpapi.Service: always ready unless the hook says not.
func (s *Service) Ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginLocked("Ready")
}
