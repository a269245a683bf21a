package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"unicode/utf8"
)

// packet is one packet received from a client. data aliases the request
// body or frame it came in (a base64 one is decoded into a new slice).
type packet struct {
	data   []byte
	typ    byte
	binary bool
}

// ErrInvalidPacket is returned for input that is not Engine.IO: an unknown
// packet type, a malformed payload, bad base64, bad lengths.
var ErrInvalidPacket = errors.New("engineio: invalid packet")

// decodeText decodes a text packet: its type character, then its data.
func decodeText(b []byte) (packet, error) {
	if len(b) == 0 || b[0] < typeOpen || b[0] > typeNoop {
		return packet{}, ErrInvalidPacket
	}
	return packet{typ: b[0], data: b[1:]}, nil
}

// decodeSegment decodes one packet of a polling payload: a text packet, or
// "b" and base64 (v4) or "b" + type + base64 (v3) for a binary one.
func decodeSegment(b []byte, eio int) (packet, error) {
	if len(b) == 0 || b[0] != 'b' {
		return decodeText(b)
	}
	b = b[1:]
	if eio == 3 {
		if len(b) == 0 || b[0] < typeOpen || b[0] > typeNoop {
			return packet{}, ErrInvalidPacket
		}
		typ := b[0]
		data, err := decodeBase64(b[1:])
		return packet{typ: typ, data: data, binary: true}, err
	}
	data, err := decodeBase64(b)
	return packet{typ: typeMessage, data: data, binary: true}, err
}

func decodeBase64(b []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, ErrInvalidPacket
	}
	return out[:n], nil
}

// recordSeparator separates the packets of a v4 payload.
const recordSeparator = 0x1e

// decodePayloadV4 decodes a v4 polling payload: packets joined by 0x1e.
// It returns the packets before the first invalid one, and an error if
// there was one.
func decodePayloadV4(body []byte) ([]packet, error) {
	n := bytes.Count(body, []byte{recordSeparator}) + 1
	pkts := make([]packet, 0, n)
	for {
		seg, rest, more := bytes.Cut(body, []byte{recordSeparator})
		p, err := decodeSegment(seg, 4)
		if err != nil {
			return pkts, err
		}
		pkts = append(pkts, p)
		if !more {
			return pkts, nil
		}
		body = rest
	}
}

// maxLengthDigits bounds the length prefix of a v3 payload element: a
// longer number cannot fit in any body the server accepts.
const maxLengthDigits = 10

// decodePayloadV3 decodes a v3 text payload, "<length>:<packet>" repeated,
// where the length counts UTF-16 code units as JavaScript does.
func decodePayloadV3(body []byte) ([]packet, error) {
	if len(body) == 0 {
		return nil, ErrInvalidPacket
	}
	var pkts []packet
	for len(body) > 0 {
		colon := bytes.IndexByte(body, ':')
		if colon <= 0 || colon > maxLengthDigits {
			return pkts, ErrInvalidPacket
		}
		units := 0
		for _, c := range body[:colon] {
			if c < '0' || c > '9' {
				return pkts, ErrInvalidPacket
			}
			units = units*10 + int(c-'0')
		}
		body = body[colon+1:]
		end, ok := utf16Prefix(body, units)
		if !ok {
			return pkts, ErrInvalidPacket
		}
		if end > 0 {
			p, err := decodeSegment(body[:end], 3)
			if err != nil {
				return pkts, err
			}
			pkts = append(pkts, p)
		}
		body = body[end:]
	}
	return pkts, nil
}

// utf16Prefix returns the byte length of the first `units` UTF-16 code
// units of b, or false if b is shorter or a character would be split.
func utf16Prefix(b []byte, units int) (int, bool) {
	i := 0
	for units > 0 {
		if i >= len(b) {
			return 0, false
		}
		if b[i] < utf8.RuneSelf {
			i++
			units--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		n := 1
		if r >= 0x10000 {
			n = 2
		}
		if n > units {
			return 0, false
		}
		i += size
		units -= n
	}
	return i, true
}

// decodeBinaryPayloadV3 decodes a v3 binary payload (XHR2 clients, sent as
// application/octet-stream): per packet a 0 (text) or 1 (binary) byte, the
// length as one byte per decimal digit, 0xFF, then the packet.
func decodeBinaryPayloadV3(body []byte) ([]packet, error) {
	if len(body) == 0 {
		return nil, ErrInvalidPacket
	}
	var pkts []packet
	for len(body) > 0 {
		kind := body[0]
		if kind > 1 {
			return pkts, ErrInvalidPacket
		}
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xFF; i++ {
			if body[i] > 9 || i > maxLengthDigits {
				return pkts, ErrInvalidPacket
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i >= len(body) || n > len(body)-i-1 {
			return pkts, ErrInvalidPacket
		}
		msg := body[i+1 : i+1+n]
		body = body[i+1+n:]
		var p packet
		if kind == 0 {
			if !utf8.Valid(msg) {
				return pkts, ErrInvalidPacket
			}
			var err error
			if p, err = decodeSegment(msg, 3); err != nil {
				return pkts, err
			}
		} else {
			if len(msg) == 0 || msg[0] > typeNoop-'0' {
				return pkts, ErrInvalidPacket
			}
			p = packet{typ: msg[0] + '0', data: msg[1:], binary: true}
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// encodePayload builds the body of a poll response for msgs. It returns
// whether the body is binary (a v3 binary payload, sent as
// application/octet-stream); otherwise it is UTF-8 text.
func encodePayload(dst []byte, msgs []*Message, eio int, v3Binary bool) ([]byte, bool) {
	if eio != 3 {
		for i, m := range msgs {
			if i > 0 {
				dst = append(dst, recordSeparator)
			}
			dst = m.appendSegment(dst, 4)
		}
		return dst, false
	}
	if v3Binary {
		for _, m := range msgs {
			if m.binary {
				for _, m := range msgs {
					dst = m.appendV3Binary(dst)
				}
				return dst, true
			}
		}
	}
	for _, m := range msgs {
		dst = m.appendV3Text(dst)
	}
	return dst, false
}
