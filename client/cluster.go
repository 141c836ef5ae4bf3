package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// MemberID is a member's 64-bit ID. It prints, and travels in JSON, as hex.
type MemberID uint64

func (id MemberID) String() string { return strconv.FormatUint(uint64(id), 16) }

// MarshalJSON encodes the ID as a hex string.
func (id MemberID) MarshalJSON() ([]byte, error) { return json.Marshal(id.String()) }

// UnmarshalJSON decodes a hex string.
func (id *MemberID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cairn: member ID: %w", err)
	}
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return fmt.Errorf("cairn: member ID %q: %w", s, err)
	}
	*id = MemberID(n)
	return nil
}

// Member is one node of the cluster.
type Member struct {
	ID       MemberID `json:"id"`
	Name     string   `json:"name"`
	PeerAddr string   `json:"peer_addr"`
	HTTPAddr string   `json:"http_addr,omitempty"`
	RESPAddr string   `json:"resp_addr,omitempty"`
	Learner  bool     `json:"learner"`
	// ReadOnly marks a learner that is never promoted automatically (it
	// joined with Learner set).
	ReadOnly bool `json:"read_only,omitempty"`
}

// MemberListResponse is the result of MemberList.
type MemberListResponse struct {
	Members []Member `json:"members"`
	// Leader is the leader as the answering node sees it; 0 if unknown.
	Leader MemberID `json:"leader,omitempty"`
}

// MemberAddResponse is the result of MemberAdd.
type MemberAddResponse struct {
	Member  *Member  `json:"member,omitempty"` // the new member
	Members []Member `json:"members"`
}

// StatusResponse describes one node.
type StatusResponse struct {
	ID              MemberID `json:"id"`
	Name            string   `json:"name"`
	Role            string   `json:"role"` // leader, follower, candidate, pre-candidate, learner
	Leader          MemberID `json:"leader,omitempty"`
	Term            uint64   `json:"term"`
	CommitIndex     uint64   `json:"commit_index"`
	AppliedIndex    uint64   `json:"applied_index"`
	Revision        int64    `json:"revision"`
	CompactRevision int64    `json:"compact_revision"`
	Members         []Member `json:"members"`
}

// MemberList lists the members.
func (c *Client) MemberList(ctx context.Context) (*MemberListResponse, error) {
	var resp MemberListResponse
	if err := c.do(ctx, call{method: "GET", path: "/v1/cluster/members", out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return &resp, nil
}

// MemberAdd adds m (Name and PeerAddr required; ID is derived from the
// name) as a learner, which the cluster promotes once it has caught up
// unless m.Learner is set (then it stays a read-only learner).
func (c *Client) MemberAdd(ctx context.Context, m Member) (*MemberAddResponse, error) {
	body := struct {
		Name     string `json:"name"`
		PeerAddr string `json:"peer_addr"`
		HTTPAddr string `json:"http_addr,omitempty"`
		RESPAddr string `json:"resp_addr,omitempty"`
		Learner  bool   `json:"learner,omitempty"`
	}{m.Name, m.PeerAddr, m.HTTPAddr, m.RESPAddr, m.Learner}
	var resp MemberAddResponse
	if err := c.do(ctx, call{method: "POST", path: "/v1/cluster/members", body: body, out: &resp}); err != nil {
		return nil, err
	}
	return &resp, nil
}

type idResponse struct {
	ID MemberID `json:"id"`
}

// MemberRemove removes a member, given as a hex ID or a name, and returns
// its ID.
func (c *Client) MemberRemove(ctx context.Context, member string) (MemberID, error) {
	var resp idResponse
	err := c.do(ctx, call{method: "DELETE", path: "/v1/cluster/members/" + url.PathEscape(member), out: &resp})
	return resp.ID, err
}

// MemberPromote makes a learner, given as a hex ID or a name, a voter.
func (c *Client) MemberPromote(ctx context.Context, member string) (MemberID, error) {
	var resp idResponse
	err := c.do(ctx, call{method: "POST", path: "/v1/cluster/members/" + url.PathEscape(member) + "/promote", out: &resp})
	return resp.ID, err
}

// MoveLeader transfers leadership to a member, given as a hex ID or a name.
func (c *Client) MoveLeader(ctx context.Context, to string) (MemberID, error) {
	var resp idResponse
	err := c.do(ctx, call{method: "POST", path: "/v1/cluster/transfer-leader",
		body: map[string]string{"to": to}, out: &resp})
	return resp.ID, err
}

// Status asks one endpoint (any address, not necessarily one of the
// client's) about itself, without failover.
func (c *Client) Status(ctx context.Context, endpoint string) (*StatusResponse, error) {
	ep, err := normalizeEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var resp StatusResponse
	if err := c.once(ctx, ep, call{method: "GET", path: "/v1/cluster/status", out: &resp}, nil); err != nil {
		return nil, err
	}
	return &resp, nil
}
