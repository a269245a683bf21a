package socketio

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/siotest"
	"github.com/socketio-go/chatserver/realtime/internal/engineio"
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

// keptServer is a server with recovery whose "/" reports each socket's
// disconnect (with Socket.Kept) and each expiry.
type keptServer struct {
	*testServer
	sockets chan *Socket
	left    chan keptLeave
	expired chan expiredSocket
}

type keptLeave struct {
	id, reason string
	kept       bool
}

type expiredSocket struct {
	id   string
	data any
}

func startKeptServer(t *testing.T, window time.Duration) *keptServer {
	t.Helper()
	ks := &keptServer{sockets: make(chan *Socket, 8), left: make(chan keptLeave, 8), expired: make(chan expiredSocket, 8)}
	ks.testServer = startServer(t, Options{Recovery: &RecoveryOptions{MaxDisconnection: window}}, func(s *Server) {
		s.Of("/").OnRecoveryExpired(func(id string, data any) { ks.expired <- expiredSocket{id, data} })
		s.Of("/").OnConnection(func(so *Socket) {
			if !so.Recovered() {
				so.Join("room")
				so.SetData("data of " + so.ID())
			}
			so.OnDisconnect(func(r string) { ks.left <- keptLeave{so.ID(), r, so.Kept()} })
			ks.sockets <- so
		})
	})
	return ks
}

func receive[T any](t *testing.T, ch <-chan T, what string, within time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("no %s within %v", what, within)
		panic("unreachable")
	}
}

// connectKept connects c to "/" and returns the CONNECT answer's sid and pid.
func connectKept(t *testing.T, c *siotest.WS) (sid, pid string) {
	t.Helper()
	c.Send("40")
	var hs struct{ SID, PID string }
	if got := c.Recv(); json.Unmarshal([]byte(strings.TrimPrefix(got, "40")), &hs) != nil || hs.PID == "" {
		t.Fatalf("CONNECT answer %q, want a sid and a pid", got)
	}
	return hs.SID, hs.PID
}

func TestKeptSocketExpiresToTheApplication(t *testing.T) {
	t.Parallel()
	const window = 100 * time.Millisecond
	ks := startKeptServer(t, window)
	c := ks.dial(t, 4)
	sid, pid := connectKept(t, c)
	receive(t, ks.sockets, "socket", wait)
	c.Close()
	if l := receive(t, ks.left, "disconnect", wait); !l.kept || l.reason != "transport close" {
		t.Fatalf("disconnect %+v, want kept after transport close", l)
	}
	start := time.Now()
	e := receive(t, ks.expired, "expiry", window+2*time.Second)
	if e.id != sid || e.data != "data of "+sid {
		t.Fatalf("expired %+v, want %s with its data", e, sid)
	}
	if d := time.Since(start); d > window+window/8+500*time.Millisecond {
		t.Errorf("expired %v after the disconnect, want within the window + window/8 + 250ms", d)
	}
	// Gone: coming back now gets a new socket.
	c2 := ks.dial(t, 4)
	c2.Send(`40{"pid":"` + pid + `","offset":"1"}`)
	if so := receive(t, ks.sockets, "socket", wait); so.Recovered() || so.ID() == sid {
		t.Fatalf("recovered %s after its expiry", so.ID())
	}
}

func TestComingBackTooLateExpiresAtOnce(t *testing.T) {
	t.Parallel()
	ks := startKeptServer(t, time.Minute)
	c := ks.dial(t, 4)
	sid, pid := connectKept(t, c)
	receive(t, ks.sockets, "socket", wait)
	c.Close()
	receive(t, ks.left, "disconnect", wait)
	// An offset the server no longer has: a new socket, and the kept one
	// ends now rather than when the minute has passed.
	c2 := ks.dial(t, 4)
	c2.Send(`40{"pid":"` + pid + `","offset":"999999"}`)
	if so := receive(t, ks.sockets, "socket", wait); so.Recovered() {
		t.Fatal("recovered with an unknown offset")
	}
	if e := receive(t, ks.expired, "expiry", wait); e.id != sid {
		t.Fatalf("expired %q, want %q", e.id, sid)
	}
}

func TestRecoveryWithoutOffsetReplaysSinceConnect(t *testing.T) {
	t.Parallel()
	ks := startKeptServer(t, time.Minute)
	c := ks.dial(t, 4)
	sid, pid := connectKept(t, c)
	receive(t, ks.sockets, "socket", wait)
	_ = ks.Of("/").To("elsewhere").Emit("before") // not for it, and kept
	c.Close()
	receive(t, ks.left, "disconnect", wait)
	_ = ks.Of("/").To("room").Emit("missed", 1)
	// The client received no event, so it has no offset to send.
	c2 := ks.dial(t, 4)
	c2.Send(`40{"pid":"` + pid + `"}`)
	if got := c2.Recv(); !strings.HasPrefix(got, `42["missed",1,"`) {
		t.Fatalf("first packet %q, want the missed event", got)
	}
	if got := c2.Recv(); got != `40{"sid":"`+sid+`","pid":"`+pid+`"}` {
		t.Fatalf("CONNECT answer %q, want the same socket", got)
	}
	if so := receive(t, ks.sockets, "socket", wait); !so.Recovered() {
		t.Fatal("not recovered")
	}
}

func TestWhatIsNotKept(t *testing.T) {
	t.Parallel()
	ks := startKeptServer(t, time.Minute)

	// The client's own disconnect.
	c := ks.dial(t, 4)
	connectKept(t, c)
	receive(t, ks.sockets, "socket", wait)
	c.Send("41")
	if l := receive(t, ks.left, "disconnect", wait); l.kept {
		t.Fatalf("%+v kept", l)
	}

	// A server-side disconnect.
	c = ks.dial(t, 4)
	connectKept(t, c)
	receive(t, ks.sockets, "socket", wait).Disconnect(false)
	if l := receive(t, ks.left, "disconnect", wait); l.kept || l.reason != ReasonServerNamespaceDisconnect {
		t.Fatalf("%+v kept", l)
	}

	// A server-side disconnect that closes the connection too (the Admin
	// UI's "disconnect client"): as in Node, not kept either.
	c = ks.dial(t, 4)
	connectKept(t, c)
	receive(t, ks.sockets, "socket", wait).Disconnect(true)
	if l := receive(t, ks.left, "disconnect", wait); l.kept || l.reason != ReasonServerNamespaceDisconnect {
		t.Fatalf("Disconnect(true): %+v, want not kept", l)
	}

	// A socket.io-client 2.x (protocol 4) connection: it cannot recover.
	c2 := ks.dial(t, 3)
	receive(t, ks.sockets, "socket", wait)
	c2.Close()
	if l := receive(t, ks.left, "disconnect", wait); l.kept || l.reason != "transport close" {
		t.Fatalf("protocol 4: %+v, want not kept", l)
	}
}

func TestServerCloseExpiresKeptSockets(t *testing.T) {
	t.Parallel()
	ks := startKeptServer(t, time.Minute)
	c := ks.dial(t, 4)
	sid, _ := connectKept(t, c)
	receive(t, ks.sockets, "socket", wait)
	c.Close()
	receive(t, ks.left, "disconnect", wait)
	// A connected one sees "server shutting down", and is not kept either.
	c2 := ks.dial(t, 4)
	connectKept(t, c2)
	receive(t, ks.sockets, "socket", wait)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := ks.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l := receive(t, ks.left, "disconnect", wait); l.kept || l.reason != "server shutting down" {
		t.Fatalf("at shutdown: %+v", l)
	}
	// Close has run the expiry before returning.
	select {
	case e := <-ks.expired:
		if e.id != sid {
			t.Fatalf("expired %q, want %q", e.id, sid)
		}
	default:
		t.Fatal("Close returned before the kept socket expired")
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

// After a burst, the kept packets' array goes once they expire: reslicing
// alone would hold the whole array for as long as the server runs.
func TestExpiredPacketsLetTheirArrayGo(t *testing.T) {
	r := newRecovery(&RecoveryOptions{MaxDisconnection: time.Hour})
	msgs := []*engineio.Message{engineio.NewMessageString("42[\"e\"]")}
	for i := range 5000 {
		r.store(int64(i+1), BroadcastOptions{}, msgs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cap(r.packets) < 5000 {
		t.Fatalf("cap %d after 5000 packets", cap(r.packets))
	}
	// Age all but the newest 10 past the window, then expire.
	old := time.Now().Add(-2 * time.Hour)
	for i := range r.packets[:len(r.packets)-10] {
		r.packets[i].at = old
	}
	r.expirePacketsLocked(time.Now())
	if len(r.packets) != 10 || cap(r.packets) > 1024 {
		t.Fatalf("%d packets kept in an array of %d", len(r.packets), cap(r.packets))
	}
	for i := range r.packets {
		r.packets[i].at = old
	}
	r.expirePacketsLocked(time.Now())
	if r.packets != nil {
		t.Fatalf("%d packets kept in an array of %d, want none", len(r.packets), cap(r.packets))
	}
	if r.dropped != 5000 {
		t.Fatalf("dropped up to %d, want 5000", r.dropped)
	}
}

// Memory is handed back once, when all but a few of a burst's events have
// expired; not while more are kept, nor after a few events.
func TestMemoryReturnedAfterABurstExpires(t *testing.T) {
	returned := make(chan struct{}, 4)
	prev := returnMemory
	returnMemory = func() { returned <- struct{}{} }
	t.Cleanup(func() { returnMemory = prev })

	r := newRecovery(&RecoveryOptions{MaxDisconnection: time.Hour})
	msgs := []*engineio.Message{engineio.NewMessageString("42[\"e\"]")}
	age := func(keep int) {
		r.mu.Lock()
		for i := range r.packets[:len(r.packets)-keep] {
			r.packets[i].at = time.Now().Add(-2 * time.Hour)
		}
		r.mu.Unlock()
	}
	for i := range returnAfter {
		r.store(int64(i+1), BroadcastOptions{}, msgs)
	}
	age(returnAfter / 8)
	r.sweep()
	if len(returned) != 0 {
		t.Fatal("memory returned while an eighth of the burst is still kept")
	}
	age(returnAfter / 32) // a few still kept: the events of sessions that expired with the burst
	r.sweep()
	if len(returned) != 1 {
		t.Fatalf("returned %d times after the burst expired, want 1", len(returned))
	}
	// A few events later: nothing to hand back.
	for i := range 10 {
		r.store(int64(returnAfter+i+1), BroadcastOptions{}, msgs)
	}
	age(0)
	r.sweep()
	if len(returned) != 1 {
		t.Fatalf("returned again after 10 events")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sweeper != nil {
		r.sweeper.Stop()
	}
}
