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
		s := &Session{srv: srv, id: newSID(), eio: 4, transport: transportWebSocket, ws: newWSConn(conn)}
		sessions = append(sessions, s)
	}
	return sessions
}

// BenchmarkBroadcast sends one message to 1,000 WebSocket sessions per
// iteration: encoded once, a reference queued per session, written by
// the sender straight to each idle socket. Figures are per receiver.
func BenchmarkBroadcast(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("1000x%dB", size), func(b *testing.B) {
			const receivers = 1000
			sessions := benchSessions(b, receivers)
			payload := []byte(`2["message",{"text":"` + strings.Repeat("x", size-24) + `"}]`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := NewMessage(payload)
				for _, s := range sessions {
					s.Send(m)
				}
			}
			b.StopTimer()
			perReceiver := float64(b.Elapsed().Nanoseconds()) / float64(b.N*receivers)
			b.ReportMetric(perReceiver, "ns/receiver")
			b.ReportMetric(0, "ns/op")
		})
	}
}
