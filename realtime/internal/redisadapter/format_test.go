package redisadapter

// The wire conversions alone (no Redis needed).

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

type jsonNamed struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Skip int    `json:"-"`
}

// Defect 2: values go out as encoding/json renders them for this server's
// clients; binary stays binary where the socketio package attaches it.
func TestToWire(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
	in := []any{
		"ev",
		jsonNamed{ID: "u1", Skip: 3},
		map[string]any{"bin": []byte{1, 2}, "n": json.Number("12"), "f": float32(0.5)},
		[]int{1, 2},
		map[string][]byte{"b64": {1}}, // not attached by socketio: base64 text, as locally
		int64(1) << 60,
		1.5,
		nil,
		when,
		json.RawMessage(`{"raw":[1]}`),
	}
	want := []any{
		"ev",
		map[string]any{"id": "u1"},
		map[string]any{"bin": []byte{1, 2}, "n": int64(12), "f": 0.5},
		[]any{int64(1), int64(2)},
		map[string]any{"b64": "AQ=="},
		int64(1) << 60,
		1.5,
		nil,
		"2024-01-02T03:04:05.006Z",
		map[string]any{"raw": []any{int64(1)}},
	}
	if got := dataToWire(in); !reflect.DeepEqual(got, want) {
		t.Errorf("toWire:\n got %#v\nwant %#v", got, want)
	}
	if _, ok := in[2].(map[string]any)["n"].(json.Number); !ok {
		t.Error("toWire modified its input (the packet this server still delivers)")
	}
	// What the local clients get is the same JSON.
	local, _, err := socketio.EncodeArgs(nil, in[:2])
	if err != nil {
		t.Fatal(err)
	}
	remote, _ := json.Marshal(want[:2])
	if string(local) != string(remote) {
		t.Errorf("local clients get %s, other servers' %s", local, remote)
	}
}

// Defect 7: a Date (msgpack timestamp, as notepack writes it) becomes its
// toISOString text; numbers become float64; bin stays []byte.
func TestMsgpackRoundTrip(t *testing.T) {
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := encodeMsgpack([]any{"uid", map[string]any{"n": int8(-1), "u": uint16(300), "f": float32(0.5), "d": date, "b": []byte{0}, "s": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"uid", map[string]any{"n": float64(-1), "u": float64(300), "f": 0.5, "d": "2024-01-02T03:04:05.000Z", "b": []byte{0}, "s": "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %#v, want %#v", got, want)
	}
	// A map with a key that is not a string does not fail the message.
	odd := []byte{0x81, 0x01, 0xa1, 'v'} // {1: "v"}
	if v, err := decodeMsgpack(odd); err != nil || !reflect.DeepEqual(v, map[string]any{"1": "v"}) {
		t.Errorf("integer key: %v, %v", v, err)
	}
}

// Defect 6: flags.timeout in milliseconds; the lists always there.
func TestOptsWire(t *testing.T) {
	opts := socketio.BroadcastOptions{Rooms: []string{"r", "r2", "r"}, Except: []string{"x"}}
	opts.Flags.Volatile = true
	opts.Flags.Timeout = 1500 * time.Millisecond
	w := optsToWire(opts)
	want := wireOpts{Rooms: []string{"r", "r2"}, Except: []string{"x"}, Flags: wireFlags{Volatile: true, Timeout: 1500}}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("optsToWire %#v, want %#v", w, want)
	}
	b, err := encodeMsgpack(w)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := decodeMsgpack(b)
	if want := map[string]any{"rooms": []any{"r", "r2"}, "except": []any{"x"}, "flags": map[string]any{"volatile": true, "timeout": float64(1500)}}; !reflect.DeepEqual(v, want) {
		t.Errorf("on the wire %v, want %v", v, want)
	}
	back := optsFromWire(v)
	if !slices.Equal(back.Rooms, []string{"r", "r2"}) || !slices.Equal(back.Except, []string{"x"}) || !back.Flags.Volatile || back.Flags.Timeout != 1500*time.Millisecond {
		t.Errorf("optsFromWire %+v", back)
	}
	empty, _ := encodeMsgpack(optsToWire(socketio.BroadcastOptions{}))
	if v, _ := decodeMsgpack(empty); !reflect.DeepEqual(v, map[string]any{"rooms": []any{}, "except": []any{}, "flags": map[string]any{}}) {
		t.Errorf("empty options %v: Node needs the lists", v)
	}
	// Numbers as rooms (Node allows them) are their String.
	if got := roomsOf([]any{"a", float64(12), 1.5, true}); !slices.Equal(got, []string{"a", "12", "1.5"}) {
		t.Errorf("roomsOf %v", got)
	}
}

// Defect 5: a relayed ack is its first argument; none leaves the key out,
// null keeps it (as notepack does for undefined and null).
func TestBroadcastAckEncoding(t *testing.T) {
	for _, c := range []struct {
		ack  broadcastAck
		want map[string]any
	}{
		{broadcastAck{Type: 9, RequestID: "r", Packet: "x", HasPacket: true}, map[string]any{"type": float64(9), "requestId": "r", "packet": "x"}},
		{broadcastAck{Type: 9, RequestID: "r"}, map[string]any{"type": float64(9), "requestId": "r"}},
		{broadcastAck{Type: 9, RequestID: "r", HasPacket: true}, map[string]any{"type": float64(9), "requestId": "r", "packet": nil}},
	} {
		b, err := encodeMsgpack(c.ack)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := decodeRequest(b); err != nil || !reflect.DeepEqual(v, c.want) {
			t.Errorf("%+v encoded as %v (%v), want %v", c.ack, v, err, c.want)
		}
	}
}

// Packets of other namespaces, of other types or without an event name are
// not delivered.
func TestPacketData(t *testing.T) {
	ok := map[string]any{"type": float64(2), "data": []any{"ev", 1.0}, "nsp": "/chat"}
	if d, good := packetData(ok, "/chat"); !good || !reflect.DeepEqual(d, []any{"ev", 1.0}) {
		t.Errorf("good packet: %v %v", d, good)
	}
	for _, p := range []map[string]any{
		{"type": float64(2), "data": []any{"ev"}, "nsp": "/other"},
		{"type": float64(2), "data": []any{"ev"}}, // no nsp: "/"
		{"type": float64(3), "data": []any{"ev"}, "nsp": "/chat"},
		{"type": float64(2), "data": []any{1.0}, "nsp": "/chat"},
		{"type": float64(2), "data": []any{}, "nsp": "/chat"},
	} {
		if _, good := packetData(p, "/chat"); good {
			t.Errorf("packet %v delivered to /chat", p)
		}
	}
	if _, good := packetData(map[string]any{"type": float64(5), "data": []any{"ev"}}, "/"); !good {
		t.Error("a packet without nsp is for /")
	}
}
