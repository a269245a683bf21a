package realtime

import (
	"reflect"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// The wire conversions alone (no Redis needed).

func TestToWire(t *testing.T) {
	type user struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
		Skip int    `json:"-"`
	}
	in := []any{
		"ev",
		user{ID: "u1", Skip: 3},
		map[string]any{"bin": []byte{1, 2}, "buf": types.NewBytesBuffer([]byte{3}), "txt": types.NewStringBufferString("s")},
		[]int{1, 2},
		int64(1) << 60,
		1.5,
		nil,
	}
	want := []any{
		"ev",
		map[string]any{"id": "u1"},
		map[string]any{"bin": []byte{1, 2}, "buf": []byte{3}, "txt": "s"},
		[]any{int64(1), int64(2)},
		int64(1) << 60,
		1.5,
		nil,
	}
	if got := toWire(in); !reflect.DeepEqual(got, want) {
		t.Errorf("toWire:\n got %#v\nwant %#v", got, want)
	}
	if _, ok := in[2].(map[string]any)["buf"].(types.BufferInterface); !ok {
		t.Error("toWire modified its input (the packet this node still delivers)")
	}
}

func TestMsgpackRoundTrip(t *testing.T) {
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := encodeMsgpack([]any{"uid", map[string]any{"n": int8(-1), "u": uint16(300), "f": float32(0.5), "d": date, "b": []byte{0}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"uid", map[string]any{"n": float64(-1), "u": float64(300), "f": 0.5, "d": "2024-01-02T03:04:05.000Z", "b": []byte{0}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %#v, want %#v", got, want)
	}
}

func TestOptionsWire(t *testing.T) {
	timeout := 1500 * time.Millisecond
	compress := false
	opts := &socket.BroadcastOptions{
		Rooms:  types.NewSet[socket.Room]("r"),
		Except: types.NewSet[socket.Room]("x"),
		Flags:  &socket.BroadcastFlags{Timeout: &timeout},
	}
	opts.Flags.Volatile = true
	opts.Flags.Compress = &compress
	w := optionsToWire(opts)
	want := map[string]any{"rooms": []string{"r"}, "except": []string{"x"},
		"flags": map[string]any{"volatile": true, "compress": false, "timeout": int64(1500)}}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("optionsToWire %#v, want %#v", w, want)
	}
	b, _ := encodeMsgpack(w)
	v, _ := decodeMsgpack(b)
	back := optionsFromWire(v)
	if !back.Rooms.Has("r") || !back.Except.Has("x") || !back.Flags.Volatile || back.Flags.Compress == nil || *back.Flags.Compress ||
		back.Flags.Timeout == nil || *back.Flags.Timeout != timeout {
		t.Errorf("optionsFromWire gave rooms %v except %v flags %+v", back.Rooms.Keys(), back.Except.Keys(), back.Flags)
	}
	if empty := optionsToWire(nil); !reflect.DeepEqual(empty["rooms"], []string{}) || !reflect.DeepEqual(empty["except"], []string{}) {
		t.Errorf("optionsToWire(nil) %v: Node needs the lists", empty)
	}
}
