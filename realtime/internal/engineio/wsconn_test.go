package engineio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
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

// rawPair is tcpPair with the server end wrapped as a wsConn on its raw
// descriptor; the test is skipped where there is no raw socket I/O.
func rawPair(t *testing.T) (c *wsConn, server, client net.Conn) {
	t.Helper()
	if !rawIO {
		t.Skip("no raw socket I/O on this platform")
	}
	server, client = tcpPair(t)
	c = newWSConn(server)
	if c.raw == nil {
		t.Fatal("a TCP connection has no raw descriptor")
	}
	return c, server, client
}

// A close asked for while a write to the descriptor is in flight waits for
// it: the descriptor stays open (its number cannot go to another
// connection) until the write ends, and writes after the close fail.
func TestWSConnCloseWaitsForWriteInFlight(t *testing.T) {
	c, server, client := rawPair(t)
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
	c, server, client := rawPair(t)
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

// A client that sends one message at a time and waits for each to arrive
// costs the reader one read per message: after a read that emptied the
// socket, the reader waits for it instead of reading again only to find
// nothing. And no message is missed for it.
func TestReaderWaitsWithoutEmptyReads(t *testing.T) {
	c, _, client := rawPair(t)
	fr := newFrameReader(c)
	got := make(chan string)
	done := make(chan error, 1)
	go func() {
		_, err := fr.run(1<<20, func(p []byte, _ bool) bool { got <- string(p); return true }, func([]byte, bool) {})
		done <- err
	}()
	const n = 50
	for i := range n {
		want := fmt.Sprint("message ", i)
		if err := ws.WriteFrame(client, ws.MaskFrame(ws.NewTextFrame([]byte(want)))); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("got %q, want %q", g, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q never arrived", want)
		}
	}
	client.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not end when the client closed")
	}
	// The first pullAfter reads are made one by one, each after one that
	// found nothing; after them, only a wakeup for data already read (the
	// poller reports readiness per event, and an event can come while the
	// reader is reading) leads to a read that finds nothing. A reader that
	// read again after each message would have n of them.
	t.Logf("%d reads found nothing over %d messages", fr.emptyReads, n)
	if max := pullAfter + 1 + 5; fr.emptyReads > max {
		t.Fatalf("%d reads found nothing over %d messages, want at most %d", fr.emptyReads, n, max)
	}
}

// The reader holds the socket's read lock while it waits (reads), and a
// close must neither wait for it nor leave it waiting: from another
// goroutine while the reader waits, and from the reader's own message
// handler, the reader ends and the client sees the connection close.
func TestWSConnCloseWhileReading(t *testing.T) {
	if !rawIO {
		t.Skip("no raw socket I/O on this platform")
	}
	for _, from := range []string{"another goroutine", "the handler"} {
		t.Run(from, func(t *testing.T) {
			c, _, client := rawPair(t)
			fr := newFrameReader(c)
			got := make(chan string, 1)
			done := make(chan struct{})
			last := fmt.Sprint(pullAfter + 1)
			go func() {
				defer close(done)
				_, _ = fr.run(1<<20, func(p []byte, _ bool) bool {
					if from == "the handler" && string(p) == last {
						c.close()
					}
					got <- string(p)
					return true
				}, func([]byte, bool) {})
			}()
			// One by one: each takes a read of its own, and the last
			// comes through reads (the reads before it were pullAfter).
			for i := range pullAfter + 1 {
				if err := ws.WriteFrame(client, ws.MaskFrame(ws.NewTextFrame([]byte(fmt.Sprint(i+1))))); err != nil {
					t.Fatal(err)
				}
				<-got
			}
			closed := make(chan struct{})
			if from == "another goroutine" {
				go func() { c.close(); close(closed) }()
				select {
				case <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("close waited for the reader")
				}
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the reader did not end after close")
			}
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := client.Read(make([]byte, 1)); err == nil {
				t.Fatalf("client read %d bytes, want the connection closed", n)
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the connection stayed open")
			}
		})
	}
}
