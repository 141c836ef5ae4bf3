package httpapi

import (
	"net/http"
	"strconv"

	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/service"
)

// memberJSON is a member on the wire. IDs are hex strings: they are 64-bit
// and would lose precision as JSON numbers in many decoders.
type memberJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	PeerAddr string `json:"peer_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	RESPAddr string `json:"resp_addr,omitempty"`
	Learner  bool   `json:"learner"`
	ReadOnly bool   `json:"read_only,omitempty"` // a learner never promoted automatically
}

func toMemberJSON(m membership.Member) memberJSON {
	return memberJSON{ID: membership.IDString(m.ID), Name: m.Name, PeerAddr: m.PeerAddr,
		HTTPAddr: m.HTTPAddr, RESPAddr: m.RESPAddr, Learner: m.Learner, ReadOnly: m.ReadOnly}
}

func toMembersJSON(ms []membership.Member) []memberJSON {
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMemberJSON(m))
	}
	return out
}

// idString formats an ID, or "" for 0 (none).
func idString(id uint64) string {
	if id == 0 {
		return ""
	}
	return membership.IDString(id)
}

// GET /v1/cluster/members
func (a *api) listMembers(r *http.Request) (response, error) {
	ms, err := a.svc.Members(r.Context())
	if err != nil {
		return response{}, err
	}
	body := struct {
		Members []memberJSON `json:"members"`
		Leader  string       `json:"leader,omitempty"` // this node's view; absent if unknown
	}{Members: toMembersJSON(ms)}
	if st, err := a.svc.Status(r.Context()); err == nil {
		body.Leader = idString(st.Leader)
	}
	return response{body: body}, nil
}

type joinBody struct {
	Name     string `json:"name"`
	PeerAddr string `json:"peer_addr"`
	HTTPAddr string `json:"http_addr"`
	RESPAddr string `json:"resp_addr"`
	Learner  bool   `json:"learner"`
}

// POST /v1/cluster/members
func (a *api) addMember(r *http.Request) (response, error) {
	var b joinBody
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	if b.Name == "" || b.PeerAddr == "" {
		return response{}, invalid("name and peer_addr are required")
	}
	m := membership.Member{Name: b.Name, PeerAddr: b.PeerAddr, HTTPAddr: b.HTTPAddr,
		RESPAddr: b.RESPAddr, Learner: b.Learner}
	ms, err := a.svc.Join(r.Context(), m)
	if err != nil {
		return response{}, err
	}
	body := struct {
		Member  *memberJSON  `json:"member,omitempty"`
		Members []memberJSON `json:"members"`
	}{Members: toMembersJSON(ms)}
	for _, x := range ms {
		if x.Name == b.Name {
			j := toMemberJSON(x)
			body.Member = &j
		}
	}
	return response{body: body}, nil
}

// resolveMember turns a path or body reference (hex ID or name) into an ID:
// an exact ID match wins, then a name match; an unmatched but valid hex ID
// is passed through so the service decides.
func (a *api) resolveMember(r *http.Request, ref string) (uint64, error) {
	if ref == "" {
		return 0, invalid("member ID or name is required")
	}
	ms, err := a.svc.Members(r.Context())
	if err != nil {
		return 0, err
	}
	id, hexErr := strconv.ParseUint(ref, 16, 64)
	if hexErr == nil {
		for _, m := range ms {
			if m.ID == id {
				return id, nil
			}
		}
	}
	for _, m := range ms {
		if m.Name == ref {
			return m.ID, nil
		}
	}
	if hexErr == nil && id != 0 {
		return id, nil
	}
	return 0, &apiError{Status: http.StatusNotFound, Code: "member_not_found",
		Message: "member not found: " + strconv.Quote(ref)}
}

type idBody struct {
	ID string `json:"id"`
}

// memberOp serves the endpoints that act on one member named in the path.
func (a *api) memberOp(r *http.Request, ref string, op func(id uint64) error) (response, error) {
	id, err := a.resolveMember(r, ref)
	if err != nil {
		return response{}, err
	}
	if err := op(id); err != nil {
		return response{}, err
	}
	return response{body: idBody{membership.IDString(id)}}, nil
}

// DELETE /v1/cluster/members/{id}
func (a *api) removeMember(r *http.Request) (response, error) {
	return a.memberOp(r, r.PathValue("id"), func(id uint64) error { return a.svc.Remove(r.Context(), id) })
}

// POST /v1/cluster/members/{id}/promote
func (a *api) promoteMember(r *http.Request) (response, error) {
	return a.memberOp(r, r.PathValue("id"), func(id uint64) error { return a.svc.Promote(r.Context(), id) })
}

// POST /v1/cluster/transfer-leader
func (a *api) transferLeader(r *http.Request) (response, error) {
	var b struct {
		To string `json:"to"`
	}
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	return a.memberOp(r, b.To, func(id uint64) error { return a.svc.TransferLeader(r.Context(), id) })
}

type statusJSON struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Role            string       `json:"role"`
	Leader          string       `json:"leader,omitempty"`
	Term            uint64       `json:"term"`
	CommitIndex     uint64       `json:"commit_index"`
	AppliedIndex    uint64       `json:"applied_index"`
	Revision        int64        `json:"revision"`
	CompactRevision int64        `json:"compact_revision"`
	Members         []memberJSON `json:"members"`
}

// GET /v1/cluster/status
func (a *api) status(r *http.Request) (response, error) {
	st, err := a.svc.Status(r.Context())
	if err != nil {
		return response{}, err
	}
	return response{rev: st.Revision, body: toStatusJSON(st)}, nil
}

func toStatusJSON(st service.Status) statusJSON {
	return statusJSON{ID: membership.IDString(st.ID), Name: st.Name, Role: st.Role,
		Leader: idString(st.Leader), Term: st.Term, CommitIndex: st.CommitIndex,
		AppliedIndex: st.AppliedIndex, Revision: st.Revision, CompactRevision: st.Compacted,
		Members: toMembersJSON(st.Members)}
}

// GET /healthz: the process is up and serving HTTP.
func (a *api) healthz(*http.Request) (response, error) {
	return response{body: map[string]string{"health": "ok"}}, nil
}

// GET /readyz: the node can serve requests (see Service.Ready). Any
// failure is 503, whatever the error.
func (a *api) readyz(r *http.Request) (response, error) {
	if err := a.svc.Ready(r.Context()); err != nil {
		e := *a.toError(r.Context(), err) // a copy: it may be a shared value
		e.Status = http.StatusServiceUnavailable
		if e.Code == "internal" || e.Code == "timeout" {
			e.Code = "not_ready"
		}
		return response{}, &e
	}
	return response{body: map[string]bool{"ready": true}}, nil
}
