package engineio

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// benchSessions opens n WebSocket sessions over loopback TCP (the server
// ends are Sessions as a handshake makes them; the client ends are read
// and discarded by one goroutine each).
func benchSessions(b testing.TB, n int) []*Session {
	b.Helper()
	srv := NewServer(Options{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueueBytes: 64 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sessions := make([]*Session, 0, n)
	for i := 0; i < n; i++ {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conn, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { client.Close(); conn.Close() })
		go func() { _, _ = io.Copy(io.Discard, client) }()
		s := &Session{srv: srv, id: newSID(), eio: 4, transport: transportWebSocket, ws: newWSConn(conn), flusher: srv.flushers.pick(uint64(i))}
		sessions = append(sessions, s)
	}
	return sessions
}

// BenchmarkBroadcast sends one message to 1,000 WebSocket sessions per
// iteration: encoded once, a reference queued per session. "direct" is
// written by the sender straight to each idle socket (a frame, a system
// call); "deferred" is a broadcast's way, handed to the flushers, with
// the iterations back to back as under overload, so that the frames that
// gathered for a receiver leave in one writev. Figures are per receiver,
// the deferred ones up to the last frame written.
func BenchmarkBroadcast(b *testing.B) {
	for _, mode := range []string{"direct", "deferred"} {
		for _, size := range []int{64, 1024} {
			b.Run(fmt.Sprintf("%s/1000x%dB", mode, size), func(b *testing.B) {
				const receivers = 1000
				sessions := benchSessions(b, receivers)
				payload := []byte(`2["message",{"text":"` + strings.Repeat("x", size-24) + `"}]`)
				f := SendFlags{Deferred: mode == "deferred"}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					m := NewMessage(payload)
					for _, s := range sessions {
						s.SendWith(f, m)
					}
				}
				for _, s := range sessions {
					waitWritten(b, s)
				}
				b.StopTimer()
				perReceiver := float64(b.Elapsed().Nanoseconds()) / float64(b.N*receivers)
				b.ReportMetric(perReceiver, "ns/receiver")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// waitWritten waits until everything queued for s has been written.
func waitWritten(b testing.TB, s *Session) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		idle := !s.writing && len(s.queue) == 0
		s.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("timeout waiting for the queue to be written")
		}
		time.Sleep(100 * time.Microsecond) // polling for a state, bounded by deadline
	}
}
