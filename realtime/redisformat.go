package realtime

// The Redis adapter's wire format, as Node's @socket.io/redis-adapter and
// @socket.io/redis-emitter write it: msgpack (notepack.io) for broadcasts,
// JSON for most requests and responses, and in both the values a JavaScript
// program would see. Go values go out the way this node's own clients get
// them (JSON, honouring json tags), except binary ([]byte), which travels as
// msgpack bin and arrives as a Buffer. What comes in is turned into the JSON
// values Handler promises (numbers as float64, dates as ISO strings) plus
// []byte.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// jsISOTime is JavaScript's Date.prototype.toISOString (in UTC), which is
// what Node's own clients get for a Date.
const jsISOTime = "2006-01-02T15:04:05.000Z07:00"

func encodeMsgpack(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeMsgpack(b []byte) (any, error) {
	// Not UseLooseInterfaceDecoding: it would turn bin into string.
	v, err := msgpack.NewDecoder(bytes.NewReader(b)).DecodeInterface()
	if err != nil {
		return nil, err
	}
	return fromWire(v), nil
}

// decodeRequest reads a request or response: JSON when it starts with "{"
// (as Node's adapter decides too), msgpack otherwise.
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
		return nil, fmt.Errorf("request is a %T, not an object", v)
	}
	return m, nil
}

// toWire turns a Go value into what Node would put on the wire for the
// value a client of this node receives: JSON-shaped, []byte kept as binary.
// It never modifies v (the packet is still to be delivered here).
func toWire(v any) any {
	switch t := v.(type) {
	case nil, bool, string, float64, float32,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return t
	case []byte:
		return t
	case json.Number:
		return jsonNumber(t)
	case *types.StringBuffer:
		return t.String()
	case types.BufferInterface:
		return bytes.Clone(t.Bytes())
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
	// Structs, typed maps and slices, time.Time...: as encoding/json (which
	// the Socket.IO parser uses for this node's clients) renders them.
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

// fromWire turns decoded msgpack into JSON values (in place).
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
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = fromWire(e)
		}
		return out
	}
	return v
}

func intOf(v any) (int64, bool) {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && !math.IsInf(t, 0) {
			return int64(t), true
		}
	case int64:
		return t, true
	case uint64:
		return int64(t), true
	case int:
		return int64(t), true
	}
	return 0, false
}

// ----------------------------------------------------------- packets

func packetToWire(p *parser.Packet) map[string]any {
	m := map[string]any{"type": int(p.Type), "nsp": p.Nsp}
	if p.Data != nil {
		m["data"] = toWire(p.Data)
	}
	if p.Id != nil {
		m["id"] = *p.Id
	}
	return m
}

func packetFromWire(v any) (*parser.Packet, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	typ, ok := intOf(m["type"])
	if !ok || typ < 0 || typ > int64(parser.BINARY_ACK) {
		return nil, false
	}
	p := &parser.Packet{Type: parser.PacketType(typ), Nsp: "/", Data: m["data"]}
	if nsp, ok := m["nsp"].(string); ok {
		p.Nsp = nsp
	}
	if id, ok := intOf(m["id"]); ok && id >= 0 {
		u := uint64(id)
		p.Id = &u
	}
	return p, true
}

// ----------------------------------------------------------- options

// optionsToWire is Node's rawOpts: {rooms, except, flags}, lists always
// present.
func optionsToWire(opts *socket.BroadcastOptions) map[string]any {
	m := map[string]any{"rooms": []string{}, "except": []string{}, "flags": map[string]any{}}
	if opts == nil {
		return m
	}
	if opts.Rooms != nil {
		m["rooms"] = roomStrings(opts.Rooms.Keys())
	}
	if opts.Except != nil {
		m["except"] = roomStrings(opts.Except.Keys())
	}
	if f := opts.Flags; f != nil {
		flags := map[string]any{}
		if f.Volatile {
			flags["volatile"] = true
		}
		if f.Compress != nil {
			flags["compress"] = *f.Compress
		}
		if f.Local {
			flags["local"] = true
		}
		if f.Timeout != nil {
			flags["timeout"] = f.Timeout.Milliseconds() // Node: milliseconds
		}
		if f.ExpectSingleResponse {
			flags["expectSingleResponse"] = true
		}
		m["flags"] = flags
	}
	return m
}

func optionsFromWire(v any) *socket.BroadcastOptions {
	m, _ := v.(map[string]any)
	opts := roomOptions(m)
	f, _ := m["flags"].(map[string]any)
	flags := &socket.BroadcastFlags{}
	flags.Volatile, _ = f["volatile"].(bool)
	if c, ok := f["compress"].(bool); ok {
		flags.Compress = &c
	}
	if ms, ok := f["timeout"].(float64); ok && ms >= 0 {
		d := time.Duration(ms * float64(time.Millisecond))
		flags.Timeout = &d
	}
	flags.ExpectSingleResponse, _ = f["expectSingleResponse"].(bool)
	opts.Flags = flags
	return opts
}

// roomOptions reads {rooms, except}.
func roomOptions(m map[string]any) *socket.BroadcastOptions {
	return &socket.BroadcastOptions{
		Rooms:  types.NewSet(roomsOf(m["rooms"])...),
		Except: types.NewSet(roomsOf(m["except"])...),
	}
}

func roomsExcept(opts *socket.BroadcastOptions) map[string]any {
	o := optionsToWire(opts)
	return map[string]any{"rooms": o["rooms"], "except": o["except"]}
}

// roomsOf reads a list of rooms; Node allows numbers as rooms too.
func roomsOf(v any) []socket.Room {
	list, _ := v.([]any)
	out := make([]socket.Room, 0, len(list))
	for _, e := range list {
		switch t := e.(type) {
		case string:
			out = append(out, socket.Room(t))
		case float64:
			out = append(out, socket.Room(strconv.FormatFloat(t, 'f', -1, 64)))
		}
	}
	return out
}

func roomStrings(rooms []socket.Room) []string {
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = string(r)
	}
	return out
}

// ----------------------------------------------------------- sockets

// socketToWire is one socket of a fetchSockets answer, as Node sends it.
func socketToWire(s socket.SocketDetails) map[string]any {
	var rooms []string
	if rs := s.Rooms(); rs != nil {
		rooms = roomStrings(rs.Keys())
	}
	if rooms == nil {
		rooms = []string{}
	}
	data := s.Data()
	if data == nil {
		data = map[string]any{} // socket.data's default in Node
	}
	return map[string]any{
		"id":        string(s.Id()),
		"handshake": handshakeToWire(s.Handshake()),
		"rooms":     rooms,
		"data":      data,
	}
}

// handshakeToWire shapes the handshake as Node's: lower-case header names,
// a header or query value a string unless repeated.
func handshakeToWire(h *socket.Handshake) map[string]any {
	if h == nil {
		return map[string]any{}
	}
	auth := h.Auth
	if auth == nil {
		auth = map[string]any{}
	}
	return map[string]any{
		"headers": nodeValues(h.Headers, true),
		"time":    h.Time,
		"address": h.Address,
		"xdomain": h.Xdomain,
		"secure":  h.Secure,
		"issued":  h.Issued,
		"url":     h.Url,
		"query":   nodeValues(h.Query, false),
		"auth":    auth,
	}
}

func nodeValues[M ~map[string]any](in M, lower bool) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if lower {
			k = strings.ToLower(k)
		}
		if l, ok := v.([]string); ok && len(l) == 1 {
			out[k] = l[0]
		} else {
			out[k] = v
		}
	}
	return out
}

// remoteSocket is a socket of another server, from a fetchSockets answer.
type remoteSocket struct {
	id        socket.SocketId
	handshake *socket.Handshake
	rooms     *types.Set[socket.Room]
	data      any
}

func (s *remoteSocket) Id() socket.SocketId            { return s.id }
func (s *remoteSocket) Handshake() *socket.Handshake   { return s.handshake }
func (s *remoteSocket) Rooms() *types.Set[socket.Room] { return s.rooms }
func (s *remoteSocket) Data() any                      { return s.data }

func socketFromWire(v any) (socket.SocketDetails, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	id, _ := m["id"].(string)
	if id == "" {
		return nil, false
	}
	rs := &remoteSocket{id: socket.SocketId(id), rooms: types.NewSet(roomsOf(m["rooms"])...), data: m["data"], handshake: &socket.Handshake{}}
	if h, ok := m["handshake"]; ok {
		if b, err := json.Marshal(h); err == nil {
			_ = json.Unmarshal(b, rs.handshake)
		}
	}
	return rs, true
}
