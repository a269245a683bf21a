//go:build linux

package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// serverFrame is a frame as a server writes it (unmasked), built by gobwas/ws.
func serverFrame(t *testing.T, fin bool, op ws.OpCode, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	f := ws.NewFrame(op, fin, p)
	if err := ws.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseFrameLengthsAndMasks(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 200000} {
		p := bytes.Repeat([]byte{'x'}, n)
		b := serverFrame(t, true, ws.OpText, p)
		// Every prefix is incomplete; the whole is one frame.
		for _, k := range []int{0, 1, len(b) / 2, len(b) - 1} {
			if _, _, _, got, err := parseFrame(b[:k], 1<<20); got != 0 || err != nil {
				t.Fatalf("len %d, prefix %d: n=%d err=%v, want incomplete", n, k, got, err)
			}
		}
		fin, op, payload, got, err := parseFrame(b, 1<<20)
		if err != nil || !fin || op != opText || got != len(b) || !bytes.Equal(payload, p) {
			t.Fatalf("len %d: fin=%v op=%d n=%d/%d err=%v", n, fin, op, got, len(b), err)
		}
	}
	// A masked frame (a client's) is unmasked in place.
	f := ws.MaskFrameInPlace(ws.NewTextFrame([]byte("hello")))
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	if _, _, p, _, err := parseFrame(b.Bytes(), 100); err != nil || string(p) != "hello" {
		t.Fatalf("masked: %q %v", p, err)
	}
}

func TestParseFrameRejects(t *testing.T) {
	big := serverFrame(t, true, ws.OpText, make([]byte, 1000))
	if _, _, _, _, err := parseFrame(big, 999); !errors.Is(err, errTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	rsv := serverFrame(t, true, ws.OpText, []byte("x"))
	rsv[0] |= 0x40
	if _, _, _, _, err := parseFrame(rsv, 100); err == nil {
		t.Error("reserved bit accepted")
	}
}

// socketPair gives a rawWS on one end of a connected Unix socket pair and the
// other end's descriptor.
func socketPair(t *testing.T) (*rawWS, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := &rawWS{fd: fds[0], seed: 7}
	t.Cleanup(func() { w.close(false); _ = unix.Close(fds[1]) })
	return w, fds[1]
}

func TestFeedAssemblesFragmentsAndAnswersPings(t *testing.T) {
	w, peer := socketPair(t)
	cc := &connConfig{maxRead: 1 << 20, timeout: time.Second}
	var in []byte
	in = append(in, serverFrame(t, false, ws.OpText, []byte("4hel"))...)
	in = append(in, serverFrame(t, true, ws.OpPing, []byte("p1"))...) // between fragments
	in = append(in, serverFrame(t, true, ws.OpContinuation, []byte("lo"))...)
	in = append(in, serverFrame(t, true, ws.OpBinary, []byte{1, 2})...) // not an Engine.IO text packet
	in = append(in, serverFrame(t, true, ws.OpText, []byte("2"))...)
	tail := serverFrame(t, true, ws.OpText, []byte("4next"))
	in = append(in, tail[:3]...)

	var got []string
	n, err := w.feed(in, cc, func(m []byte) error { got = append(got, string(m)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if want := len(in) - 3; n != want {
		t.Errorf("consumed %d, want %d (all but the partial frame)", n, want)
	}
	if strings.Join(got, "|") != "4hello|2" {
		t.Errorf("messages %q", got)
	}
	// The ping was answered with a masked pong carrying its payload.
	buf := make([]byte, 64)
	k, err := unix.Read(peer, buf)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf[:k])
	h, err := ws.ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if h.OpCode != ws.OpPong || !h.Masked || h.Length != 2 || int64(r.Len()) != h.Length {
		t.Fatalf("reply %+v, %d bytes after the header", h, r.Len())
	}
	p := make([]byte, h.Length)
	_, _ = r.Read(p)
	ws.Cipher(p, h.Mask, 0)
	if string(p) != "p1" {
		t.Errorf("pong payload %q", p)
	}
}

func TestFeedStopsAtClose(t *testing.T) {
	w, _ := socketPair(t)
	cc := &connConfig{maxRead: 1 << 20, timeout: time.Second}
	in := serverFrame(t, true, ws.OpClose, ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))
	in = append(in, serverFrame(t, true, ws.OpText, []byte("4late"))...)
	delivered := 0
	_, err := w.feed(in, cc, func([]byte) error { delivered++; return nil })
	if err == nil || !strings.Contains(err.Error(), "close 1001 bye") {
		t.Errorf("err %v, want the close code and reason", err)
	}
	if delivered != 0 {
		t.Errorf("%d messages delivered after a close frame", delivered)
	}
}

func TestRawWSCloseWaitsForCallsInFlight(t *testing.T) {
	w, peer := socketPair(t)
	if !w.acquire() {
		t.Fatal("acquire on an open socket failed")
	}
	w.close(false)
	// The socket stays open while a call holds it: the peer sees no EOF.
	if _, err := unix.Write(w.fd, []byte("x")); err != nil {
		t.Fatalf("write while held: %v", err)
	}
	if w.acquire() {
		t.Fatal("acquire after close succeeded")
	}
	w.release() // the last call ends: now it closes
	buf := make([]byte, 8)
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, err := unix.Read(peer, buf)
		if n == 0 && err == nil {
			break // EOF
		}
		if err == unix.EAGAIN {
			if err := pollFD(peer, unix.POLLIN, deadline); err != nil {
				t.Fatalf("no EOF after the last release: %v", err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.writeFrame(opText, []byte("4x"), time.Second); !errors.Is(err, errClosed) {
		t.Errorf("write after close: %v", err)
	}
}
