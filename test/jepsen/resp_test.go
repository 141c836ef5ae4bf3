package jepsen

import (
	"context"
	"testing"
	"time"
)

// TestRESPRegister checks the RESP register client's outcomes against one
// node: a missing key, put, CAS that matches, CAS that does not (seen by
// its GET), CAS whose watched key changes before EXEC (a null EXEC: failed,
// definite), a refused connection (definite) and a paused node (unknown).
func TestRESPRegister(t *testing.T) {
	c := NewCluster(t, bins, ClusterOptions{Nodes: 1}, t.Logf)
	n := c.Members()[0]
	for _, proto := range []int{2, 3} {
		r := NewRESPRegister(proto, 2*time.Second).(*respRegister)
		defer r.Close()
		ctx := context.Background()
		key := "resp-reg/" + protoName(r)
		if v, found, err := r.Get(ctx, n, key); err != nil || found {
			t.Fatalf("%s: get missing = %q, %v, %v", protoName(r), v, found, err)
		}
		if ok, err := r.CAS(ctx, n, key, "", "a"); err != nil || !ok {
			t.Fatalf("cas(missing -> a) = %v, %v; want true", ok, err)
		}
		if ok, err := r.CAS(ctx, n, key, "x", "b"); err != nil || ok {
			t.Fatalf("cas(x -> b) = %v, %v; want false", ok, err)
		}
		if err := r.Put(ctx, n, key, "c"); err != nil {
			t.Fatal(err)
		}
		r.beforeExec = func() {
			if err := NewRESPRegister(proto, time.Second).Put(ctx, n, key, "d"); err != nil {
				t.Errorf("interleaved put: %v", err)
			}
		}
		if ok, err := r.CAS(ctx, n, key, "c", "e"); err != nil || ok {
			t.Fatalf("cas(c -> e) with an interleaved write = %v, %v; want false (null EXEC)", ok, err)
		}
		r.beforeExec = nil
		if v, _, err := r.Get(ctx, n, key); err != nil || v != "d" {
			t.Fatalf("get = %q, %v; want d", v, err)
		}
		if ok, err := r.CAS(ctx, n, key, "d", "f"); err != nil || !ok {
			t.Fatalf("cas(d -> f) = %v, %v; want true", ok, err)
		}
	}

	r := NewRESPRegister(2, 500*time.Millisecond)
	defer r.(*respRegister).Close()
	n.Pause()
	err := r.Put(context.Background(), n, "resp-reg/paused", "v")
	n.Resume()
	if err == nil || Definite(err) {
		t.Errorf("put to a paused node: %v; want an indeterminate error", err)
	}
	n.Kill()
	if err := r.Put(context.Background(), n, "resp-reg/dead", "v"); !Definite(err) {
		t.Errorf("put to a dead node: %v; want a definite error", err)
	}
	if _, err := r.CAS(context.Background(), n, "resp-reg/dead", "", "v"); !Definite(err) {
		t.Errorf("cas on a dead node: %v; want a definite error", err)
	}
}
