package jepsen

import (
	"encoding/binary"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checkers must catch what they are meant to catch.
func TestRegisterCheckerCatchesStaleRead(t *testing.T) {
	rec := NewRecorder()
	rec.Add(porcupine.Operation{ClientId: 0, Input: regInput{Op: "put", Key: "x", Val: "1"}, Call: 0, Output: regOutput{}, Return: 10})
	rec.Add(porcupine.Operation{ClientId: 1, Input: regInput{Op: "get", Key: "x"}, Call: 20, Output: regOutput{Val: ""}, Return: 30})
	rec.Annotate("nemesis", "pause n1", 5, 25)
	dir := t.TempDir()
	res, err := CheckRegister(rec, dir, "stale", 10*time.Second)
	if res != porcupine.Illegal || err == nil {
		t.Fatalf("got %v, %v; want Illegal with an error", res, err)
	}
	b, rerr := os.ReadFile(dir + "/stale.html")
	if rerr != nil || !strings.Contains(string(b), "pause n1") {
		t.Fatalf("visualization missing or without the nemesis annotation: %v", rerr)
	}
}

func TestRegisterCheckerIndeterminate(t *testing.T) {
	rec := NewRecorder()
	// An unknown put may take effect after a later read started; an
	// unknown cas whose compare held may have applied.
	rec.Add(porcupine.Operation{ClientId: 0, Input: regInput{Op: "put", Key: "x", Val: "1"}, Call: 0, Output: regOutput{Unknown: true}, Return: pending})
	rec.Add(porcupine.Operation{ClientId: 1, Input: regInput{Op: "get", Key: "x"}, Call: 20, Output: regOutput{Val: ""}, Return: 30})
	rec.Add(porcupine.Operation{ClientId: 1, Input: regInput{Op: "get", Key: "x"}, Call: 40, Output: regOutput{Val: "1"}, Return: 50})
	rec.Add(porcupine.Operation{ClientId: 2, Input: regInput{Op: "cas", Key: "x", Old: "1", Val: "2"}, Call: 60, Output: regOutput{Unknown: true}, Return: pending})
	rec.Add(porcupine.Operation{ClientId: 1, Input: regInput{Op: "get", Key: "x"}, Call: 70, Output: regOutput{Val: "2"}, Return: 80})
	if res, err := CheckRegister(rec, t.TempDir(), "ok", 10*time.Second); res != porcupine.Ok || err != nil {
		t.Fatalf("got %v, %v; want Ok", res, err)
	}
	// A failed cas whose compare must have held is a violation.
	rec.Add(porcupine.Operation{ClientId: 3, Input: regInput{Op: "cas", Key: "x", Old: "2", Val: "3"}, Call: 90, Output: regOutput{OK: false}, Return: 100})
	rec.Add(porcupine.Operation{ClientId: 1, Input: regInput{Op: "get", Key: "x"}, Call: 110, Output: regOutput{Val: "2"}, Return: 120})
	if res, _ := CheckRegister(rec, t.TempDir(), "bad", 10*time.Second); res != porcupine.Illegal {
		t.Fatalf("got %v, want Illegal", res)
	}
}

func TestSetChecker(t *testing.T) {
	w := &SetWorkload{outcome: map[string]string{"a": "ok", "b": "info", "c": "fail", "d": "info"}}
	if err := w.Check(map[string]kvObj{"a": {Value: "a"}, "b": {Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	for name, final := range map[string]map[string]kvObj{
		"lost":    {"b": {Value: "b"}},
		"refused": {"a": {Value: "a"}, "c": {Value: "c"}},
		"phantom": {"a": {Value: "a"}, "z": {Value: "z"}},
		"wrong":   {"a": {Value: "x"}},
	} {
		if err := w.Check(final); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestNetProxy checks the proxy's rules against a plain TCP server.
func TestNetProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 16)
	var arrivedMu sync.Mutex
	arrived := 0 // bytes the target has read so far, over every connection
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var b []byte
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					b = append(b, buf[:n]...)
					arrivedMu.Lock()
					arrived += n
					arrivedMu.Unlock()
					if err != nil {
						break
					}
				}
				got <- string(b)
			}()
		}
	}()
	// waitUntil polls cond (with a deadline) instead of sleeping and
	// hoping the proxy's goroutines got that far.
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	nw := NewNet(t.Logf)
	defer nw.Close()
	// blackholed reports whether the proxy holds a black-holed
	// connection on the link from -> 2.
	blackholed := func(from uint64) bool {
		nw.mu.Lock()
		defer nw.mu.Unlock()
		for pc := range nw.conns {
			if pc.l == (link{from: from, to: 2}) && pc.blackholed {
				return true
			}
		}
		return false
	}
	p, err := nw.AddNode(2, "b", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	send := func(from uint64, msg string) net.Conn {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		hs := append([]byte("CRFT"), 1, 1)
		hs = binary.BigEndian.AppendUint64(hs, from)
		hs = binary.BigEndian.AppendUint64(hs, 2)
		c.Write(append(hs, msg...))
		return c
	}
	expect := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s[handshakeSize:] != want {
				t.Fatalf("target got %q, want %q", s[handshakeSize:], want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("target got nothing, want %q", want)
		}
	}
	c := send(1, "hello")
	// The link is live once the target has read the handshake and the
	// message through it; only then may the partition close it.
	waitUntil("hello to reach the target", func() bool {
		arrivedMu.Lock()
		defer arrivedMu.Unlock()
		return arrived >= handshakeSize+len("hello")
	})
	nw.Partition([]uint64{1}, []uint64{2}) // closes the live link 1->2
	expect("hello")
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection on a newly blocked link stayed open")
	}
	c2 := send(1, "dropped") // black-holed
	c3 := send(3, "other")   // 3 -> 2 is not blocked
	c3.Close()
	expect("other")
	// The proxy serves connections concurrently: c2 must have been
	// accepted (and black-holed) before Heal, or it would be forwarded.
	waitUntil("the black-holed connection to be registered", func() bool { return blackholed(1) })
	nw.Heal() // closes the black-holed connection
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatal("black-holed connection stayed open after heal")
	}
	select {
	case s := <-got:
		t.Fatalf("black-holed bytes reached the target: %q", s)
	case <-time.After(200 * time.Millisecond):
	}
	c4 := send(1, "after heal")
	c4.(*net.TCPConn).CloseWrite()
	expect("after heal")
}
