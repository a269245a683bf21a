package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func split(t *testing.T, eio int, payload string) []string {
	t.Helper()
	var out []string
	if err := SplitPayload(eio, []byte(payload), func(p []byte) error {
		out = append(out, string(p))
		return nil
	}); err != nil {
		t.Fatalf("SplitPayload(%d, %q): %v", eio, payload, err)
	}
	return out
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestPayloadV4(t *testing.T) {
	packets := []string{`0{"sid":"x"}`, "2", `42/chat,["a",{"b":"c\u001e"}]`, "40"}
	enc := string(EncodePayload(4, bs(packets...)...))
	want := `0{"sid":"x"}` + "\x1e2\x1e" + `42/chat,["a",{"b":"c\u001e"}]` + "\x1e40"
	if enc != want {
		t.Fatalf("encode = %q, want %q", enc, want)
	}
	if got := split(t, 4, enc); !reflect.DeepEqual(got, packets) {
		t.Fatalf("decode = %q, want %q", got, packets)
	}
	if got := split(t, 4, "6"); !reflect.DeepEqual(got, []string{"6"}) {
		t.Fatalf("single packet: %q", got)
	}
	if got := split(t, 4, ""); got != nil {
		t.Fatalf("empty payload: %q", got)
	}
	if enc := string(EncodePayload(4, []byte("3"))); enc != "3" {
		t.Fatalf("one packet encodes as %q", enc)
	}
}

func TestPayloadV3(t *testing.T) {
	cases := []struct {
		packets []string
		payload string
	}{
		{[]string{"3"}, "1:3"},
		{[]string{`0{"sid":"ab"}`, "40"}, `13:0{"sid":"ab"}2:40`},
		{[]string{"4hello", "2"}, "6:4hello1:2"},
		// lengths count UTF-16 code units: é is one unit in two bytes, 😀
		// two units in four bytes.
		{[]string{`42["m","é"]`, `42["m","😀"]`}, `11:42["m","é"]12:42["m","😀"]`},
		{[]string{strings.Repeat("x", 123)}, "123:" + strings.Repeat("x", 123)},
	}
	for _, c := range cases {
		if enc := string(EncodePayload(3, bs(c.packets...)...)); enc != c.payload {
			t.Errorf("encode %q = %q, want %q", c.packets, enc, c.payload)
		}
		if got := split(t, 3, c.payload); !reflect.DeepEqual(got, c.packets) {
			t.Errorf("decode %q = %q, want %q", c.payload, got, c.packets)
		}
	}
	// An empty v3 payload is "0:".
	if got := split(t, 3, "0:"); got != nil {
		t.Errorf(`"0:" decodes to %q`, got)
	}
	for _, bad := range []string{"3", ":3", "5:abc", "x:1", "3:😀", "1:😀", "99999999999:x"} {
		err := SplitPayload(3, []byte(bad), func([]byte) error { return nil })
		if !errors.Is(err, ErrBadPayload) {
			t.Errorf("SplitPayload(3, %q) = %v, want ErrBadPayload", bad, err)
		}
	}
}

func TestSplitStopsAtError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := SplitPayload(4, []byte("1\x1e2\x1e3"), func([]byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("got %v after %d packets", err, n)
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "é": 1, "€": 1, "😀": 2, "a😀b": 4, "\xff": 1} {
		if got := UTF16Len([]byte(s)); got != want {
			t.Errorf("UTF16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestParseOpen(t *testing.T) {
	h, err := ParseOpen([]byte(`0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Handshake{SID: "abc", Upgrades: []string{"websocket"}, PingInterval: 25000, PingTimeout: 20000, MaxPayload: 1000000}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v", h)
	}
	for _, bad := range []string{"", "2", `0{`, `0{"sid":""}`, `0{"sid":"a","pingInterval":1}`} {
		if _, err := ParseOpen([]byte(bad)); err == nil {
			t.Errorf("ParseOpen(%q) succeeded", bad)
		}
	}
}

func TestParsePacket(t *testing.T) {
	cases := []struct {
		in   string
		typ  byte
		nsp  string
		id   int64
		data string
		att  int
	}{
		{"0", Connect, "/", NoID, "", 0},
		{`0{"sid":"x"}`, Connect, "/", NoID, `{"sid":"x"}`, 0},
		{"0/chat,", Connect, "/chat", NoID, "", 0},
		{"0/chat", Connect, "/chat", NoID, "", 0},
		{`0/chat,{"sid":"abc"}`, Connect, "/chat", NoID, `{"sid":"abc"}`, 0},
		{`0/chat?x=1,`, Connect, "/chat?x=1", NoID, "", 0},
		{`2["hello",1]`, Event, "/", NoID, `["hello",1]`, 0},
		{`212["hello"]`, Event, "/", 12, `["hello"]`, 0},
		{`2/chat,["message",{"text":"a,b"}]`, Event, "/chat", NoID, `["message",{"text":"a,b"}]`, 0},
		{`2/chat,7["rtt",{}]`, Event, "/chat", 7, `["rtt",{}]`, 0},
		{`3/chat,12[{"ok":true}]`, Ack, "/chat", 12, `[{"ok":true}]`, 0},
		{`312[]`, Ack, "/", 12, `[]`, 0},
		{`4/chat,{"message":"no"}`, ConnectError, "/chat", NoID, `{"message":"no"}`, 0},
		{`1/chat,`, Disconnect, "/chat", NoID, "", 0},
		{`51-/chat,3["up",{"_placeholder":true,"num":0}]`, BinaryEvent, "/chat", 3, `["up",{"_placeholder":true,"num":0}]`, 1},
		{`62-[1]`, BinaryAck, "/", NoID, `[1]`, 2},
	}
	for _, c := range cases {
		p, err := ParsePacket([]byte(c.in))
		if err != nil {
			t.Errorf("ParsePacket(%q): %v", c.in, err)
			continue
		}
		if p.Type != c.typ || string(p.Nsp) != c.nsp || p.ID != c.id || string(p.Data) != c.data || p.Attachments != c.att {
			t.Errorf("ParsePacket(%q) = type %c nsp %q id %d data %q att %d", c.in, p.Type, p.Nsp, p.ID, p.Data, p.Attachments)
		}
	}
	for _, bad := range []string{"", "7", "x", "5[]", "5x-[]", "21234567890123456789[]"} {
		if _, err := ParsePacket([]byte(bad)); !errors.Is(err, ErrBadPacket) {
			t.Errorf("ParsePacket(%q) = %v, want ErrBadPacket", bad, err)
		}
	}
}

func TestAppendPackets(t *testing.T) {
	cases := []struct{ got, want string }{
		{string(AppendMessage(nil, Connect, "/chat", NoID, nil)), "40/chat,"},
		{string(AppendMessage(nil, Connect, "/", NoID, nil)), "40"},
		{string(AppendMessage(nil, Ack, "/chat", 12, []byte(`[{"ok":true}]`))), `43/chat,12[{"ok":true}]`},
		{string(AppendSocketPacket(nil, Disconnect, "/chat", NoID, nil)), "1/chat,"},
		{string(AppendEvent(nil, "/chat", 12, "register", []byte(`{"name":"u1"}`))), `42/chat,12["register",{"name":"u1"}]`},
		{string(AppendEvent(nil, "/chat", NoID, "mousemove", []byte(`{"x":0.5}`))), `42/chat,["mousemove",{"x":0.5}]`},
		{string(AppendEvent(nil, "", 0, "rtt")), `420["rtt"]`},
		{string(AppendEvent(nil, "/", NoID, "a", []byte("1"), []byte(`"b"`))), `42["a",1,"b"]`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// Round trip through the parser.
	enc := AppendEvent(nil, "/chat", 42, "message", []byte(`{"room":"r"}`))
	p, err := ParsePacket(enc[1:])
	if err != nil || p.Type != Event || string(p.Nsp) != "/chat" || p.ID != 42 {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	if name, ok := EventName(p.Data); !ok || string(name) != "message" {
		t.Fatalf("event name %q %v", name, ok)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	arg := []byte(`{"room":"load","x":0.5,"y":0.25}`)
	n := testing.AllocsPerRun(100, func() {
		buf = AppendEvent(buf[:0], "/chat", 1234, "mousemove", arg)
		p, _ := ParsePacket(buf[1:])
		obj, _ := Element(p.Data, 1)
		_, _ = Field(obj, "y")
	})
	if n != 0 {
		t.Fatalf("%v allocations per encode+decode", n)
	}
}

func TestJSONHelpers(t *testing.T) {
	msg := []byte(`["message",{"id":17,"room":"r","from":{"id":"abc","name":"u1"},"text":"t1700000000123456789","ts":1700000000123,"clientId":"c,1]"}]`)
	name, ok := EventName(msg)
	if !ok || string(name) != "message" {
		t.Fatalf("EventName = %q %v", name, ok)
	}
	obj, ok := Element(msg, 1)
	if !ok || obj[0] != '{' || obj[len(obj)-1] != '}' {
		t.Fatalf("Element 1 = %q %v", obj, ok)
	}
	if _, ok := Element(msg, 2); ok {
		t.Fatal("Element 2 found")
	}
	checks := map[string]string{
		"id":       "17",
		"from":     `{"id":"abc","name":"u1"}`,
		"text":     `"t1700000000123456789"`,
		"ts":       "1700000000123",
		"clientId": `"c,1]"`,
	}
	for k, want := range checks {
		if v, ok := Field(obj, k); !ok || string(v) != want {
			t.Errorf("Field %s = %q %v, want %q", k, v, ok, want)
		}
	}
	if _, ok := Field(obj, "name"); ok {
		t.Error("Field found a nested key")
	}
	if v, ok := Field([]byte(` { "ok" : true , "ts" : 5 } `), "ts"); !ok || string(v) != "5" {
		t.Errorf("Field with spaces = %q %v", v, ok)
	}
	if v, ok := Field([]byte(`{"a\"b":1,"ok":false}`), "ok"); !ok || string(v) != "false" {
		t.Errorf("Field after escaped key = %q %v", v, ok)
	}
	if v, ok := Field([]byte(`{"text":"\"ok\":true","ok":false}`), "ok"); !ok || string(v) != "false" {
		t.Errorf("Field fooled by a string value: %q %v", v, ok)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":"x`, `{}`} {
		if _, ok := Field([]byte(bad), "a"); ok {
			t.Errorf("Field(%q) found a", bad)
		}
	}
	if s, ok := StringValue([]byte(`"t123"`)); !ok || string(s) != "t123" {
		t.Errorf("StringValue = %q %v", s, ok)
	}
	if _, ok := StringValue([]byte(`"a\"b"`)); ok {
		t.Error("StringValue accepted an escape")
	}
	for in, want := range map[string]int64{"0": 0, "17": 17, "-5": -5, "1700000000123456789": 1700000000123456789, "9223372036854775807": 9223372036854775807} {
		if n, ok := ParseInt([]byte(in)); !ok || n != want {
			t.Errorf("ParseInt(%q) = %d %v", in, n, ok)
		}
	}
	for _, bad := range []string{"", "-", "1.5", "1e3", "12345678901234567890", "9223372036854775808", "x"} {
		if _, ok := ParseInt([]byte(bad)); ok {
			t.Errorf("ParseInt(%q) succeeded", bad)
		}
	}
	if _, ok := EventName([]byte(`[1]`)); ok {
		t.Error("EventName of a number")
	}
	if _, ok := Element([]byte(`[]`), 0); ok {
		t.Error("Element of an empty array")
	}
}
