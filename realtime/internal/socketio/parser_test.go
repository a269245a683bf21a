package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Packet
	}{
		{`0`, Packet{Type: PacketConnect, Nsp: "/", ID: NoID}},
		{`0{"token":"123"}`, Packet{Type: PacketConnect, Nsp: "/", ID: NoID, Data: []byte(`{"token":"123"}`)}},
		{`0/admin,`, Packet{Type: PacketConnect, Nsp: "/admin", ID: NoID}},
		{`0/admin,{"a":1}`, Packet{Type: PacketConnect, Nsp: "/admin", ID: NoID, Data: []byte(`{"a":1}`)}},
		{`0/admin?token=1`, Packet{Type: PacketConnect, Nsp: "/admin?token=1", ID: NoID}}, // protocol 4 query
		{`1`, Packet{Type: PacketDisconnect, Nsp: "/", ID: NoID}},
		{`1/admin,`, Packet{Type: PacketDisconnect, Nsp: "/admin", ID: NoID}},
		{`2["hello",1]`, Packet{Type: PacketEvent, Nsp: "/", ID: NoID, Data: []byte(`["hello",1]`)}},
		{`2/admin,456["project:delete",123]`, Packet{Type: PacketEvent, Nsp: "/admin", ID: 456, Data: []byte(`["project:delete",123]`)}},
		{`212["x"]`, Packet{Type: PacketEvent, Nsp: "/", ID: 12, Data: []byte(`["x"]`)}},
		{`2[3]`, Packet{Type: PacketEvent, Nsp: "/", ID: NoID, Data: []byte(`[3]`)}}, // numeric event names are allowed
		{`3/admin,456[]`, Packet{Type: PacketAck, Nsp: "/admin", ID: 456, Data: []byte(`[]`)}},
		{`4{"message":"Not authorized"}`, Packet{Type: PacketConnectError, Nsp: "/", ID: NoID, Data: []byte(`{"message":"Not authorized"}`)}},
		{`4/nsp,"Not authorized"`, Packet{Type: PacketConnectError, Nsp: "/nsp", ID: NoID, Data: []byte(`"Not authorized"`)}},
		{`51-["hello",{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, Nsp: "/", ID: NoID, Attachments: 1, Data: []byte(`["hello",{"_placeholder":true,"num":0}]`)}},
		{`52-/admin,789[1,{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, Nsp: "/admin", ID: 789, Attachments: 2, Data: []byte(`[1,{"_placeholder":true,"num":0}]`)}},
		{`61-/admin,456[{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryAck, Nsp: "/admin", ID: 456, Attachments: 1, Data: []byte(`[{"_placeholder":true,"num":0}]`)}},
	} {
		got, err := Decode([]byte(tc.in), DefaultMaxAttachments)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

// The invalid packets of the official suite and of Node's parser tests.
func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]error{
		``:                    ErrUnknownType,
		`abc`:                 ErrUnknownType,
		`7`:                   ErrUnknownType,
		`2{}`:                 ErrInvalidPayload,
		`2{"a":1}`:            ErrInvalidPayload,
		`2abc["message",1]`:   ErrInvalidPayload,
		`2`:                   ErrInvalidPayload,
		`2[]`:                 ErrInvalidPayload,
		`2[true]`:             ErrInvalidPayload,
		`2"hello"`:            ErrInvalidPayload,
		`2["connect"]`:        ErrInvalidPayload,
		`2["disconnecting"]`:  ErrInvalidPayload,
		`2["a"`:               ErrInvalidPayload,
		`2 [ "connect" , 1 ]`: ErrInvalidPayload,
		`2["\u0063onnect"]`:   ErrInvalidPayload, // "connect", escaped
		`2[{"a":"b"}]`:        ErrInvalidPayload,
		`2[null]`:             ErrInvalidPayload,
		`2[["x"]]`:            ErrInvalidPayload,
		`3{}`:                 ErrInvalidPayload,
		`1{}`:                 ErrInvalidPayload,
		`0[]`:                 ErrInvalidPayload,
		`0"x"`:                ErrInvalidPayload,
		`4[]`:                 ErrInvalidPayload,
		`5["message"]`:        ErrIllegalAttachments,
		`5x-["message"]`:      ErrIllegalAttachments,
		`50-["message"]`:      ErrIllegalAttachments,
		`511-["message"]`:     ErrTooManyAttachments,
		`5999999-["m"]`:       ErrIllegalAttachments,
		`21234567890123456[]`: ErrInvalidID,
	} {
		_, err := Decode([]byte(in), DefaultMaxAttachments)
		if !errors.Is(err, want) {
			t.Errorf("%q: err %v, want %v", in, err, want)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ  PacketType
		nsp  string
		id   int64
		att  int
		want string
	}{
		{PacketConnect, "/", NoID, 0, "0"},
		{PacketConnect, "/admin", NoID, 0, "0/admin,"},
		{PacketEvent, "/", 12, 0, "212"},
		{PacketEvent, "/admin", 456, 0, "2/admin,456"},
		{PacketBinaryEvent, "/", NoID, 2, "52-"},
		{PacketBinaryAck, "/admin", 456, 1, "61-/admin,456"},
	} {
		if got := string(AppendHeader(nil, tc.typ, tc.nsp, tc.id, tc.att)); got != tc.want {
			t.Errorf("AppendHeader(%v, %q, %d, %d) = %q, want %q", tc.typ, tc.nsp, tc.id, tc.att, got, tc.want)
		}
	}
}

func TestArgsRoundTrip(t *testing.T) {
	t.Parallel()
	args := []any{"message", []byte{1, 2, 3}, map[string]any{"file": []byte{4}, "name": "<b>x</b>"}, []any{1.5, []byte{}}}
	data, att, err := EncodeArgs(nil, args)
	if err != nil {
		t.Fatal(err)
	}
	if len(att) != 3 {
		t.Fatalf("%d attachments, want 3", len(att))
	}
	if !bytes.Contains(data, []byte(`"<b>x</b>"`)) {
		t.Errorf("HTML escaped: %s", data)
	}
	if bytes.Contains(data, []byte(`AQID`)) {
		t.Errorf("binary sent as base64 in the JSON: %s", data)
	}
	if _, ok := args[2].(map[string]any)["file"].([]byte); !ok {
		t.Error("EncodeArgs changed the caller's map")
	}
	p, err := Decode(append(AppendHeader(nil, PacketBinaryEvent, "/", NoID, len(att)), data...), DefaultMaxAttachments)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeArgs(p.Data, att)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, args) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, args)
	}
}

func TestDecodeArgsPlaceholders(t *testing.T) {
	t.Parallel()
	got, err := DecodeArgs([]byte(`["m",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), [][]byte{{1}, {2}})
	if err != nil || !reflect.DeepEqual(got, []any{"m", []byte{2}, []byte{1}}) {
		t.Fatalf("got %#v, %v", got, err)
	}
	for _, bad := range []string{
		`["m",{"_placeholder":true,"num":2}]`,
		`["m",{"_placeholder":true,"num":-1}]`,
		`["m",{"_placeholder":true,"num":0.5}]`,
		`["m",{"_placeholder":true}]`,
	} {
		if _, err := DecodeArgs([]byte(bad), [][]byte{{1}, {2}}); !errors.Is(err, ErrMissingAttachment) {
			t.Errorf("%s: err %v", bad, err)
		}
	}
	if got, _ := DecodeArgs(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("no payload: %#v", got)
	}
	// Without attachments a placeholder is plain data, as in Node.
	if got, err := DecodeArgs([]byte(`[{"_placeholder":true,"num":0}]`), nil); err != nil || len(got) != 1 {
		t.Errorf("placeholder without attachments: %#v %v", got, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`0`, `0/admin,{"a":1}`, `2["x",1]`, `212["x"]`, `51-["x",{"_placeholder":true,"num":0}]`, `3/a,1[]`, `4"x"`, `5-`, `2/`, `2/a`, `29999`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Decode(in, DefaultMaxAttachments)
		if err != nil {
			return
		}
		if p.Attachments > DefaultMaxAttachments || p.ID < NoID || p.Nsp == "" {
			t.Fatalf("%q decoded to %+v", in, p)
		}
		// A packet that decodes re-encodes to one that decodes the same.
		out := append(AppendHeader(nil, p.Type, p.Nsp, p.ID, p.Attachments), p.Data...)
		q, err := Decode(out, DefaultMaxAttachments)
		if err != nil {
			// A namespace ending the packet without a comma, or a data
			// payload starting with a digit after a namespace, do not
			// survive; neither is sent by a client.
			return
		}
		if q.Type != p.Type || q.Nsp != p.Nsp || q.ID != p.ID || q.Attachments != p.Attachments || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("%q -> %+v -> %q -> %+v", in, p, out, q)
		}
		if p.Type == PacketEvent || p.Type == PacketAck || p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
			_, _ = DecodeArgs(p.Data, nil)
		}
	})
}

// firstElement scans what a decoder would read as the first element of an
// event's array; it must agree with one on every valid array.
func TestFirstElementAgreesWithDecoding(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`["hello",1]`, ` [ "hello" ]`, "[\n\t\"x\"]", `["a\"b",2]`, `["a\\"]`, `["\u00e9t\u00e9"]`,
		`["\u0063onnect"]`, `["caf\u00e9\\\"x"]`, `[""]`, `[3]`, `[-1.5e3,"x"]`, `[0]`,
		`[]`, `[ ]`, `[true]`, `[null]`, `[{"a":"b"}]`, `[["x"]]`,
	} {
		checkFirstElement(t, []byte(in))
	}
}

func FuzzFirstElement(f *testing.F) {
	for _, s := range []string{`["x",1]`, `["a\"b"]`, `[1]`, `[]`, `[{}]`, ` [ "\u0041" ]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) || firstByte(in) != '[' {
			return
		}
		checkFirstElement(t, in)
	})
}

func checkFirstElement(t *testing.T, in []byte) {
	t.Helper()
	var args []any
	if err := json.Unmarshal(in, &args); err != nil {
		t.Fatalf("%s: not a valid array: %v", in, err)
	}
	name, kind := firstElement(in)
	var wantKind byte
	var wantName string
	if len(args) > 0 {
		switch v := args[0].(type) {
		case string:
			wantKind, wantName = '"', v
		case float64:
			wantKind = '0'
		}
	}
	if kind != wantKind || string(name) != wantName {
		t.Errorf("%s: firstElement = %q, %q; want %q, %q", in, name, kind, wantName, wantKind)
	}
}

// BenchmarkDecodeEvent is what every event from a client costs before its
// handler: the packet header, the payload check and the arguments.
func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(`2/chat,12["rtt",{"t":1733100000000,"room":"lobby"}]`)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Decode(in, DefaultMaxAttachments)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeArgs(p.Data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
