package realtime_test

// Benchmarks of the broadcast path the chat's message and mousemove events
// take: Socket.To(room).Emit, through the library's adapter (encode once),
// the per-socket Engine.IO queue and the WebSocket write, to N receivers
// that are real WebSocket connections over loopback in this process.
//
//	go test -run '^$' -bench Broadcast -benchmem ./realtime
//
// allocs/op and B/op count the whole process, so they would include the N
// receivers' reads; those read into a buffer of their own and allocate
// nothing.

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime"
)

const benchRoom = "bench"

// benchMessage is what a chat message broadcast carries.
var benchMessage = chat.Message{
	ID: 12345, Room: benchRoom, From: chat.User{ID: "Zx8v2Qk3mP0aBcDeFgHi", Name: "alice"},
	Text: "hello there, this is a typical short chat message", TS: 1712345678901, ClientID: "c-123",
}

// benchCursor is what a mousemove relay carries.
var benchCursor = chat.Cursor{ID: "Zx8v2Qk3mP0aBcDeFgHi", Name: "alice", Room: benchRoom, X: 0.123456, Y: 0.654321}

// broadcastBench is a server with one sender socket and n receivers in
// benchRoom on namespace /bench.
type broadcastBench struct {
	rt        *realtime.Server
	nsp       *realtime.Namespace
	sender    *realtime.Socket
	clients   []*siotest.WS
	delivered atomic.Int64
	close     func()
}

func newBroadcastBench(b *testing.B, n int) *broadcastBench {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
	bb := &broadcastBench{}
	bb.rt = realtime.NewServer(realtime.Options{})
	bb.nsp = bb.rt.Of("/bench")
	sockets := make(chan *realtime.Socket, n+1)
	bb.nsp.OnConnection(func(s *realtime.Socket) {
		s.Join(benchRoom)
		sockets <- s
	})
	r := gin.New()
	bb.rt.Mount(r)
	hs := httptest.NewServer(r)
	url := hs.URL + "/socket.io/"

	// The sender is a client too (its socket is excluded by To), but only
	// the server side of it is used.
	senderWS := dialBench(b, url)
	bb.sender = <-sockets
	for range n {
		c := dialBench(b, url)
		<-sockets
		bb.clients = append(bb.clients, c)
		go bb.read(c)
	}
	bb.close = func() {
		for _, c := range append(bb.clients, senderWS) {
			c.Close()
		}
		hs.CloseClientConnections()
		hs.Close()
	}
	return bb
}

// dialBench opens a WebSocket Engine.IO session and joins /bench.
func dialBench(b *testing.B, url string) *siotest.WS {
	b.Helper()
	// Receivers may wait long for their first message while the others
	// connect.
	c := siotest.OpenWS(b, url, 4, siotest.Options{Timeout: time.Minute})
	c.Send("40/bench,")
	if ok := c.ReadText(); !strings.HasPrefix(ok, "40/bench,") {
		b.Fatalf("connect reply %q", ok)
	}
	return c
}

// read counts the event frames a receiver gets, discarding their bytes.
func (bb *broadcastBench) read(c *siotest.WS) {
	var buf [512]byte
	for {
		_, r, err := c.NextReader() // within the client's minute
		if err != nil {
			return
		}
		n, _ := io.ReadFull(r, buf[:3])
		if n == 3 && string(buf[:3]) == "42/" {
			bb.delivered.Add(1)
		}
		for err == nil {
			_, err = r.Read(buf[:])
		}
		if err != io.EOF {
			return
		}
	}
}

// waitDelivered waits until at least want frames were delivered.
func (bb *broadcastBench) waitDelivered(b *testing.B, want int64) {
	deadline := time.Now().Add(30 * time.Second)
	for bb.delivered.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d frames within 30s", bb.delivered.Load(), want)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// BenchmarkBroadcastRoom measures one chat message broadcast from a socket
// to the n other sockets of its room, delivered: a window of broadcasts is
// kept in flight, and the run ends once every receiver got every one.
func BenchmarkBroadcastRoom(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("receivers=%d", n), func(b *testing.B) {
			bb := newBroadcastBench(b, n)
			defer bb.close()
			const window = 32 // broadcasts in flight
			sent := int64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				bb.sender.To(benchRoom).Emit("message", benchMessage)
				sent++
				if sent > window {
					bb.waitDelivered(b, (sent-window)*int64(n))
				}
			}
			bb.waitDelivered(b, sent*int64(n))
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent*int64(n)), "ns/delivery")
		})
	}
}

// BenchmarkBroadcastEncode measures what a broadcast costs before any socket
// is written: the emit into a room with no other member (the library still
// builds and encodes the packet once, then finds no receiver). The message
// and cursor payloads are the chat's own types.
func BenchmarkBroadcastEncode(b *testing.B) {
	for _, c := range []struct {
		name    string
		event   string
		payload any
		vol     bool
	}{
		{"message", "message", benchMessage, false},
		{"mousemove-volatile", "mousemove", benchCursor, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			bb := newBroadcastBench(b, 0)
			defer bb.close()
			b.ReportAllocs()
			for b.Loop() {
				op := bb.sender.To(benchRoom)
				if c.vol {
					op = op.Volatile()
				}
				op.Emit(c.event, c.payload)
			}
		})
	}
}
