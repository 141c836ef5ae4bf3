package httpapitest

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
)

// Doc implements httpapi.Service with the state machine's own evaluation
// of document writes (statemachine.EvalDoc).
func (s *Service) Doc(ctx context.Context, r *command.DocRequest) (*command.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("Doc"); err != nil {
		return nil, err
	}
	if err := validateKey(r.Key); err != nil {
		return nil, err
	}
	cur := s.getLocked(string(r.Key), s.rev)
	var typ command.ValueType
	var val []byte
	var lease int64
	if cur != nil {
		typ, val, lease = cur.Type, cur.Value, cur.Lease
	}
	res, text := statemachine.EvalDoc(cur != nil, typ, val, r)
	out := &command.Result{Revision: s.rev, Doc: res, Err: res.Err}
	if res.Err != "" {
		if res.Err == command.ErrCodeWrongType {
			return out, service.ErrWrongType
		}
		return out, fmt.Errorf("%w: %s", service.ErrDocument, res.Msg)
	}
	if !res.Written {
		return out, nil
	}
	s.rev++
	out.Revision = s.rev
	if text == nil {
		s.deleteLocked(&command.DeleteRequest{Key: r.Key}, s.rev)
		return out, nil
	}
	s.putLocked(&command.PutRequest{Key: r.Key, Value: text, Lease: lease}, s.rev)
	vs := s.history[string(r.Key)]
	vs[len(vs)-1].kv.Type = command.TypeDocument
	return out, nil
}
