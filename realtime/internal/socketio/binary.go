package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Binary data travels beside the JSON: each []byte in an event's arguments
// is replaced by {"_placeholder":true,"num":N} and sent as the N-th binary
// Engine.IO message after the packet.

// ErrMissingAttachment is returned for a placeholder without its data.
var ErrMissingAttachment = errors.New("socketio: placeholder without an attachment")

// DecodeArgs decodes a JSON array payload into Go values (objects as
// map[string]any, numbers as float64, as encoding/json does; see
// decodeArray) and puts the attachments in place of their placeholders,
// as []byte.
func DecodeArgs(data []byte, attachments [][]byte) ([]any, error) {
	var args []any
	if len(data) > 0 {
		if err := decodeArray(data, &args); err != nil {
			return nil, ErrInvalidPayload
		}
	}
	if args == nil {
		args = []any{}
	}
	if len(attachments) == 0 {
		return args, nil
	}
	for i := range args {
		v, err := reconstruct(args[i], attachments)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	return args, nil
}

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

func reconstruct(v any, att [][]byte) (any, error) {
	switch t := v.(type) {
	case []any:
		for i := range t {
			r, err := reconstruct(t[i], att)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
	case map[string]any:
		if ph, ok := t["_placeholder"].(bool); ok && ph {
			n, ok := t["num"].(float64)
			if !ok || n < 0 || int(n) >= len(att) || float64(int(n)) != n {
				return nil, ErrMissingAttachment
			}
			return att[int(n)], nil
		}
		for k := range t {
			r, err := reconstruct(t[k], att)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
	}
	return v, nil
}

// EncodeArgs encodes values as a JSON array, appended to dst, taking every
// []byte out as an attachment (in order) and leaving its placeholder.
// Binary data is found at the top level and inside []any and map[string]any;
// the caller's containers are not changed. JSON is written as JavaScript's
// JSON.stringify writes it (no HTML escaping).
func EncodeArgs(dst []byte, values []any) ([]byte, [][]byte, error) {
	e := getArgsEncoder()
	defer e.put()
	data, att, err := e.encode(values)
	if err != nil {
		return dst, nil, err
	}
	return append(dst, data...), att, nil
}

// An argsEncoder is a JSON encoder and the buffer it writes to, pooled, so
// that encoding a packet's arguments allocates nothing of its own once the
// pool is warm.
type argsEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var argsEncoders = sync.Pool{New: func() any {
	e := &argsEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxPooledEncoderBuffer bounds the buffer an encoder keeps in the pool: one
// large payload must not pin its memory.
const maxPooledEncoderBuffer = 64 << 10

func getArgsEncoder() *argsEncoder { return argsEncoders.Get().(*argsEncoder) }

func (e *argsEncoder) put() {
	if e.buf.Cap() > maxPooledEncoderBuffer {
		return
	}
	argsEncoders.Put(e)
}

// encode is EncodeArgs into the encoder's buffer: the JSON it returns is
// valid until the encoder is put back.
func (e *argsEncoder) encode(values []any) ([]byte, [][]byte, error) {
	var att [][]byte
	vals := values
	if hasBinary(values) {
		vals = make([]any, len(values))
		for i, v := range values {
			vals[i] = deconstruct(v, &att)
		}
	}
	if vals == nil {
		vals = []any{}
	}
	e.buf.Reset()
	if err := e.enc.Encode(vals); err != nil {
		return nil, nil, err
	}
	out := e.buf.Bytes()
	return out[:len(out)-1], att, nil // Encode adds a newline
}

func hasBinary(values []any) bool {
	for _, v := range values {
		switch t := v.(type) {
		case []byte:
			return true
		case []any:
			if hasBinary(t) {
				return true
			}
		case map[string]any:
			for _, e := range t {
				if hasBinary([]any{e}) {
					return true
				}
			}
		}
	}
	return false
}

type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

func deconstruct(v any, att *[][]byte) any {
	switch t := v.(type) {
	case []byte:
		*att = append(*att, t)
		return placeholder{true, len(*att) - 1}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deconstruct(e, att)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deconstruct(e, att)
		}
		return out
	}
	return v
}
