package respserver

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzConn feeds arbitrary bytes to one connection of a server over a real
// state machine: whatever arrives, the connection must finish without a
// panic. It runs serveCommands, without serve's recover, so a panic fails
// the test instead of being logged.
func FuzzConn(f *testing.F) {
	for _, seed := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"MULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\n",
		"WATCH a\r\nMULTI\r\nGETRANGE a -1 -5\r\nSETRANGE a 3 x\r\nEXEC\r\n",
		"HELLO 3\r\nMGET a b\r\nSCAN 0 MATCH [a-\r\nKEYS *\\\r\n",
		"PUT k v\r\nGET nokey\r\nRENAME k k2\r\nINCRBYFLOAT k2 1e308\r\n",
		"*2\r\n$3\r\nGET\r\n$-1\r\n",
		"\"unbalanced\r\n",
	} {
		f.Add([]byte(seed))
	}
	svc := newFakeService(f)
	s := New(svc, Options{})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		c := newConn(s, server)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			c.serveCommands()
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection did not finish")
		}
	})
}
