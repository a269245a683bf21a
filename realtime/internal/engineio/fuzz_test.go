package engineio

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// Fuzz tests of every decoder of client input. Their seed corpora run in
// the normal `go test`; `go test -fuzz FuzzX` explores further.

// messagesOf re-encodes decoded message packets.
func messagesOf(pkts []packet) []*Message {
	msgs := make([]*Message, 0, len(pkts))
	for _, p := range pkts {
		switch {
		case p.binary:
			msgs = append(msgs, NewBinaryMessage(p.data))
		default:
			msgs = append(msgs, newText(p.typ, p.data))
		}
	}
	return msgs
}

func FuzzDecodePayloadV4(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "4hello\x1ebAQIDBA==", "abc", "", "\x1e", "b", "2probe", "b===="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pkts, err := decodePayloadV4(body)
		if err != nil {
			return
		}
		// A valid payload survives encoding and decoding unchanged.
		again, err := decodePayloadV4(must(encodePayload(nil, messagesOf(pkts), 4, false)))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", body, err)
		}
		samePackets(t, again, pkts)
	})
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"6:4hello", "2:4é3:4😀", "10:b4AQIDBA==", "0:", "1:2", "2:4😀", "x:", ":", "99999999999:4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pkts, err := decodePayloadV3(body)
		if err != nil || len(pkts) == 0 {
			return
		}
		for _, p := range pkts {
			if !p.binary && bytes.ContainsRune(p.data, 0xFFFD) {
				return // invalid UTF-8 has no JavaScript length to re-encode
			}
			if p.binary && p.typ != typeMessage {
				return // only message packets are sent as binary
			}
		}
		again, err := decodePayloadV3(must(encodePayload(nil, messagesOf(pkts), 3, false)))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", body, err)
		}
		samePackets(t, again, pkts)
	})
}

func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	f.Add([]byte{0, 6, 0xFF, '4', 'h', 'e', 'l', 'l', 'o', 1, 4, 0xFF, 4, 1, 2, 3})
	f.Add([]byte{1, 1, 0xFF, 4})
	f.Add([]byte{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xFF})
	f.Fuzz(func(t *testing.T, body []byte) {
		pkts, err := decodeBinaryPayloadV3(body)
		if err != nil || len(pkts) == 0 {
			return
		}
		for _, p := range pkts {
			if p.binary && p.typ != typeMessage {
				return // only message packets are sent as binary
			}
		}
		out, _ := encodePayload(nil, messagesOf(pkts), 3, true)
		var again []packet
		if bytes.IndexByte(out, 0xFF) >= 0 && out[0] <= 1 && hasBinary(pkts) {
			again, err = decodeBinaryPayloadV3(out)
		} else {
			again, err = decodePayloadV3(out)
		}
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", body, err)
		}
		samePackets(t, again, pkts)
	})
}

func hasBinary(pkts []packet) bool {
	for _, p := range pkts {
		if p.binary {
			return true
		}
	}
	return false
}

func FuzzDecodeJSONPBody(f *testing.F) {
	for _, s := range []string{"d=4hello", "d=4a%5Cnb", "d=4a%5C%5Cnb", "d=", "x=1", "d=%zz", "d=1&d=2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, ok := decodeJSONPBody(body)
		if ok {
			_, _ = decodePayloadV3(d) // must not panic
		}
	})
}

// FuzzFrames feeds arbitrary bytes to the WebSocket frame reader: it must
// never panic, never pass on a message over the limit, and stop at the
// first violation.
func FuzzFrames(f *testing.F) {
	f.Add(clientFrame(0x81, []byte("4hello")))
	f.Add(append(clientFrame(0x01, []byte("4he")), clientFrame(0x80, []byte("llo"))...))
	f.Add(clientFrame(0x89, []byte("ping")))
	f.Add(clientFrame(0x88, []byte{3, 232}))
	f.Add(clientFrame(0x82, bytes.Repeat([]byte{1}, 300)))
	f.Add([]byte{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}) // unmasked
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1000
		fr := newFrameReader(newWSConn(&bytesConn{r: bytes.NewReader(in)}))
		_, _ = fr.run(limit, func(p []byte, _ bool) bool {
			if len(p) > limit {
				t.Fatalf("message of %d bytes over the limit of %d", len(p), limit)
			}
			return true
		}, func([]byte, bool) {})
	})
}

// clientFrame builds a masked client frame with the first header byte b0.
func clientFrame(b0 byte, payload []byte) []byte {
	mask := [4]byte{1, 2, 3, 4}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

func must(b []byte, _ bool) []byte { return b }

// bytesConn is a net.Conn that reads from r and discards writes.
type bytesConn struct {
	r *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
