package socketio

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestConnectionStateRecovery(t *testing.T) {
	t.Parallel()
	sockets := make(chan *Socket, 8)
	reasons := make(chan string, 8)
	admitted := 0
	ts := startServer(t, Options{Recovery: &RecoveryOptions{MaxDisconnection: time.Minute}}, func(s *Server) {
		s.Of("/").Use(func(*Socket) error { admitted++; return nil })
		s.Of("/").OnConnection(func(so *Socket) {
			if !so.Recovered() {
				so.Join("room")
				so.SetData("state")
			}
			so.OnDisconnect(func(r string) { reasons <- r })
			sockets <- so
		})
	})
	c := ts.dial(t, 4)
	c.Send("40")
	var hs struct{ SID, PID string }
	if got := c.Recv(); !strings.HasPrefix(got, "40{") || json.Unmarshal([]byte(got[2:]), &hs) != nil || hs.PID == "" {
		t.Fatalf("CONNECT answer %q, want a sid and a pid", got)
	}
	first := <-sockets
	_ = ts.Of("/").To("room").Emit("a", 1)
	got := c.Recv()
	var args []any
	_ = json.Unmarshal([]byte(strings.TrimPrefix(got, "42")), &args)
	if len(args) != 3 || args[0] != "a" {
		t.Fatalf("event %q, want the offset as its last argument", got)
	}
	offset := args[2].(string)
	// A direct emit carries an offset too; acked emits and volatile ones
	// do not.
	_ = first.Emit("direct")
	if got := c.Recv(); !strings.HasPrefix(got, `42["direct","`) {
		t.Fatalf("direct emit %q", got)
	}

	c.Close() // the network drops
	if r := <-reasons; r != "transport close" {
		t.Fatalf("reason %q", r)
	}
	// Missed while away: two events for the room, one volatile, one for
	// another room, one to the whole namespace.
	_ = ts.Of("/").To("room").Emit("b", 2)
	_ = ts.Of("/").Volatile().Emit("dropped")
	_ = ts.Of("/").To("other").Emit("not-mine")
	_ = ts.Of("/").Emit("c")

	c2 := ts.dial(t, 4)
	c2.Send(`40{"pid":"` + hs.PID + `","offset":"` + offset + `"}`)
	var missed []string
	for {
		got := c2.Recv()
		if strings.HasPrefix(got, "40") {
			if got != `40{"sid":"`+hs.SID+`","pid":"`+hs.PID+`"}` {
				t.Fatalf("CONNECT answer %q, want the same sid and pid", got)
			}
			break
		}
		missed = append(missed, got)
	}
	if len(missed) != 3 || !strings.HasPrefix(missed[0], `42["direct",`) || !strings.HasPrefix(missed[1], `42["b",2,`) || !strings.HasPrefix(missed[2], `42["c",`) {
		t.Fatalf("missed %q", missed)
	}
	again := <-sockets
	if !again.Recovered() || again.ID() != hs.SID || again.Data() != "state" || !again.InRoom("room") {
		t.Fatalf("recovered %v id %s data %v rooms %v", again.Recovered(), again.ID(), again.Data(), again.Rooms())
	}
	if admitted != 1 {
		t.Fatalf("middleware ran %d times, want once (not for the recovered socket)", admitted)
	}
	_ = ts.Of("/").To("room").Emit("d")
	if got := c2.Recv(); !strings.HasPrefix(got, `42["d",`) {
		t.Fatalf("after recovery %q", got)
	}

	// A session is recovered once; an unknown offset starts over.
	c2.Close()
	<-reasons
	c3 := ts.dial(t, 4)
	c3.Send(`40{"pid":"` + hs.PID + `","offset":"999999"}`)
	if got := c3.Recv(); !strings.HasPrefix(got, "40{") || strings.Contains(got, hs.SID) {
		t.Fatalf("CONNECT answer %q, want a new socket", got)
	}
	if so := <-sockets; so.Recovered() {
		t.Fatal("recovered with an unknown offset")
	}
}

func TestRecoveryExpires(t *testing.T) {
	t.Parallel()
	r := newRecovery(&RecoveryOptions{MaxDisconnection: 50 * time.Millisecond})
	off := r.offset()
	r.store(off, BroadcastOptions{}, nil)
	s := &Socket{id: "sid", pid: "pid"}
	r.persist(s, []string{"sid"})
	time.Sleep(60 * time.Millisecond) // the expiry is the subject of the test
	if saved, _ := r.restore("pid", "1"); saved != nil {
		t.Fatal("restored after MaxDisconnection")
	}
}

func TestIncludes(t *testing.T) {
	t.Parallel()
	rooms := []string{"me", "a"}
	for _, tc := range []struct {
		opts BroadcastOptions
		want bool
	}{
		{BroadcastOptions{}, true},
		{BroadcastOptions{Rooms: []string{"a"}}, true},
		{BroadcastOptions{Rooms: []string{"b"}}, false},
		{BroadcastOptions{Rooms: []string{"a"}, Except: []string{"me"}}, false},
		{BroadcastOptions{Except: []string{"b"}}, true},
	} {
		if got := includes(rooms, tc.opts); got != tc.want {
			t.Errorf("includes(%v, %+v) = %v", rooms, tc.opts, got)
		}
	}
}
