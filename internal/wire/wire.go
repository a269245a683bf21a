// Package wire is the text framing of Engine.IO (protocol v3 and v4) and
// Socket.IO, written for clients that speak the protocol themselves, such as
// the load generator: encoders append to caller-owned buffers and decoders
// return sub-slices of their input, so a hot path can run without
// allocating. Binary attachments are outside its scope (polling clients ask
// for base64 with the b64 query parameter and never send binary).
//
// An Engine.IO packet is one type byte followed by data:
//
//	0 open  1 close  2 ping  3 pong  4 message  5 upgrade  6 noop
//
// A polling payload carries several packets: v4 separates them with the
// record separator 0x1e, v3 prefixes each with its length in UTF-16 code
// units and a colon ("6:4hello2:40").
//
// A Socket.IO packet travels in an Engine.IO message and reads
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//
// e.g. 40/chat, (CONNECT), 42/chat,12["ev",{}] (EVENT asking for ack 12) and
// 43/chat,12[{"ok":true}] (its ACK), counting the Engine.IO '4'.
package wire

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// Engine.IO packet types.
const (
	EOpen    = '0'
	EClose   = '1'
	EPing    = '2'
	EPong    = '3'
	EMessage = '4'
	EUpgrade = '5'
	ENoop    = '6'
)

// Socket.IO packet types. ConnectError is CONNECT_ERROR in Socket.IO protocol
// v5 (socket.io 3.x, 4.x) and ERROR in protocol v4 (2.x); the byte is the
// same.
const (
	Connect      = '0'
	Disconnect   = '1'
	Event        = '2'
	Ack          = '3'
	ConnectError = '4'
	BinaryEvent  = '5'
	BinaryAck    = '6'
)

// RecordSeparator separates the packets of an Engine.IO v4 polling payload.
const RecordSeparator = 0x1e

// NoID is the ack id of a packet that carries none.
const NoID int64 = -1

// Errors returned by the decoders.
var (
	ErrBadPayload = errors.New("wire: malformed polling payload")
	ErrBadPacket  = errors.New("wire: malformed Socket.IO packet")
)

// AppendPayloadPacket appends one Engine.IO packet to dst, which holds a
// polling payload being built (empty for the first packet), in the framing
// of protocol eio (3 or 4).
func AppendPayloadPacket(dst []byte, eio int, pkt []byte) []byte {
	if eio == 3 {
		dst = strconv.AppendInt(dst, int64(UTF16Len(pkt)), 10)
		dst = append(dst, ':')
		return append(dst, pkt...)
	}
	if len(dst) > 0 {
		dst = append(dst, RecordSeparator)
	}
	return append(dst, pkt...)
}

// EncodePayload frames packets as one polling payload of protocol eio.
func EncodePayload(eio int, packets ...[]byte) []byte {
	var dst []byte
	for _, p := range packets {
		dst = AppendPayloadPacket(dst, eio, p)
	}
	return dst
}

// SplitPayload calls fn with each packet of a polling payload of protocol
// eio, in order, stopping at fn's first error. Packets are sub-slices of
// payload. Empty packets (a v3 server sends "0:" for an empty payload) are
// skipped.
func SplitPayload(eio int, payload []byte, fn func(pkt []byte) error) error {
	if eio != 3 {
		for len(payload) > 0 {
			i := indexByte(payload, RecordSeparator)
			var pkt []byte
			if i < 0 {
				pkt, payload = payload, nil
			} else {
				pkt, payload = payload[:i], payload[i+1:]
			}
			if len(pkt) == 0 {
				continue
			}
			if err := fn(pkt); err != nil {
				return err
			}
		}
		return nil
	}
	for len(payload) > 0 {
		n, i := 0, 0
		for ; i < len(payload) && payload[i] != ':'; i++ {
			c := payload[i]
			if c < '0' || c > '9' || i >= 9 {
				return ErrBadPayload
			}
			n = n*10 + int(c-'0')
		}
		if i == 0 || i == len(payload) {
			return ErrBadPayload
		}
		payload = payload[i+1:]
		end, ok := utf16Offset(payload, n)
		if !ok {
			return ErrBadPayload
		}
		pkt := payload[:end]
		payload = payload[end:]
		if len(pkt) == 0 {
			continue
		}
		if err := fn(pkt); err != nil {
			return err
		}
	}
	return nil
}

// UTF16Len is the length of the UTF-8 text b in UTF-16 code units, which is
// what JavaScript's String.length and so Engine.IO v3's payload lengths
// count. Invalid bytes count one unit each.
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// utf16Offset returns the byte offset in b after n UTF-16 code units.
func utf16Offset(b []byte, n int) (int, bool) {
	i := 0
	for n > 0 {
		if i >= len(b) {
			return 0, false
		}
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			n--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		units := 1
		if r >= 0x10000 {
			units = 2
		}
		if units > n {
			return 0, false // a surrogate pair split by the length
		}
		n -= units
		i += size
	}
	return i, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// Handshake is the data of the Engine.IO open packet.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"` // milliseconds
	PingTimeout  int64    `json:"pingTimeout"`  // milliseconds
	MaxPayload   int64    `json:"maxPayload"`   // v4 only
}

// ParseOpen decodes an Engine.IO open packet ("0{...}").
func ParseOpen(pkt []byte) (Handshake, error) {
	var h Handshake
	if len(pkt) == 0 || pkt[0] != EOpen {
		return h, errors.New("wire: not an open packet")
	}
	if err := json.Unmarshal(pkt[1:], &h); err != nil {
		return h, errors.New("wire: open packet: " + err.Error())
	}
	if h.SID == "" || h.PingInterval <= 0 || h.PingTimeout <= 0 {
		return h, errors.New("wire: open packet without sid, pingInterval or pingTimeout")
	}
	return h, nil
}

// Packet is a decoded Socket.IO packet. Its slices point into the input.
type Packet struct {
	Type        byte   // Connect .. BinaryAck
	Attachments int    // binary packets only
	Nsp         []byte // "/" when the packet names no namespace
	ID          int64  // NoID when absent
	Data        []byte // JSON, possibly empty
}

var rootNsp = []byte("/")

// ParsePacket decodes a Socket.IO packet (an Engine.IO message's data,
// without the Engine.IO '4').
func ParsePacket(b []byte) (Packet, error) {
	p := Packet{Nsp: rootNsp, ID: NoID}
	if len(b) == 0 || b[0] < Connect || b[0] > BinaryAck {
		return p, ErrBadPacket
	}
	p.Type = b[0]
	i := 1
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		n, j := 0, i
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			n = n*10 + int(b[j]-'0')
			if j-i > 6 {
				return p, ErrBadPacket
			}
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return p, ErrBadPacket
		}
		p.Attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		p.Nsp = b[i:j]
		if j < len(b) {
			j++ // the comma
		}
		i = j
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		var id int64
		j := i
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			if j-i >= 18 {
				return p, ErrBadPacket
			}
			id = id*10 + int64(b[j]-'0')
		}
		p.ID = id
		i = j
	}
	p.Data = b[i:]
	return p, nil
}

// AppendSocketPacket appends a Socket.IO packet (without the Engine.IO '4')
// to dst. nsp "" or "/" is the main namespace; id NoID means no ack id.
func AppendSocketPacket(dst []byte, typ byte, nsp string, id int64, data []byte) []byte {
	dst = append(dst, typ)
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return append(dst, data...)
}

// AppendMessage appends an Engine.IO message packet carrying a Socket.IO
// packet: '4' followed by AppendSocketPacket's output.
func AppendMessage(dst []byte, typ byte, nsp string, id int64, data []byte) []byte {
	return AppendSocketPacket(append(dst, EMessage), typ, nsp, id, data)
}

// AppendEvent appends an Engine.IO message carrying a Socket.IO EVENT:
// 42<nsp>,<id>["event",arg...]. Each arg must be valid JSON; event is
// written as is and must need no escaping.
func AppendEvent(dst []byte, nsp string, id int64, event string, args ...[]byte) []byte {
	dst = AppendSocketPacket(append(dst, EMessage), Event, nsp, id, nil)
	dst = append(dst, '[', '"')
	dst = append(dst, event...)
	dst = append(dst, '"')
	for _, a := range args {
		dst = append(dst, ',')
		dst = append(dst, a...)
	}
	return append(dst, ']')
}

// EventName returns the name of the event whose data is data (a JSON array
// whose first element is a string), undecoded, with ok false when data is
// not such an array.
func EventName(data []byte) (name []byte, ok bool) {
	v, ok := Element(data, 0)
	if !ok {
		return nil, false
	}
	return StringValue(v)
}

// StringValue returns the content of the JSON string v (with its quotes)
// when it contains no escape sequence; ok is false otherwise.
func StringValue(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	if indexByte(s, '\\') >= 0 {
		return nil, false
	}
	return s, true
}

// Element returns the raw JSON of the n-th (from 0) element of the JSON
// array arr.
func Element(arr []byte, n int) ([]byte, bool) {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return nil, false
	}
	i = skipWS(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil, false
	}
	for k := 0; ; k++ {
		start := i
		end, ok := skipValue(arr, i)
		if !ok {
			return nil, false
		}
		if k == n {
			return arr[start:end], true
		}
		i = skipWS(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return nil, false
		}
		i = skipWS(arr, i+1)
	}
}

// Field returns the raw JSON value of the member key of the JSON object obj,
// looking at its top level only (so "id" does not find "from":{"id":...}).
// Keys are compared as written, undecoded.
func Field(obj []byte, key string) ([]byte, bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, false
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		kend, ok := skipString(obj, i)
		if !ok {
			return nil, false
		}
		k := obj[i+1 : kend-1]
		i = skipWS(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipWS(obj, i+1)
		vstart := i
		vend, ok := skipValue(obj, i)
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return obj[vstart:vend], true
		}
		i = skipWS(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i = skipWS(obj, i+1)
	}
}

// ParseInt parses a JSON integer (optionally negative, no exponent, no
// fraction) without allocating.
func ParseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i]=='"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || isWS(c) {
				break
			}
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}
