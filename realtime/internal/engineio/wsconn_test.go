package engineio

import (
	"errors"
	"net"
	"sync"
	"testing"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// A close asked for while a write to the descriptor is in flight waits for
// it: the descriptor stays open (its number cannot go to another
// connection) until the write ends, and writes after the close fail.
func TestWSConnCloseWaitsForWriteInFlight(t *testing.T) {
	if !rawIO {
		t.Skip("no raw socket writes on this platform")
	}
	server, client := tcpPair(t)
	c := newWSConn(server)
	if c.raw == nil {
		t.Fatal("a TCP connection has no raw descriptor")
	}
	if !c.acquire() {
		t.Fatal("acquire on an open connection failed")
	}
	c.close()
	// Still open: a write through net's own path goes out.
	if _, err := server.Write([]byte("a")); err != nil {
		t.Fatalf("connection closed while a write was in flight: %v", err)
	}
	if c.acquire() {
		t.Fatal("a write started after close was asked for")
	}
	c.release() // the last write ends: now it closes
	if _, err := server.Write([]byte("b")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after the last release: %v, want net.ErrClosed", err)
	}
	if _, err := c.tryWrite([][]byte{[]byte("c")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("tryWrite after close: %v, want net.ErrClosed", err)
	}
	buf := make([]byte, 8)
	n, _ := client.Read(buf)
	if string(buf[:n]) != "a" {
		t.Fatalf("client read %q, want %q", buf[:n], "a")
	}
	c.close() // again: nothing happens
}

// Writers and a close racing: the connection is closed exactly once, and
// every write either went out whole before it or failed with ErrClosed.
func TestWSConnConcurrentWritesAndClose(t *testing.T) {
	if !rawIO {
		t.Skip("no raw socket writes on this platform")
	}
	server, client := tcpPair(t)
	c := newWSConn(server)
	go func() { // drain
		buf := make([]byte, 4096)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 2000; j++ {
				_, err := c.tryWrite([][]byte{[]byte("frame")})
				if errors.Is(err, net.ErrClosed) {
					return
				}
				if err != nil && err != errWouldBlock {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	c.close()
	wg.Wait()
	if got := c.use.Load(); got != useClosing {
		t.Fatalf("use = %#x after every writer ended, want only the closing bit", got)
	}
	if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v, want net.ErrClosed", err)
	}
}
