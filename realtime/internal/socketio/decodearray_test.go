package socketio

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// jsonCases are inputs for decodeArray against encoding/json: the seeds
// of the fuzz test, and a table run on every `go test`.
var jsonCases = []string{
	`["rtt",{}]`, `["message",{"room":"lobby","text":"hi","clientId":"c1"}]`,
	`[]`, `[ ]`, `{}`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`,
	`1e400`, `-1e400`, `1e-400`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x10`,
	`"a"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`,
	`"\ud83d\u0041"`, `"\ud83d\uZZZZ"`, `"\u12"`, `"\x"`, `"tab\there"`, "\"raw\ttab\"",
	`"\"\\\/\b\f\n\r\t"`, "\"\xff\xfe\"", "\"caf\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
	`{"a":1,"a":2}`, `{"a":[1,{"b":null}]}`, `{"a" : 1 , "b" : [ ] }`, `{"a":1,}`, `[1,]`,
	`[1 2]`, `{"a" 1}`, `{1:2}`, `[`, `{`, `["a"`, `"unterminated`, `[1]x`, ` [1] `,
	"\t\n\r[1]\r\n", `nul`, `tru`, `[true,false,null]`, `[truex]`, "", " ",
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`{"_placeholder":true,"num":0}`, `[-9007199254740993, 123456789012345678901234567890]`,
}

// For a valid document (what the parser lets through), decodeArray gives
// what json.Unmarshal into a []any gives, and refuses what it refuses.
func checkDecodeArray(t *testing.T, in string) {
	t.Helper()
	if !json.Valid([]byte(in)) {
		return
	}
	var want, got []any
	wantErr := json.Unmarshal([]byte(in), &want)
	err := decodeArray([]byte(in), &got)
	if (err != nil) != (wantErr != nil) {
		t.Errorf("decodeArray(%q): error %v, encoding/json: %v", in, err, wantErr)
		return
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("decodeArray(%q) = %#v, encoding/json: %#v", in, got, want)
	}
}

func TestDecodeArrayMatchesEncodingJSON(t *testing.T) {
	for _, in := range jsonCases {
		checkDecodeArray(t, in)
	}
}

func FuzzDecodeArrayMatchesEncodingJSON(f *testing.F) {
	for _, in := range jsonCases {
		if len(in) < 1000 {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) { checkDecodeArray(t, in) })
}

// BenchmarkDecodeArgs decodes a chat message's arguments.
func BenchmarkDecodeArgs(b *testing.B) {
	data := []byte(`["message",{"room":"lobby","text":"hello there, caf\u00e9","clientId":"c-42"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeArgs(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
