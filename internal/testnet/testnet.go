// Package testnet hands out loopback addresses to tests that start servers
// on their own ports (end-to-end and fault tests of the built binary).
package testnet

import (
	"net"
	"sync"
	"testing"
)

// handedOut is every address returned in this process.
var handedOut struct {
	sync.Mutex
	addrs map[string]bool
}

// FreeAddr returns a loopback address that was free a moment ago and that
// it never returned before: the kernel may hand a just-closed port out
// again at once, and two nodes given the same port fail to start.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := ListenFresh()
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// ListenFresh listens on a loopback port FreeAddr never returned (one it
// returned may belong to a node that has not bound it yet) and records it.
func ListenFresh() (net.Listener, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.addrs == nil {
		handedOut.addrs = map[string]bool{}
	}
	var taken []net.Listener // held until done, so they are not offered again
	defer func() {
		for _, l := range taken {
			l.Close()
		}
	}()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if addr := l.Addr().String(); !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return l, nil
		}
		taken = append(taken, l)
	}
}
