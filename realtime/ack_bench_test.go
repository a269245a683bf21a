package realtime_test

// A benchmark of the acknowledged round trip the load generator's echo
// scenario makes: a client event with an ack id, its handler, and the ack
// written back, over a real WebSocket connection on loopback.
//
//	go test -run '^$' -bench AckedEvent -benchmem ./realtime
//
// allocs/op and B/op count the whole process, the client's side included.

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime"
)

// benchReply is the shape of the chat's rtt reply.
type benchReply struct {
	OK bool  `json:"ok"`
	TS int64 `json:"ts"`
}

func BenchmarkAckedEvent(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	rt := realtime.NewServer(realtime.Options{})
	rt.Of("/bench").OnConnection(func(s *realtime.Socket) {
		s.On("rtt", func(_ []any, ack realtime.Ack) {
			if ack != nil {
				ack(benchReply{OK: true, TS: 1712345678901})
			}
		})
	})
	r := gin.New()
	rt.Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()
	c := siotest.OpenWS(b, hs.URL+"/socket.io/", 4, siotest.Options{Timeout: time.Minute})
	defer c.Close()
	c.Send("40/bench,")
	if ok := c.ReadText(); !strings.HasPrefix(ok, "40/bench,") {
		b.Fatalf("connect reply %q", ok)
	}
	event := []byte(`42/bench,7["rtt",{}]`)
	want := `43/bench,7[{"ok":true,"ts":1712345678901}]`
	var buf [128]byte
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(false, event); err != nil {
			b.Fatal(err)
		}
		_, rd, err := c.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.ReadFull(rd, buf[:len(want)+1])
		if err != io.ErrUnexpectedEOF || string(buf[:n]) != want {
			b.Fatalf("reply %q (%v), want %s", buf[:n], err, want)
		}
	}
}
