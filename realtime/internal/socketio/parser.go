package socketio

import (
	"encoding/json"
	"errors"
	"strconv"
)

// PacketType is a Socket.IO packet type.
type PacketType byte

const (
	PacketConnect PacketType = iota
	PacketDisconnect
	PacketEvent
	PacketAck
	PacketConnectError
	PacketBinaryEvent
	PacketBinaryAck
)

func (t PacketType) String() string {
	switch t {
	case PacketConnect:
		return "CONNECT"
	case PacketDisconnect:
		return "DISCONNECT"
	case PacketEvent:
		return "EVENT"
	case PacketAck:
		return "ACK"
	case PacketConnectError:
		return "CONNECT_ERROR"
	case PacketBinaryEvent:
		return "BINARY_EVENT"
	case PacketBinaryAck:
		return "BINARY_ACK"
	}
	return "UNKNOWN"
}

// NoID is the ID of a packet that asks for no acknowledgement.
const NoID int64 = -1

// DefaultMaxAttachments bounds the binary attachments of one packet, as
// Node's parser does by default.
const DefaultMaxAttachments = 10

// Packet is a decoded packet. Data is the raw JSON payload (nil when the
// packet has none); it aliases the input.
type Packet struct {
	Type        PacketType
	Nsp         string
	ID          int64
	Attachments int
	Data        []byte
}

// Decoding errors. Each closes the connection that sent the packet, as in
// Node.
var (
	ErrUnknownType        = errors.New("socketio: unknown packet type")
	ErrIllegalAttachments = errors.New("socketio: illegal attachments")
	ErrTooManyAttachments = errors.New("socketio: too many attachments")
	ErrInvalidPayload     = errors.New("socketio: invalid payload")
	ErrInvalidID          = errors.New("socketio: invalid ack id")
)

// maxIDDigits bounds an ack id: JavaScript's integers are exact up to 2^53.
const maxIDDigits = 15

// Decode parses a text packet: the type digit; for binary types the number
// of attachments and "-"; the namespace ("/..." up to ","); the ack id;
// then the JSON payload, which must have the shape the type requires.
func Decode(b []byte, maxAttachments int) (Packet, error) {
	p := Packet{Nsp: "/", ID: NoID}
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return p, ErrUnknownType
	}
	p.Type = PacketType(b[0] - '0')
	i := 1
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start || i >= len(b) || b[i] != '-' || i-start > 3 {
			return p, ErrIllegalAttachments
		}
		n, _ := strconv.Atoi(string(b[start:i]))
		if n < 1 {
			return p, ErrIllegalAttachments
		}
		if n > maxAttachments {
			return p, ErrTooManyAttachments
		}
		p.Attachments = n
		i++
	}
	if i < len(b) && b[i] == '/' {
		start := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Nsp = string(b[start:i])
		if i < len(b) {
			i++ // the comma
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i-start > maxIDDigits {
			return p, ErrInvalidID
		}
		p.ID, _ = strconv.ParseInt(string(b[start:i]), 10, 64)
	}
	if i < len(b) {
		p.Data = b[i:]
	}
	if !payloadValid(p.Type, p.Data) {
		return p, ErrInvalidPayload
	}
	return p, nil
}

// reservedEvents cannot be emitted by a client.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// payloadValid applies Node's isPayloadValid: CONNECT takes an object or
// nothing, DISCONNECT nothing, CONNECT_ERROR a string or an object, events
// an array whose first element is a (non-reserved) event name or a number,
// acks an array.
func payloadValid(t PacketType, data []byte) bool {
	if len(data) == 0 {
		return t == PacketConnect || t == PacketDisconnect
	}
	if t == PacketDisconnect || !json.Valid(data) {
		return false
	}
	first := firstByte(data)
	switch t {
	case PacketConnect:
		return first == '{'
	case PacketConnectError:
		return first == '{' || first == '"'
	case PacketAck, PacketBinaryAck:
		return first == '['
	case PacketEvent, PacketBinaryEvent:
		if first != '[' {
			return false
		}
		switch name, kind := firstElement(data); kind {
		case '"':
			return !reservedEvents[string(name)]
		case '0':
			return true
		}
	}
	return false
}

// firstElement looks at the first element of data, a valid JSON array: kind
// is '"' for a string (name is its value), '0' for a number, and 0 for
// anything else or an empty array. It scans instead of decoding: this runs
// for every event a client sends, before its arguments are decoded.
func firstElement(data []byte) (name []byte, kind byte) {
	i := skipSpace(data, 0)
	i = skipSpace(data, i+1) // past '['
	if i >= len(data) {
		return nil, 0
	}
	switch c := data[i]; {
	case c == '"':
		// Escapes, and bytes outside ASCII (invalid UTF-8 decodes as
		// U+FFFD), go through the decoder.
		end, plain := i+1, true
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' {
				plain = false
				end++
			} else if data[end] >= 0x80 {
				plain = false
			}
			end++
		}
		if end >= len(data) {
			return nil, 0
		}
		if plain {
			return data[i+1 : end], '"'
		}
		var v string
		if json.Unmarshal(data[i:end+1], &v) != nil {
			return nil, 0
		}
		return []byte(v), '"'
	case c == '-' || (c >= '0' && c <= '9'):
		return nil, '0'
	}
	return nil, 0
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	return i
}

func firstByte(b []byte) byte {
	if i := skipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// AppendHeader appends a packet's header: type, attachment count, the
// namespace (left out for "/"), and the ack id. The JSON payload follows.
func AppendHeader(dst []byte, t PacketType, nsp string, id int64, attachments int) []byte {
	dst = append(dst, byte('0'+t))
	if t == PacketBinaryEvent || t == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}
