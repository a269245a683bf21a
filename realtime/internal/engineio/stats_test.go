package engineio

import (
	"testing"
)

func TestStatsCount(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{})
	if st := ts.Stats(); st.Sessions != [2][2]int64{} || st.BytesSent != 0 || len(st.Errors) != 0 {
		t.Fatalf("a new server: %+v", st)
	}
	sid := openPolling(t, ts, "4")
	s := ts.nextSession(t)
	st := ts.Stats()
	if st.Sessions[StatsPolling][1] != 1 || st.Handshakes[StatsPolling][1] != 1 || st.BytesSent == 0 {
		t.Fatalf("after a handshake: %+v", st)
	}
	q := "EIO=4&transport=polling&sid=" + sid
	poll(ts, "GET", "EIO=4&transport=polling&sid=nope", "")
	poll(ts, "GET", "EIO=9&transport=polling", "")
	if st, body := poll(ts, "POST", q, "4hello"); st != 200 {
		t.Fatalf("post %d %s", st, body)
	}
	ts.rec.nextMessage(t)
	s.Send(NewMessageString("x"))
	s.SendWith(SendFlags{Volatile: true}, NewMessageString("dropped: no poll waits, one is queued"))
	sent := ts.Stats().BytesSent
	poll(ts, "GET", q, "")
	st = ts.Stats()
	if st.BytesReceived != uint64(len("4hello")) || st.BytesSent != sent+uint64(len("4x")) || st.VolatileDropped != 1 {
		t.Fatalf("bytes and drops: %+v", st)
	}
	// Packets: the open packet and "4x" out, "4hello" in.
	if st.PacketsSent != 2 || st.PacketsReceived != 1 {
		t.Fatalf("packets: %+v", st)
	}
	want := map[ErrorCode]int{ErrUnknownSID: 400, ErrUnsupportedProtocol: 400}
	if len(st.Errors) != 2 {
		t.Fatalf("errors %+v", st.Errors)
	}
	for _, e := range st.Errors {
		if want[e.Code] != e.Status || e.Count != 1 {
			t.Fatalf("errors %+v", st.Errors)
		}
	}
	s.Close()
	poll(ts, "GET", q, "")
	ts.rec.nextClose(t)
	st = ts.Stats()
	if st.Sessions != [2][2]int64{} || st.Closes[ReasonForcedClose] != 1 || st.Closes[ReasonPingTimeout] != 0 {
		t.Fatalf("after the close: %+v", st)
	}
}
