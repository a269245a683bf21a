package socketio

import (
	"encoding/json"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// decodeArray decodes a JSON document, which the parser has already
// checked (json.Valid), into args as encoding/json would: objects as
// map[string]any, numbers as float64; null leaves args nil, and a
// document that is not an array is an error.
//
// Event arguments are decoded for every event a client sends, and
// encoding/json's reflection was the largest part of the Socket.IO
// layer's own cost per event; goccy/go-json decodes them in about 0.6 of
// the time, with fewer allocations, and gives the same values for valid
// JSON except in one case: it keeps invalid UTF-8 inside a string as it
// is, where encoding/json puts U+FFFD. A document that is not valid UTF-8
// (a polling client can send one; WebSocket text frames are checked)
// goes to encoding/json instead. FuzzDecodeArrayMatchesEncodingJSON holds
// the two to the same results for every valid document.
func decodeArray(data []byte, args *[]any) error {
	if utf8.Valid(data) {
		return gojson.Unmarshal(data, args)
	}
	return json.Unmarshal(data, args)
}
