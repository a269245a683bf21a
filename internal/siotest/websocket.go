package siotest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// WS is one raw WebSocket connection carrying an Engine.IO session.
// Reads belong to one goroutine at a time; writes may come from any.
type WS struct {
	T    testing.TB
	Conn net.Conn
	// EIO is the Engine.IO protocol: with 4 the server pings ("2"), and
	// Next answers.
	EIO int
	Options
	Open string // the open packet, once OpenWS has read it
	SID  string // its sid

	rd  *wsutil.Reader
	msg messageReader // the message being read
	wmu sync.Mutex
}

// Message is one WebSocket data message.
type Message struct {
	Binary bool
	Data   []byte
}

func (m Message) String() string {
	if m.Binary {
		return fmt.Sprintf("binary %v", m.Data)
	}
	return strconv.Quote(Clip(string(m.Data)))
}

// CloseError is the close frame that ended a connection.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	return "websocket: close " + strconv.Itoa(int(e.Code)) + " " + e.Reason
}

// CloseCode is the status code of the close frame err reports, 0 if err
// is not a CloseError.
func CloseCode(err error) ws.StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// DialWS opens a WebSocket to url (ws:// or http://, with its query); it
// reads nothing. If the server answers the upgrade with another HTTP
// status, that answer is returned with the error. The connection is closed
// when the test ends.
func DialWS(t testing.TB, url string, o Options) (*WS, *Response, error) {
	var refused *Response
	d := ws.Dialer{
		Timeout: o.timeout(),
		NetDial: o.NetDial,
		OnStatusError: func(status int, _ []byte, resp io.Reader) {
			refused = &Response{Status: status}
			res, err := http.ReadResponse(bufio.NewReader(resp), nil)
			if err != nil {
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			refused = &Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
		},
	}
	conn, br, _, err := d.Dial(context.Background(), wsURL(url))
	if err != nil {
		return nil, refused, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	var src io.Reader = conn
	if br != nil { // what the server sent right behind the handshake; br reads on from conn
		src = br
	}
	w := &WS{T: t, Conn: conn, EIO: eioOf(url), Options: o, rd: &wsutil.Reader{Source: src, State: ws.StateClientSide}}
	w.rd.OnIntermediate = w.control
	return w, nil, nil
}

// eioOf is the EIO query parameter of a URL: 3, or 4 for anything else.
func eioOf(u string) int {
	if p, err := url.Parse(u); err == nil && p.Query().Get("EIO") == "3" {
		return 3
	}
	return 4
}

// OpenWS opens an Engine.IO session of protocol eio at url, the endpoint
// (http:// or ws://, with the Engine.IO path), and reads its open packet.
func OpenWS(t testing.TB, url string, eio int, o Options) *WS {
	t.Helper()
	q := "?EIO=" + itoa(eio) + "&transport=websocket"
	w, res, err := DialWS(t, url+q, o)
	if err != nil {
		t.Fatalf("WebSocket %s: %v (%+v)", q, err, res)
	}
	w.Open = w.ReadText()
	w.SID = ParseOpen(t, w.Open).SID
	return w
}

// Close closes the connection.
func (w *WS) Close() { _ = w.Conn.Close() }

// Write sends one message.
func (w *WS) Write(binary bool, p []byte) error {
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.write(op, p)
}

// WritePacket sends a text message and its binary attachments, with no
// other write in between.
func (w *WS) WritePacket(text string, attachments ...[]byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.write(ws.OpText, []byte(text)); err != nil {
		return err
	}
	for _, a := range attachments {
		if err := w.write(ws.OpBinary, a); err != nil {
			return err
		}
	}
	return nil
}

// write sends one frame; wmu is held.
func (w *WS) write(op ws.OpCode, p []byte) error {
	_ = w.Conn.SetWriteDeadline(time.Now().Add(w.timeout()))
	return wsutil.WriteClientMessage(w.Conn, op, p)
}

// Send sends a text message.
func (w *WS) Send(text string) {
	w.T.Helper()
	if err := w.Write(false, []byte(text)); err != nil {
		w.T.Fatalf("send %q: %v", Clip(text), err)
	}
}

// SendBinary sends a binary message.
func (w *WS) SendBinary(b []byte) {
	w.T.Helper()
	if err := w.Write(true, b); err != nil {
		w.T.Fatalf("send binary %v: %v", b, err)
	}
}

// control handles a control frame: a ping is answered, and a close frame
// returned as a CloseError, answered if nothing else is being written at
// the time (the answer is a courtesy to a server that closes anyway; a
// write blocked on it must not hold the reader up). Write errors are left
// to the reads that follow.
func (w *WS) control(h ws.Header, body io.Reader) error {
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(body, p); err != nil {
		return err
	}
	switch h.OpCode {
	case ws.OpPing:
		w.wmu.Lock()
		defer w.wmu.Unlock()
		_ = w.write(ws.OpPong, p)
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(p)
		if w.wmu.TryLock() {
			_ = w.write(ws.OpClose, p[:min(len(p), 2)])
			w.wmu.Unlock()
		}
		return &CloseError{Code: code, Reason: reason}
	}
	return nil
}

// NextReader returns the next data message as a reader, valid until the
// next read, within Timeout; control frames are handled on the way.
func (w *WS) NextReader() (binary bool, r io.Reader, err error) {
	_ = w.Conn.SetReadDeadline(time.Now().Add(w.timeout()))
	return w.nextReader()
}

// nextReader is NextReader without touching the deadline.
func (w *WS) nextReader() (bool, io.Reader, error) {
	if err := w.rd.Discard(); err != nil { // what the last reader left
		return false, nil, err
	}
	for {
		h, err := w.rd.NextFrame()
		if err != nil {
			return false, nil, err
		}
		if h.OpCode.IsControl() {
			err := w.control(h, w.rd)
			_ = w.rd.Discard()
			if err != nil {
				return false, nil, err
			}
			continue
		}
		w.msg = messageReader{rd: w.rd}
		return h.OpCode == ws.OpBinary, &w.msg, nil
	}
}

// messageReader reads one message, and io.EOF again once it has ended.
type messageReader struct {
	rd   *wsutil.Reader
	done bool
}

func (m *messageReader) Read(p []byte) (int, error) {
	if m.done {
		return 0, io.EOF
	}
	n, err := m.rd.Read(p)
	if err == io.EOF {
		m.done = true
	}
	return n, err
}

// read returns the next data message without touching the deadline.
func (w *WS) read() (Message, error) {
	binary, r, err := w.nextReader()
	if err != nil {
		return Message{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Message{}, err
	}
	return Message{Binary: binary, Data: b}, nil
}

// ReadMessage returns the next data message, whatever it is, within
// Timeout.
func (w *WS) ReadMessage() (Message, error) {
	_ = w.Conn.SetReadDeadline(time.Now().Add(w.timeout()))
	return w.read()
}

// isPing reports whether m is a v4 ping.
func (w *WS) isPing(m Message) bool {
	return w.EIO == 4 && !m.Binary && string(m.Data) == "2"
}

// NextMessage is ReadMessage answering v4 pings (after PongDelay) and
// leaving them out.
func (w *WS) NextMessage() (Message, error) {
	for {
		m, err := w.ReadMessage()
		if err != nil || !w.isPing(m) {
			return m, err
		}
		time.Sleep(w.PongDelay)
		if err := w.Write(false, []byte("3")); err != nil {
			return Message{}, err
		}
	}
}

// ReadText returns the next message, which must be text; a ping is not
// answered but returned.
func (w *WS) ReadText() string {
	w.T.Helper()
	m, err := w.ReadMessage()
	if err != nil {
		w.T.Fatalf("read: %v", err)
	}
	if m.Binary {
		w.T.Fatalf("got %v, want text", m)
	}
	return string(m.Data)
}

// Next returns the next message other than a ping, answering pings.
func (w *WS) Next() Message {
	w.T.Helper()
	m, err := w.NextMessage()
	if err != nil {
		w.T.Fatalf("read: %v", err)
	}
	return m
}

// Recv returns the next text message other than a ping.
func (w *WS) Recv() string {
	w.T.Helper()
	m := w.Next()
	if m.Binary {
		w.T.Fatalf("got %v, want text", m)
	}
	return string(m.Data)
}

// RecvBinary returns the next message other than a ping, which must be
// binary.
func (w *WS) RecvBinary() []byte {
	w.T.Helper()
	m := w.Next()
	if !m.Binary {
		w.T.Fatalf("got %v, want binary", m)
	}
	return m.Data
}

// Expect reads the next text messages (pings aside) and compares them.
func (w *WS) Expect(want ...string) {
	w.T.Helper()
	for _, s := range want {
		if m := w.Next(); m.Binary || string(m.Data) != s {
			w.T.Fatalf("received %v, want %q", m, Clip(s))
		}
	}
}

// ExpectBinary reads the next message (pings aside), which must be binary
// want.
func (w *WS) ExpectBinary(want []byte) {
	w.T.Helper()
	if m := w.Next(); !m.Binary || string(m.Data) != string(want) {
		w.T.Fatalf("received %v, want binary %v", m, want)
	}
}

// ExpectClosed reads until the server ends the connection and returns the
// error that ended it (a *CloseError for a close frame). It fails if
// anything but v4 pings arrives first, or if the connection is still open
// after Timeout. pong says whether those pings are answered meanwhile.
func (w *WS) ExpectClosed(pong bool) error {
	w.T.Helper()
	_ = w.Conn.SetReadDeadline(time.Now().Add(w.timeout()))
	for {
		m, err := w.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.T.Fatalf("connection still open after %v", w.timeout())
			}
			return err
		}
		if w.isPing(m) {
			if pong {
				time.Sleep(w.PongDelay)
				_ = w.Write(false, []byte("3"))
			}
			continue
		}
		w.T.Fatalf("received %v, want the connection closed", m)
	}
}

// Connect joins the Socket.IO namespace nsp ("/" or "/name") with the
// CONNECT data auth (JSON, or empty) and returns the socket id.
func (w *WS) Connect(nsp, auth string) string {
	w.T.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	w.Send(prefix + auth)
	return ParseSID(w.T, w.Recv(), prefix)
}

func itoa(n int) string { return strconv.Itoa(n) }
