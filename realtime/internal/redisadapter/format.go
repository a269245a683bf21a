package redisadapter

// The wire format, as Node's @socket.io/redis-adapter 8.x and
// @socket.io/redis-emitter 5.x write it: msgpack (notepack.io) for
// broadcasts, broadcasts with acknowledgements and their acknowledgements,
// JSON for the other requests and responses; in both, the values a
// JavaScript program would see.
//
// Going out, Go values are first made what this server's own clients get
// for them (socketio.EncodeArgs, that is encoding/json with its json tags),
// except []byte, which travels as msgpack bin (a Buffer in Node). Maps and
// structs of the protocol itself are encoded with their keys in Node's
// order, integers and integral floats as notepack's smallest integer, so a
// message is the bytes notepack would write for the same object. Coming
// in, values are made the JSON values the socketio package hands to
// handlers: numbers as float64, objects as map[string]any, a JavaScript
// Date as its toISOString text, Buffers as []byte.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Request and response types (Node's RequestType).
const (
	typeSockets          = 0
	typeAllRooms         = 1
	typeRemoteJoin       = 2
	typeRemoteLeave      = 3
	typeRemoteDisconnect = 4
	typeRemoteFetch      = 5
	typeServerSideEmit   = 6
	typeBroadcast        = 7
	typeClientCount      = 8 // BROADCAST_CLIENT_COUNT
	typeBroadcastAck     = 9
)

// packetEvent is the Socket.IO EVENT type; Node puts it in a broadcast's
// packet even when the arguments hold binary (its encoder makes that a
// BINARY_EVENT per client), so 5 is accepted too.
const (
	packetEvent       = 2
	packetBinaryEvent = 5
)

// jsISOTime is JavaScript's Date.prototype.toISOString, which is what a
// Node client gets for a Date.
const jsISOTime = "2006-01-02T15:04:05.000Z07:00"

// ------------------------------------------------------------- messages

// wirePacket is a broadcast's packet, keys in Node's order: {type, data,
// nsp} (the broadcast operator makes {type, data}, the adapter sets nsp).
type wirePacket struct {
	Type int    `msgpack:"type"`
	Data []any  `msgpack:"data"`
	Nsp  string `msgpack:"nsp"`
}

// wireOpts is Node's rawOpts: {rooms, except, flags}, lists always there
// (Node's adapter spreads them into Sets, and an absent list would throw).
type wireOpts struct {
	Rooms  []string  `msgpack:"rooms"`
	Except []string  `msgpack:"except"`
	Flags  wireFlags `msgpack:"flags"`
}

// wireFlags are the broadcast flags Node's servers read: volatile, and for
// a broadcast with acks its timeout in milliseconds (defect 6 of the
// library's adapter sent nanoseconds). latest is this project's
// latest-value flag; a latest-value broadcast is also marked volatile, the
// nearest flag Node's servers know (they ignore latest), so that no server
// queues stale values.
type wireFlags struct {
	Volatile bool   `msgpack:"volatile,omitempty"`
	Timeout  int64  `msgpack:"timeout,omitempty"`
	Latest   string `msgpack:"latest,omitempty"`
}

// broadcastRequest is a broadcast with acknowledgements (msgpack, as
// Node's): {uid, requestId, type: 7, packet, opts}.
type broadcastRequest struct {
	UID       string     `msgpack:"uid"`
	RequestID string     `msgpack:"requestId"`
	Type      int        `msgpack:"type"`
	Packet    wirePacket `msgpack:"packet"`
	Opts      wireOpts   `msgpack:"opts"`
}

// broadcastAck relays one client's acknowledgement (msgpack {type,
// requestId, packet}): its first argument as packet, the key left out
// when there was none (notepack drops an undefined value) but kept for a
// null (see EncodeMsgpack).
type broadcastAck struct {
	Type      int
	RequestID string
	Packet    any
	HasPacket bool
}

// The JSON requests, keys in Node's order.
type roomsExcept struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
}

type simpleRequest struct {
	UID       string `json:"uid"`
	RequestID string `json:"requestId,omitempty"`
	Type      int    `json:"type"`
}

type fetchRequest struct {
	UID       string      `json:"uid"`
	RequestID string      `json:"requestId"`
	Type      int         `json:"type"`
	Opts      roomsExcept `json:"opts"`
}

type roomsRequest struct { // REMOTE_JOIN, REMOTE_LEAVE
	UID   string      `json:"uid"`
	Type  int         `json:"type"`
	Opts  roomsExcept `json:"opts"`
	Rooms []string    `json:"rooms"`
}

type disconnectRequest struct {
	UID   string      `json:"uid"`
	Type  int         `json:"type"`
	Opts  roomsExcept `json:"opts"`
	Close bool        `json:"close"`
}

type serverSideRequest struct {
	UID       string `json:"uid"`
	RequestID string `json:"requestId,omitempty"`
	Type      int    `json:"type"`
	Data      []any  `json:"data"`
}

// The JSON responses. The lists are never left out: Node's adapter counts
// an answer without its list but then never completes the request
// (defect 4 of the library's adapter).
type socketsResponse struct {
	RequestID string `json:"requestId"`
	Sockets   []any  `json:"sockets"`
}

type roomsResponse struct {
	RequestID string   `json:"requestId"`
	Rooms     []string `json:"rooms"`
}

type emptyResponse struct {
	RequestID string `json:"requestId"`
}

// serverSideResponse answers a server-side emit with the handler's one
// value (Node's serverSideEmitWithAck collects response.data per server;
// defect 3 of the library's adapter sent the list of arguments). Data is
// raw so that an answer of undefined can be left out as JSON.stringify
// does.
type serverSideResponse struct {
	Type      int             `json:"type"`
	RequestID string          `json:"requestId"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// clientCountResponse says how many clients a server asked (defect 5 of
// the library's adapter spelt it "clientcount").
type clientCountResponse struct {
	Type        int    `json:"type"`
	RequestID   string `json:"requestId"`
	ClientCount int    `json:"clientCount"`
}

// wireSocket is one socket of a fetchSockets answer, as Node sends it.
type wireSocket struct {
	ID        string         `json:"id"`
	Handshake map[string]any `json:"handshake"`
	Rooms     []string       `json:"rooms"`
	Data      any            `json:"data"`
}

// ---------------------------------------------------------- encoding

func encodeMsgpack(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)   // notepack writes the smallest integer
	enc.UseCompactFloats(true) // and a JavaScript number with no fraction is one
	enc.SetSortMapKeys(true)   // deterministic (Go maps have no order)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeJSON is JSON.stringify's output: no HTML escaping.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode adds a newline
}

// EncodeMsgpack writes the packet key only when there is one.
func (b broadcastAck) EncodeMsgpack(enc *msgpack.Encoder) error {
	n := 2
	if b.HasPacket {
		n = 3
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	keys := [3]string{"type", "requestId", "packet"}
	vals := [3]any{b.Type, b.RequestID, b.Packet}
	for i := range n {
		if err := enc.EncodeString(keys[i]); err != nil {
			return err
		}
		if err := enc.Encode(vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------- decoding

// decodeMsgpack reads a message as notepack would, then makes its values
// JSON values.
func decodeMsgpack(b []byte) (any, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	// Not UseLooseInterfaceDecoding: it would make bin a string. Maps with
	// keys that are not strings (no JavaScript object has them) get their
	// keys as text rather than failing the whole message.
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) {
		n, err := d.DecodeMapLen()
		if err != nil || n < 0 {
			return nil, err
		}
		m := make(map[string]any, n)
		for range n {
			k, err := d.DecodeInterface()
			if err != nil {
				return nil, err
			}
			v, err := d.DecodeInterface()
			if err != nil {
				return nil, err
			}
			switch t := k.(type) {
			case string:
				m[t] = v
			case []byte:
				m[string(t)] = v
			default:
				m[fmt.Sprint(fromWire(t))] = v
			}
		}
		return m, nil
	})
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, err
	}
	return fromWire(v), nil
}

// decodeRequest reads a request or a response: JSON when it starts with
// "{" (as Node's adapter decides), msgpack otherwise.
func decodeRequest(b []byte) (map[string]any, error) {
	var v any
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
	} else {
		var err error
		if v, err = decodeMsgpack(b); err != nil {
			return nil, err
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("redisadapter: request is a %T, not an object", v)
	}
	return m, nil
}

// fromWire turns decoded msgpack into JSON values, in place: every number
// a float64 (as JavaScript and encoding/json have them), a Date its ISO
// text as a Node client would get it (defect 7 of the library's adapter
// rendered it as Go does, "…09.5Z" for "…09.500Z").
func fromWire(v any) any {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	case int8:
		return float64(t)
	case int16:
		return float64(t)
	case int32:
		return float64(t)
	case uint8:
		return float64(t)
	case uint16:
		return float64(t)
	case uint32:
		return float64(t)
	case float32:
		return float64(t)
	case time.Time:
		return t.UTC().Format(jsISOTime)
	case []any:
		for i := range t {
			t[i] = fromWire(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = fromWire(t[k])
		}
	}
	return v
}

// ------------------------------------------------------- Go values out

// toWire turns the arguments of a broadcast into what Node would publish
// for the values this server's clients receive: JSON-shaped (json tags
// honoured: defect 2 of the library's adapter encoded structs with
// msgpack's own rules), []byte kept as binary where the socketio package
// sends it as an attachment (at the top level and inside []any and
// map[string]any). It never modifies v: the packet is still delivered here.
func toWire(v any) any {
	switch t := v.(type) {
	case nil, bool, string, float64,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return t
	case float32:
		return float64(t) // a JavaScript number
	case []byte:
		return t
	case json.Number:
		return jsonNumber(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toWire(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = toWire(e)
		}
		return out
	}
	// Structs, typed maps and slices, time.Time, json.Marshalers...: as
	// encoding/json (which the socketio package uses for this server's
	// clients) renders them.
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil
	}
	return numbersFromJSON(out)
}

func numbersFromJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		return jsonNumber(t)
	case []any:
		for i := range t {
			t[i] = numbersFromJSON(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = numbersFromJSON(t[k])
		}
	}
	return v
}

func jsonNumber(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, _ := n.Float64()
	return f
}

// dataToWire is a packet's data for the wire.
func dataToWire(data []any) []any {
	out, _ := toWire(data).([]any)
	if out == nil {
		out = []any{}
	}
	return out
}

// --------------------------------------------------------------- fields

func intOf(v any) (int64, bool) {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && !math.IsInf(t, 0) && !math.IsNaN(t) {
			return int64(t), true
		}
	case int64:
		return t, true
	case int:
		return int64(t), true
	}
	return 0, false
}

// roomsOf reads a list of rooms; Node allows numbers as rooms too (String
// of the number is the room's name in the channel).
func roomsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch t := e.(type) {
		case string:
			out = append(out, t)
		case float64:
			out = append(out, strconv.FormatFloat(t, 'f', -1, 64))
		}
	}
	return out
}

// unique is Node's [...new Set(list)]: duplicates out, order kept, never
// nil (an absent list breaks Node's adapter).
func unique(list []string) []string {
	out := make([]string, 0, len(list))
	seen := make(map[string]struct{}, len(list))
	for _, r := range list {
		if _, dup := seen[r]; !dup {
			seen[r] = struct{}{}
			out = append(out, r)
		}
	}
	return out
}

// optsToWire is a broadcast's rawOpts.
func optsToWire(opts socketio.BroadcastOptions) wireOpts {
	w := wireOpts{Rooms: unique(opts.Rooms), Except: unique(opts.Except)}
	w.Flags.Volatile = opts.Flags.Volatile || opts.Flags.Latest != ""
	w.Flags.Latest = opts.Flags.Latest
	if opts.Flags.Timeout > 0 {
		w.Flags.Timeout = max(opts.Flags.Timeout.Milliseconds(), 1)
	}
	return w
}

func roomsExceptOf(opts socketio.BroadcastOptions) roomsExcept {
	return roomsExcept{Rooms: unique(opts.Rooms), Except: unique(opts.Except)}
}

// optsFromWire reads {rooms, except, flags}: the flags this server acts on
// are volatile and latest (timeout only concerns the sender; compress has
// no meaning here). Local is not read: what arrives is delivered here.
func optsFromWire(v any) socketio.BroadcastOptions {
	m, _ := v.(map[string]any)
	opts := socketio.BroadcastOptions{Rooms: roomsOf(m["rooms"]), Except: roomsOf(m["except"])}
	f, _ := m["flags"].(map[string]any)
	opts.Flags.Volatile, _ = f["volatile"].(bool)
	opts.Flags.Latest, _ = f["latest"].(string)
	if opts.Flags.Latest != "" {
		opts.Flags.Volatile = false // latest is the stronger promise: the last value arrives
	}
	if ms, ok := f["timeout"].(float64); ok && ms > 0 && ms < math.MaxInt64/float64(time.Millisecond) {
		opts.Flags.Timeout = time.Duration(ms * float64(time.Millisecond))
	}
	return opts
}

// packetData reads a broadcast's packet: the event's data if it is an
// event of namespace nsp (a packet without nsp is for "/", as in Node).
func packetData(v any, nsp string) ([]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if typ, ok := intOf(m["type"]); !ok || (typ != packetEvent && typ != packetBinaryEvent) {
		return nil, false
	}
	name := "/"
	if s, ok := m["nsp"].(string); ok {
		name = s
	}
	if name != nsp {
		return nil, false
	}
	data, _ := m["data"].([]any)
	if len(data) == 0 {
		return nil, false
	}
	if _, ok := data[0].(string); !ok {
		return nil, false
	}
	return data, true
}

// socketToWire is a local socket in a fetchSockets answer.
func socketToWire(s socketio.SocketInfo) wireSocket {
	w := wireSocket{ID: s.ID, Handshake: s.Handshake, Rooms: s.Rooms, Data: s.Data}
	if s.Local != nil {
		w.Data = s.Local.SharedData()
	}
	if w.Handshake == nil {
		w.Handshake = map[string]any{}
	}
	if w.Rooms == nil {
		w.Rooms = []string{}
	}
	if w.Data == nil {
		w.Data = map[string]any{} // socket.data's default in Node
	}
	return w
}

// socketFromWire is another server's socket, from its answer.
func socketFromWire(v any) (socketio.SocketInfo, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return socketio.SocketInfo{}, false
	}
	id, _ := m["id"].(string)
	if id == "" {
		return socketio.SocketInfo{}, false
	}
	hs, _ := m["handshake"].(map[string]any)
	if hs == nil {
		hs = map[string]any{}
	}
	return socketio.SocketInfo{ID: id, Handshake: hs, Rooms: roomsOf(m["rooms"]), Data: m["data"]}, true
}
