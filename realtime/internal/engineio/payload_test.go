package engineio

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func pkt(typ byte, data string) packet { return packet{typ: typ, data: []byte(data)} }

func binPkt(data ...byte) packet { return packet{typ: typeMessage, data: data, binary: true} }

func samePackets(t *testing.T, got, want []packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.typ != w.typ || g.binary != w.binary || !bytes.Equal(g.data, w.data) {
			t.Errorf("packet %d = {%c %q bin=%v}, want {%c %q bin=%v}", i, g.typ, g.data, g.binary, w.typ, w.data, w.binary)
		}
	}
}

func TestDecodePayloadV4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []packet
		err  bool
	}{
		{"4hello", []packet{pkt('4', "hello")}, false},
		{"4test1\x1e4test2\x1e4test3", []packet{pkt('4', "test1"), pkt('4', "test2"), pkt('4', "test3")}, false},
		{"4hello\x1ebAQIDBA==", []packet{pkt('4', "hello"), binPkt(1, 2, 3, 4)}, false},
		{"3", []packet{pkt('3', "")}, false},
		{"1", []packet{pkt('1', "")}, false},
		{"4", []packet{pkt('4', "")}, false},
		{"abc", nil, true},
		{"", nil, true},
		{"4ok\x1e", []packet{pkt('4', "ok")}, true}, // an empty packet after the separator
		{"4ok\x1e7x", []packet{pkt('4', "ok")}, true},
		{"b!!!", nil, true}, // bad base64
	} {
		got, err := decodePayloadV4([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v, want error %v", tc.in, err, tc.err)
		}
		if err != nil && !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: err = %v, want ErrInvalidPacket", tc.in, err)
		}
		samePackets(t, got, tc.want)
	}
}

func TestDecodePayloadV3(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []packet
		err  bool
	}{
		{"6:4hello", []packet{pkt('4', "hello")}, false},
		{"6:4hello2:4a", []packet{pkt('4', "hello"), pkt('4', "a")}, false},
		{"1:2", []packet{pkt('2', "")}, false},
		// é is one UTF-16 unit (two bytes), 😀 is two (four bytes).
		{"2:4é", []packet{pkt('4', "é")}, false},
		{"3:4😀", []packet{pkt('4', "😀")}, false},
		{"2:4😀", nil, true}, // would split the surrogate pair
		{"10:b4AQIDBA==", []packet{binPkt(1, 2, 3, 4)}, false},
		{"0:", nil, false},
		{"", nil, true},
		{"6:4hell", nil, true}, // shorter than its length
		{"x:4", nil, true},
		{":4", nil, true},
		{"6:4hello1", []packet{pkt('4', "hello")}, true},
		{"12345678901:4", nil, true},
		{"1:9", nil, true},
		{"3:b4!", nil, true},
	} {
		got, err := decodePayloadV3([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v, want error %v", tc.in, err, tc.err)
		}
		samePackets(t, got, tc.want)
	}
}

func TestDecodeBinaryPayloadV3(t *testing.T) {
	t.Parallel()
	// "4hello" as a string packet, then a binary packet of 3 bytes (type
	// byte 4 plus data), as engine.io-client 3.x builds them.
	in := []byte{0, 6, 0xFF}
	in = append(in, "4hello"...)
	in = append(in, 1, 4, 0xFF, 4, 0xA, 0xB, 0xC)
	got, err := decodeBinaryPayloadV3(in)
	if err != nil {
		t.Fatal(err)
	}
	samePackets(t, got, []packet{pkt('4', "hello"), binPkt(0xA, 0xB, 0xC)})

	for _, bad := range [][]byte{
		nil,
		{2, 1, 0xFF, '4'},       // kind 2
		{0, 9, 0xFF, '4'},       // length past the end
		{0, 0xFF, '4'},          // no digits
		{0, 1, 0xFF},            // nothing after
		{0, 1, 2, 3},            // no 0xFF
		{0, 10, 0xFF},           // digit byte > 9
		{1, 1, 0xFF, 9},         // binary packet of unknown type
		{0, 2, 0xFF, '4', 0xFF}, // text that is not UTF-8
		{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xFF}, // too many digits
	} {
		if _, err := decodeBinaryPayloadV3(bad); err == nil {
			t.Errorf("%v: decoded, want an error", bad)
		}
	}
}

func TestEncodePayload(t *testing.T) {
	t.Parallel()
	text := NewMessageString("hello")
	uni := NewMessageString("é😀")
	bin := NewBinaryMessage([]byte{1, 2, 3, 4})
	for _, tc := range []struct {
		name   string
		msgs   []*Message
		eio    int
		v3Bin  bool
		want   string
		binary bool
	}{
		{"v4 text", []*Message{text}, 4, false, "4hello", false},
		{"v4 several", []*Message{text, bin, msgPing}, 4, false, "4hello\x1ebAQIDBA==\x1e2", false},
		{"v3 text", []*Message{text, msgPong}, 3, false, "6:4hello1:3", false},
		{"v3 utf16 length", []*Message{uni}, 3, false, "4:4é😀", false},
		{"v3 base64", []*Message{bin}, 3, false, "10:b4AQIDBA==", false},
		{"v3 text only stays text", []*Message{text}, 3, true, "6:4hello", false},
		{"v3 binary payload", []*Message{text, bin}, 3, true, "\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04", true},
	} {
		got, binary := encodePayload(nil, tc.msgs, tc.eio, tc.v3Bin)
		if string(got) != tc.want || binary != tc.binary {
			t.Errorf("%s: got %q (binary %v), want %q (binary %v)", tc.name, got, binary, tc.want, tc.binary)
		}
	}
}

// What the server encodes, it decodes back (the client's codec is the
// same format).
func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	msgs := []*Message{NewMessageString("a"), NewMessageString("é😀\n\"x\""), NewBinaryMessage([]byte{0, 255, 7}), msgPing}
	want := []packet{pkt('4', "a"), pkt('4', "é😀\n\"x\""), binPkt(0, 255, 7), pkt('2', "")}
	for _, v := range []struct {
		eio   int
		v3Bin bool
	}{{4, false}, {3, false}, {3, true}} {
		body, binary := encodePayload(nil, msgs, v.eio, v.v3Bin)
		var got []packet
		var err error
		switch {
		case binary:
			got, err = decodeBinaryPayloadV3(body)
		case v.eio == 3:
			got, err = decodePayloadV3(body)
		default:
			got, err = decodePayloadV4(body)
		}
		if err != nil {
			t.Fatalf("eio %d binary %v: %v", v.eio, v.v3Bin, err)
		}
		samePackets(t, got, want)
	}
}

func TestMessageFrames(t *testing.T) {
	t.Parallel()
	m := NewMessageString("hi")
	if want := []byte{0x81, 3, '4', 'h', 'i'}; !bytes.Equal(m.wsFrame(4), want) || !bytes.Equal(m.wsFrame(3), want) {
		t.Errorf("text frame = %x, want %x", m.wsFrame(4), want)
	}
	b := NewBinaryMessage([]byte{9, 8})
	if want := []byte{0x82, 2, 9, 8}; !bytes.Equal(b.wsFrame(4), want) {
		t.Errorf("v4 binary frame = %x, want %x", b.wsFrame(4), want)
	}
	if want := []byte{0x82, 3, 4, 9, 8}; !bytes.Equal(b.wsFrame(3), want) {
		t.Errorf("v3 binary frame = %x, want %x", b.wsFrame(3), want)
	}
	// Frames are built once and shared.
	if f1, f2 := b.wsFrame(4), b.wsFrame(4); &f1[0] != &f2[0] {
		t.Error("binary frame built twice")
	}
	long := NewMessage(bytes.Repeat([]byte("x"), 70000))
	f := long.wsFrame(4)
	if f[0] != 0x81 || f[1] != 127 || len(f) != 10+70001 {
		t.Errorf("long frame header %x, length %d", f[:10], len(f))
	}
	mid := NewMessage(bytes.Repeat([]byte("x"), 300))
	if f := mid.wsFrame(4); f[1] != 126 || int(f[2])<<8|int(f[3]) != 301 {
		t.Errorf("16-bit length header %x", f[:4])
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "😀": 2, "a😀é": 4, "\xff": 1} {
		if got := utf16Len([]byte(s)); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestJSONP(t *testing.T) {
	t.Parallel()
	got := string(encodeJSONP(nil, jsonpIndex("3x<"), []byte("4a\"b\n</script>\u2028")))
	want := `___eio[3]("4a\"b\n\u003c/script\u003e\u2028");`
	if got != want {
		t.Errorf("encodeJSONP = %s, want %s", got, want)
	}
	for body, want := range map[string]string{
		"d=4hello":             "4hello",
		"d=4a%5Cnb":            "4a\nb",    // \n from the client is a newline
		"d=4a%5C%5Cnb":         "4a\\nb",   // \\n is an escaped \n
		"d=4a%5C%5C%5Cnb":      "4a\\\\nb", // a backslash, then an escaped \n
		"d=4%E2%9C%93":         "4✓",
		"d=8%3A4a%5Cn%5C%5Cnb": "8:4a\n\\nb",
	} {
		d, ok := decodeJSONPBody([]byte(body))
		if !ok || string(d) != want {
			t.Errorf("decodeJSONPBody(%q) = %q, %v; want %q", body, d, ok, want)
		}
	}
	for _, bad := range []string{"", "x=1", "d=1&d=2", "d=%zz"} {
		if _, ok := decodeJSONPBody([]byte(bad)); ok {
			t.Errorf("decodeJSONPBody(%q) accepted", bad)
		}
	}
}

func TestAdvance(t *testing.T) {
	t.Parallel()
	frames := [][]byte{[]byte("abc"), []byte("de"), []byte("f")}
	got := advance(append([][]byte(nil), frames...), 4)
	if !reflect.DeepEqual(got, [][]byte{[]byte("e"), []byte("f")}) {
		t.Errorf("advance 4 = %q", got)
	}
	if got := advance(append([][]byte(nil), frames...), 6); len(got) != 0 {
		t.Errorf("advance all = %q", got)
	}
	if string(frames[0]) != "abc" {
		t.Error("advance changed the frame bytes")
	}
}

// Clients with forceBase64 send binary over WebSocket as base64 text.
func TestDecodeFrameBase64(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in  string
		eio uint8
	}{{"bAQID", 4}, {"b4AQID", 3}} {
		p, err := decodeFrame([]byte(tc.in), false, tc.eio)
		if err != nil || !p.binary || p.typ != typeMessage || string(p.data) != "\x01\x02\x03" {
			t.Errorf("%q (v%d): %+v, %v", tc.in, tc.eio, p, err)
		}
	}
}
