package respserver

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// fakeService is a Service over a real state machine on an in-memory
// filesystem, without raft: each write is applied at once as one entry.
// It has the state machine's exact semantics; err injects a failure into
// every call and status is what Status returns.
type fakeService struct {
	mu     sync.Mutex // serializes Apply, guards the fields below
	sm     *statemachine.StateMachine
	index  uint64
	nextID uint64
	last   *command.Result
	err    error
	status service.Status

	barriers atomic.Int64 // ReadBarrier calls
}

func newFakeService(t testing.TB) *fakeService {
	t.Helper()
	db, err := storage.Open("data", storage.Options{FS: vfs.NewMem(), CacheSize: 1 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeService{status: service.Status{ID: 1, Name: "n1", Role: "leader", Leader: 1, Term: 2}}
	f.sm, err = statemachine.Open(db, 1, statemachine.Options{OnResult: func(r *command.Result) { f.last = r }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.sm.Close()
		db.Close()
	})
	return f
}

func (f *fakeService) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeService) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fakeService) propose(req *command.Request) (*command.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.index++
	f.nextID++
	req.ID = f.nextID
	f.last = nil
	ent := raftnode.Entry{Index: f.index, Term: 1, Proposals: [][]byte{command.EncodeRequest(nil, req)}}
	if err := f.sm.Apply([]raftnode.Entry{ent}); err != nil {
		return nil, err
	}
	r := f.last
	if r == nil {
		return nil, service.ErrInvalid
	}
	return r, codeErr(r.Err)
}

// codeErr maps result codes as the service does.
func codeErr(code string) error {
	switch code {
	case "":
		return nil
	case command.ErrCodeNotInteger:
		return service.ErrNotInteger
	case command.ErrCodeNotFloat:
		return service.ErrNotFloat
	case command.ErrCodeOverflow:
		return service.ErrOverflow
	case command.ErrCodeNaNOrInf:
		return service.ErrNaNOrInf
	case command.ErrCodeTooLarge:
		return service.ErrValueTooLarge
	case command.ErrCodeNoSuchKey:
		return service.ErrNoSuchKey
	case command.ErrCodeDuplicateKey:
		return service.ErrDuplicateKey
	}
	return fmt.Errorf("%w: %s", service.ErrInvalid, code)
}

func checkValue(v []byte) error {
	if len(v) > service.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", service.ErrValueTooLarge, len(v), service.MaxValueSize)
	}
	return nil
}

func (f *fakeService) Put(_ context.Context, r *command.PutRequest) (*command.Result, error) {
	if err := checkValue(r.Value); err != nil {
		return nil, err
	}
	return f.propose(&command.Request{Put: r})
}

func (f *fakeService) Delete(_ context.Context, r *command.DeleteRequest) (*command.Result, error) {
	return f.propose(&command.Request{Delete: r})
}

func (f *fakeService) Txn(_ context.Context, r *command.TxnRequest) (*command.Result, error) {
	if len(r.Success) > service.MaxTxnOps {
		return nil, fmt.Errorf("%w: more than %d compares or ops", service.ErrInvalid, service.MaxTxnOps)
	}
	for _, op := range r.Success {
		if op.Mutate != nil {
			if err := checkValue(op.Mutate.Value); err != nil {
				return nil, err
			}
		}
	}
	return f.propose(&command.Request{Txn: r})
}

func (f *fakeService) Mutate(_ context.Context, r *command.MutateRequest) (*command.Result, error) {
	if err := checkValue(r.Value); err != nil {
		return nil, err
	}
	return f.propose(&command.Request{Mutate: r})
}

func (f *fakeService) Get(_ context.Context, key []byte, _ service.ReadOptions) (*command.KeyValue, int64, error) {
	if err := f.failure(); err != nil {
		return nil, 0, err
	}
	return f.sm.Get(key, 0)
}

func (f *fakeService) GetMany(_ context.Context, keys [][]byte, _ service.ReadOptions) ([]*command.KeyValue, int64, error) {
	if err := f.failure(); err != nil {
		return nil, 0, err
	}
	return f.sm.GetMany(keys)
}

func (f *fakeService) Range(_ context.Context, r *command.RangeRequest, _ service.ReadOptions) (*command.RangeResult, int64, error) {
	if err := f.failure(); err != nil {
		return nil, 0, err
	}
	if (r.Limit == 0 || r.Limit > service.MaxScanLimit) && len(r.End) > 0 && !r.CountOnly {
		r.Limit = service.MaxScanLimit
	}
	return f.sm.Range(r)
}

func (f *fakeService) Status(context.Context) (service.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return service.Status{}, f.err
	}
	st := f.status
	st.Revision = f.sm.Revision()
	st.AppliedIndex = f.index
	st.CommitIndex = f.index
	return st, nil
}

// ProposeAsync applies req at once, as propose does, and returns a Pending
// that already holds the result.
func (f *fakeService) ProposeAsync(ctx context.Context, req *command.Request) (*service.Pending, error) {
	var r *command.Result
	var err error
	switch {
	case req.Put != nil:
		r, err = f.Put(ctx, req.Put)
	case req.Delete != nil:
		r, err = f.Delete(ctx, req.Delete)
	case req.Txn != nil:
		r, err = f.Txn(ctx, req.Txn)
	case req.Mutate != nil:
		r, err = f.Mutate(ctx, req.Mutate)
	default:
		err = service.ErrInvalid
	}
	if r == nil {
		return nil, err
	}
	ch := make(chan *command.Result, 1)
	ch <- r
	return service.NewPending(ctx, ch), nil
}

func (f *fakeService) ReadBarrier(context.Context, service.ReadOptions) error {
	f.barriers.Add(1)
	return f.failure()
}
