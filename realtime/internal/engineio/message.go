package engineio

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Engine.IO packet types, as the characters that start a text packet.
const (
	typeOpen    byte = '0'
	typeClose   byte = '1'
	typePing    byte = '2'
	typePong    byte = '3'
	typeMessage byte = '4'
	typeUpgrade byte = '5'
	typeNoop    byte = '6'
)

// Message is one Engine.IO packet encoded once for every wire variant a
// session may need. It is immutable once built and safe to queue to any
// number of sessions at once: each queues a reference, nothing is copied
// per receiver.
//
// A text packet is stored as its complete WebSocket frame (header, type
// character, data); the polling segment is the frame without its header,
// and v3's length prefix is computed once on first use. A binary packet
// keeps its data and builds its frames (v4: the data; v3: a type byte, then
// the data) and base64 form when a session first needs them.
type Message struct {
	frame  []byte // text: the whole WebSocket text frame
	data   []byte // the packet's data, without the type character
	hdr    uint8  // text: length of the WebSocket header in frame
	typ    byte
	binary bool

	// Built on first use; a race builds the same bytes twice, harmlessly.
	bin4 atomic.Pointer[[]byte] // WebSocket binary frame, v4
	bin3 atomic.Pointer[[]byte] // WebSocket binary frame, v3
	b64  atomic.Pointer[string] // base64 of data, for polling
	// units is the length of the polling segment in UTF-16 code units,
	// plus one (zero: not computed yet). v3 payloads are prefixed with it.
	units atomic.Int64
}

// NewMessage returns a text message packet ("4" + data). data is copied.
func NewMessage(data []byte) *Message { return newText(typeMessage, data) }

// NewMessageParts is NewMessage for data in two parts, head then body,
// both copied: a packet's header and its encoded payload need not be
// joined first.
func NewMessageParts(head, body []byte) *Message { return newTextParts(typeMessage, head, body) }

// NewMessageString is NewMessage for a string.
func NewMessageString(data string) *Message { return newText(typeMessage, []byte(data)) }

// NewBinaryMessage returns a binary message packet. data is kept, not
// copied: the caller must not change it afterwards.
func NewBinaryMessage(data []byte) *Message {
	return &Message{typ: typeMessage, binary: true, data: data}
}

func newText(typ byte, data []byte) *Message { return newTextParts(typ, data, nil) }

// newTextParts is newText for data in two parts: one allocation for the whole
// WebSocket frame, whose tail is the packet for polling.
func newTextParts(typ byte, head, body []byte) *Message {
	n := 1 + len(head) + len(body)
	hdr := ws.HeaderSize(ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(n)})
	frame := make([]byte, hdr+n)
	putHeader(frame[:hdr], ws.OpText, n)
	frame[hdr] = typ
	copy(frame[hdr+1+copy(frame[hdr+1:], head):], body)
	return &Message{frame: frame, data: frame[hdr+1:], hdr: uint8(hdr), typ: typ}
}

// putHeader writes into b, ws.HeaderSize long, the header of a final,
// unmasked frame of n payload bytes (RFC 6455 section 5.2): the bytes
// ws.WriteHeader writes for it, without its scratch buffer and writer.
func putHeader(b []byte, op ws.OpCode, n int) {
	b[0] = 0x80 | byte(op)
	switch len(b) {
	case 2:
		b[1] = byte(n)
	case 4:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
}

// Control packets are the same for every session.
var (
	msgPing      = newText(typePing, nil)
	msgPong      = newText(typePong, nil)
	msgNoop      = newText(typeNoop, nil)
	msgClose     = newText(typeClose, nil)
	msgProbePong = newText(typePong, []byte("probe"))
)

// Binary reports whether the message is a binary packet.
func (m *Message) Binary() bool { return m.binary }

// Data returns the packet's data (without the type character). It must not
// be modified.
func (m *Message) Data() []byte { return m.data }

// size is what the message counts against a session's queue cap.
func (m *Message) size() int {
	if m.binary {
		return len(m.data) + ws.MaxHeaderSize
	}
	return len(m.frame)
}

// wsFrame returns the WebSocket frame for a session speaking protocol eio.
func (m *Message) wsFrame(eio int) []byte {
	if !m.binary {
		return m.frame
	}
	p, prefix := &m.bin4, false
	if eio == 3 {
		p, prefix = &m.bin3, true
	}
	if f := p.Load(); f != nil {
		return *f
	}
	n := len(m.data)
	if prefix {
		n++
	}
	hdr := ws.HeaderSize(ws.Header{Fin: true, OpCode: ws.OpBinary, Length: int64(n)})
	f := make([]byte, hdr, hdr+n)
	putHeader(f, ws.OpBinary, n)
	if prefix {
		f = append(f, typeMessage-'0')
	}
	f = append(f, m.data...)
	p.Store(&f)
	return f
}

// appendSegment appends the text form of the packet for a polling payload:
// the type character and data, or for a binary packet "b" (v4) or "b4" (v3)
// followed by the data in base64.
func (m *Message) appendSegment(dst []byte, eio int) []byte {
	if !m.binary {
		return append(dst, m.frame[m.hdr:]...)
	}
	dst = append(dst, 'b')
	if eio == 3 {
		dst = append(dst, typeMessage)
	}
	return append(dst, m.base64()...)
}

func (m *Message) base64() string {
	if s := m.b64.Load(); s != nil {
		return *s
	}
	s := base64.StdEncoding.EncodeToString(m.data)
	m.b64.Store(&s)
	return s
}

// appendV3Text appends the packet as one element of a v3 text payload:
// "<length>:<segment>", the length counted in UTF-16 code units as
// JavaScript counts a string's length.
func (m *Message) appendV3Text(dst []byte) []byte {
	n := m.units.Load() - 1
	if n < 0 {
		if m.binary {
			n = int64(2 + base64.StdEncoding.EncodedLen(len(m.data)))
		} else {
			n = int64(utf16Len(m.frame[m.hdr:]))
		}
		m.units.Store(n + 1)
	}
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, ':')
	return m.appendSegment(dst, 3)
}

// appendV3Binary appends the packet as one element of a v3 binary payload
// (XHR2 clients): a 0 (string) or 1 (binary) byte, the length as one byte
// per decimal digit, 0xFF, then the packet: UTF-8 text, or the type byte
// and the data.
func (m *Message) appendV3Binary(dst []byte) []byte {
	var body []byte
	kind := byte(0)
	n := 0
	if m.binary {
		kind, n = 1, len(m.data)+1
	} else {
		body = m.frame[m.hdr:]
		n = len(body)
	}
	dst = append(dst, kind)
	dst = appendDigitBytes(dst, n)
	dst = append(dst, 0xFF)
	if m.binary {
		dst = append(dst, typeMessage-'0')
		return append(dst, m.data...)
	}
	return append(dst, body...)
}

// appendDigitBytes appends n's decimal digits as byte values 0-9.
func appendDigitBytes(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// utf16Len is the length JavaScript gives the string b holds: characters
// outside the Basic Multilingual Plane count twice. Invalid bytes count
// once each, as the replacement character a decoder makes of them.
func utf16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
