// Package silent is a test helper: a TCP server that accepts connections
// and never answers, for the time-outs of clients.
package silent

import (
	"net"
	"testing"
)

// Listen listens on addr ("127.0.0.1:0" for any port), accepts every
// connection and never writes a byte, until the test ends, when it closes
// the listener and the connections it holds.
func Listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln
}
