// Package membership describes the members of a raft group: their IDs,
// names and addresses, as carried in conf change contexts and stored by the
// state machine.
package membership

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
)

// Member is one node of the cluster.
type Member struct {
	ID       uint64 `json:"id"`
	Name     string `json:"name"`
	PeerAddr string `json:"peer_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	RESPAddr string `json:"resp_addr,omitempty"`
	// Learner is the member's current raft role: a non-voting replica.
	Learner bool `json:"learner,omitempty"`
	// ReadOnly marks a node started with --learner: it stays a learner and
	// is never promoted to voter automatically.
	ReadOnly bool `json:"read_only,omitempty"`
}

// IDFromName derives a node's raft ID from its unique name. Every node
// computes the same ID for a name, so a static --initial-cluster needs no
// ID exchange. Never zero (raft reserves 0 for "none").
func IDFromName(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	id := h.Sum64()
	if id == 0 {
		id = 1
	}
	return id
}

// Encode returns the member as conf change context bytes.
func (m Member) Encode() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("membership: marshal member: %v", err)) // plain struct: cannot fail
	}
	return b
}

// Decode parses conf change context bytes.
func Decode(b []byte) (Member, error) {
	var m Member
	if err := json.Unmarshal(b, &m); err != nil {
		return Member{}, fmt.Errorf("membership: decode member: %w", err)
	}
	return m, nil
}

// IDString formats an ID the way every interface shows it (hex, as etcd).
func IDString(id uint64) string { return fmt.Sprintf("%x", id) }
