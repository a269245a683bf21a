package siotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/internal/wire"
)

// Event is an event a Client received.
type Event struct {
	Name  string
	Args  []any // JSON values; binary attachments as []byte
	AckID int   // -1 when the server asked for no ack
}

// Client is a Socket.IO v5 client in one namespace over a WebSocket
// (Engine.IO 4). A goroutine reads what the server sends: events (and the
// server's DISCONNECT, as the event "disconnect") wait in order for Next,
// acks go to the Call waiting for them, pings are answered. That goroutine
// ends with the connection, at the latest when the test ends; every wait
// for what it reads is bounded by Timeout.
type Client struct {
	T   testing.TB
	WS  *WS
	Nsp string
	SID string

	events chan Event

	mu      sync.Mutex
	nextAck int
	acks    map[int]chan []any
}

// Connect opens a WebSocket to url (the endpoint, with the Engine.IO path)
// and joins the namespace nsp ("/" or "/name").
func Connect(t testing.TB, url, nsp string, o Options) *Client {
	t.Helper()
	c := &Client{T: t, WS: OpenWS(t, url, 4, o), Nsp: nsp, events: make(chan Event, 256), acks: map[int]chan []any{}}
	connected := make(chan string, 1)
	go c.read(connected)
	c.WS.Send(c.packet(wire.Connect, -1, nil))
	select {
	case answer, ok := <-connected:
		if !ok {
			t.Fatalf("client: connection closed before CONNECT to %s", nsp)
		}
		c.SID = ParseSID(t, answer, c.packet(wire.Connect, -1, nil))
	case <-time.After(c.WS.timeout()):
		t.Fatalf("client: no CONNECT to %s within %v", nsp, c.WS.timeout())
	}
	return c
}

// packet is an Engine.IO message carrying a Socket.IO packet of the
// client's namespace.
func (c *Client) packet(typ byte, id int, data []byte) string {
	return string(wire.AppendMessage(nil, typ, c.Nsp, int64(id), data))
}

// send writes a packet; a write that fails shows as an answer that does
// not come.
func (c *Client) send(text string, attachments ...[]byte) {
	_ = c.WS.WritePacket(text, attachments...)
}

// read runs in its own goroutine until the connection ends. The first
// CONNECT or CONNECT_ERROR answer goes to connected.
func (c *Client) read(connected chan<- string) {
	defer close(c.events)
	defer close(connected)
	_ = c.WS.Conn.SetReadDeadline(time.Time{}) // the waits are bounded instead
	var pending *packet                        // a binary packet awaiting attachments
	var bins [][]byte
	for {
		m, err := c.WS.read()
		if err != nil {
			return
		}
		if m.Binary {
			if pending == nil {
				continue
			}
			bins = append(bins, m.Data)
			if len(bins) == pending.attachments {
				pending.data = fillPlaceholders(pending.data, bins)
				c.dispatch(*pending)
				pending, bins = nil, nil
			}
			continue
		}
		s := string(m.Data)
		switch {
		case s == "2":
			c.send("3")
			continue
		case !strings.HasPrefix(s, "4"):
			continue
		}
		p, ok := parsePacket(m.Data[1:])
		if !ok {
			continue
		}
		if p.typ == wire.Connect || p.typ == wire.ConnectError {
			select {
			case connected <- s:
			default:
			}
			continue
		}
		if p.attachments > 0 {
			pending = &p
			continue
		}
		c.dispatch(p)
	}
}

type packet struct {
	typ         byte
	attachments int
	id          int
	data        any
}

func parsePacket(b []byte) (packet, bool) {
	wp, err := wire.ParsePacket(b)
	if err != nil {
		return packet{}, false
	}
	p := packet{typ: wp.Type, attachments: wp.Attachments, id: int(wp.ID)}
	if len(wp.Data) > 0 {
		if err := json.Unmarshal(wp.Data, &p.data); err != nil {
			return p, false
		}
	}
	return p, true
}

func (c *Client) dispatch(p packet) {
	switch p.typ {
	case wire.Disconnect:
		c.events <- Event{Name: "disconnect", AckID: -1}
	case wire.Event, wire.BinaryEvent:
		arr, _ := p.data.([]any)
		if len(arr) == 0 {
			return
		}
		name, _ := arr[0].(string)
		c.events <- Event{Name: name, Args: arr[1:], AckID: p.id}
	case wire.Ack, wire.BinaryAck:
		c.mu.Lock()
		ch := c.acks[p.id]
		delete(c.acks, p.id)
		c.mu.Unlock()
		if ch != nil {
			arr, _ := p.data.([]any)
			ch <- arr
		}
	}
}

// fillPlaceholders replaces the attachment placeholders in v
// ({"_placeholder":true,"num":n}) with the attachments.
func fillPlaceholders(v any, bins [][]byte) any {
	switch t := v.(type) {
	case []any:
		for i := range t {
			t[i] = fillPlaceholders(t[i], bins)
		}
	case map[string]any:
		if p, _ := t["_placeholder"].(bool); p {
			if n, ok := t["num"].(float64); ok && int(n) < len(bins) {
				return bins[int(n)]
			}
		}
		for k := range t {
			t[k] = fillPlaceholders(t[k], bins)
		}
	}
	return v
}

// Call emits an event asking for an acknowledgement and returns the ack's
// arguments. The args are encoded as JSON.
func (c *Client) Call(event string, args ...any) []any {
	c.T.Helper()
	c.mu.Lock()
	id := c.nextAck
	c.nextAck++
	ch := make(chan []any, 1)
	c.acks[id] = ch
	c.mu.Unlock()
	b, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		c.T.Fatalf("client: %s arguments: %v", event, err)
	}
	c.send(c.packet(wire.Event, id, b))
	select {
	case res := <-ch:
		return res
	case <-time.After(c.WS.timeout()):
		c.T.Fatalf("client: no ack for %s within %v", event, c.WS.timeout())
		return nil
	}
}

// Ack answers the server's event that asked for acknowledgement id. It
// may be called from any goroutine.
func (c *Client) Ack(id int, args ...any) {
	b, _ := json.Marshal(args)
	c.send(c.packet(wire.Ack, id, b))
}

// AckBinary answers with one binary attachment as the only argument.
func (c *Client) AckBinary(id int, bin []byte) {
	nsp := ""
	if c.Nsp != "/" {
		nsp = c.Nsp + ","
	}
	c.send("461-"+nsp+strconv.Itoa(id)+`[{"_placeholder":true,"num":0}]`, bin)
}

// Next returns the next event, or an error when none comes within Timeout
// or the connection has ended.
func (c *Client) Next() (Event, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return ev, errors.New("client: connection closed")
		}
		return ev, nil
	case <-time.After(c.WS.timeout()):
		return Event{}, fmt.Errorf("client: no event within %v", c.WS.timeout())
	}
}

// Until returns the events received before the first one named name, and
// that one.
func (c *Client) Until(name string) ([]Event, Event, error) {
	var before []Event
	for {
		ev, err := c.Next()
		if err != nil {
			return before, ev, fmt.Errorf("waiting for %q (got %v first): %w", name, Names(before), err)
		}
		if ev.Name == name {
			return before, ev, nil
		}
		before = append(before, ev)
	}
}

// MustGet is Until for a test that cannot go on without the event.
func (c *Client) MustGet(name string) Event {
	c.T.Helper()
	_, ev, err := c.Until(name)
	if err != nil {
		c.T.Fatal(err)
	}
	return ev
}

// NothingBefore checks that the next event is the sentinel: what the test
// sent before it, by a way that keeps order, did not arrive.
func (c *Client) NothingBefore(sentinel string) error {
	before, _, err := c.Until(sentinel)
	if err != nil {
		return err
	}
	if len(before) > 0 {
		return fmt.Errorf("got %v before %s", Names(before), sentinel)
	}
	return nil
}

// Names are the names of the events.
func Names(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Name
	}
	return out
}
