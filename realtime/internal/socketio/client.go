package socketio

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/engineio"
)

// Handshake is what a socket keeps of the request that opened its
// connection.
type Handshake struct {
	Address string // the client's IP address
	URL     string // the handshake's path and query
	Time    time.Time
	Secure  bool
	headers string // "name: value\n" for each header kept (see Headers)
}

// newHandshake keeps what a socket needs of the request r. Its headers
// are kept as one string, not a map: every connection holds them, and few
// ever ask (FetchSockets, the admin UI).
func newHandshake(r *http.Request) *Handshake {
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	size := len("host: \n") + len(r.Host)
	for k, v := range r.Header {
		size += len(k) + 3 + len(v) - 1
		for _, e := range v {
			size += len(e) + 2
		}
	}
	var b strings.Builder
	b.Grow(size)
	for k, v := range r.Header {
		switch k {
		case "Cookie", "Authorization", "Host":
			continue
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
		b.WriteString(": ")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e)
		}
		b.WriteByte('\n')
	}
	b.WriteString("host: ")
	b.WriteString(r.Host)
	b.WriteByte('\n')
	return &Handshake{Address: addr, URL: r.URL.RequestURI(), Time: time.Now(), Secure: r.TLS != nil,
		headers: strings.Clone(b.String())}
}

// Headers returns the handshake's headers, names lower-cased, repeated
// ones joined with ", " (as Node shows them), less Cookie and
// Authorization, which are not kept nor shown to other servers.
func (h *Handshake) Headers() map[string]string {
	m := make(map[string]string, strings.Count(h.headers, "\n"))
	for line := range strings.Lines(h.headers) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		m[k] = v
	}
	return m
}

// Query parses the handshake's query, Engine.IO parameters included. It
// is parsed when asked for rather than kept: few ever ask, and every
// connection would pay for the map.
func (h *Handshake) Query() url.Values {
	_, raw, _ := strings.Cut(h.URL, "?")
	q, _ := url.ParseQuery(raw)
	return q
}

// client is one Engine.IO connection and the sockets it has in namespaces.
// Its OnMessage runs on the session's reader, one packet at a time.
type client struct {
	srv   *Server
	es    *engineio.Session
	proto int // Socket.IO protocol: 5, or 4 for socket.io-client 2.x
	hs    *Handshake

	mu      sync.Mutex
	sockets []*Socket // one per namespace joined: a connection has few

	closed  bool
	timer   *time.Timer // connect timeout, until a namespace is joined: the connection is pending
	refused int         // CONNECTs refused (maxRefusedConnects)

	// A binary packet waiting for its attachments (reader only).
	pending     *Packet
	attachments [][]byte
}

var (
	errUnexpectedBinary = errors.New("socketio: binary data without a packet announcing it")
	errMissingBinary    = errors.New("socketio: text packet while attachments were due")
	errInvalidState     = errors.New("socketio: packet for a namespace not joined, or a second CONNECT")
)

func newClient(s *Server, es *engineio.Session, r *http.Request) *client {
	c := &client{srv: s, es: es, proto: 5}
	if es.Protocol() == 3 {
		c.proto = 4
	}
	c.hs = newHandshake(r)
	s.pending.Add(1)
	c.mu.Lock() // the timer may fire before AfterFunc returns
	c.timer = time.AfterFunc(s.opts.ConnectTimeout, c.connectTimedOut)
	c.mu.Unlock()
	return c
}

func (c *client) connectTimedOut() {
	c.mu.Lock()
	none := len(c.sockets) == 0 && !c.closed
	if none {
		c.stopTimerLocked() // no longer pending: closing
	}
	c.mu.Unlock()
	if none {
		c.es.Close()
	}
}

// OnMessage decodes a packet (gathering its attachments first) and
// dispatches it. Anything malformed closes the connection.
func (c *client) OnMessage(_ *engineio.Session, data []byte, binary bool) {
	if binary {
		if c.pending == nil {
			c.fail(errUnexpectedBinary)
			return
		}
		c.attachments = append(c.attachments, data)
		if len(c.attachments) == c.pending.Attachments {
			p, att := *c.pending, c.attachments
			c.pending, c.attachments = nil, nil
			c.dispatch(p, att)
		}
		return
	}
	if c.pending != nil {
		c.fail(errMissingBinary)
		return
	}
	p, err := Decode(data, c.srv.opts.MaxAttachments)
	if err != nil {
		c.fail(err)
		return
	}
	if p.Attachments > 0 {
		c.pending = &p
		return
	}
	c.dispatch(p, nil)
}

func (c *client) dispatch(p Packet, att [][]byte) {
	c.mu.Lock()
	s := c.socketLocked(p.Nsp)
	c.mu.Unlock()
	if p.Type == PacketConnect {
		if s != nil {
			c.fail(errInvalidState)
			return
		}
		name, rawQuery, _ := strings.Cut(p.Nsp, "?") // protocol 4 sends its query here
		var q url.Values
		if c.proto == 4 {
			q, _ = url.ParseQuery(rawQuery)
		}
		c.connect(name, p.Data, q)
		return
	}
	if s == nil || p.Type == PacketConnectError {
		c.fail(errInvalidState)
		return
	}
	switch p.Type {
	case PacketDisconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	case PacketEvent, PacketBinaryEvent:
		args, err := DecodeArgs(p.Data, att)
		if err != nil || len(args) == 0 {
			c.fail(ErrInvalidPayload)
			return
		}
		s.onEvent(args, p.ID)
	case PacketAck, PacketBinaryAck:
		args, err := DecodeArgs(p.Data, att)
		if err != nil {
			c.fail(ErrInvalidPayload)
			return
		}
		s.onAck(p.ID, args)
	}
}

// connect joins the namespace, through its middleware. auth is the
// CONNECT payload (protocol 5); protocol 4 clients give a query instead.
func (c *client) connect(name string, auth []byte, query url.Values) {
	n := c.srv.namespace(name)
	if n == nil {
		c.sendConnectError(name, &ConnectError{Message: "Invalid namespace"})
		return
	}
	a := map[string]any{}
	if len(auth) > 0 {
		if err := json.Unmarshal(auth, &a); err != nil {
			c.fail(ErrInvalidPayload)
			return
		}
	}
	if c.proto == 4 {
		// 2.x clients send their credentials in the query: of the
		// namespace for other namespaces, of the handshake for "/".
		if query == nil {
			query = c.hs.Query()
		}
		for k, v := range query {
			switch k {
			case "EIO", "transport", "t", "sid", "b64", "j":
				continue
			}
			switch len(v) {
			case 0:
			case 1:
				a[k] = v[0]
			default: // repeated: every value, as a JSON list of strings
				l := make([]any, len(v))
				for i, e := range v {
					l[i] = e
				}
				a[k] = l
			}
		}
	}
	s := newSocket(n, c, a)
	if c.proto == 4 {
		// 2.x clients derive their socket id from the Engine.IO id.
		s.id = c.es.ID()
		if name != "/" {
			s.id = name + "#" + s.id
		}
	}
	var missed [][]*engineio.Message
	var rooms []string
	if n.rec != nil && c.proto == 5 {
		pid, _ := a["pid"].(string)
		off, _ := a["offset"].(string)
		if saved, m := n.rec.restore(pid, off); saved != nil {
			s.id, s.pid, s.since, s.data, s.recovered = saved.sid, saved.pid, saved.since, saved.data, true
			missed, rooms = m, saved.rooms
		}
	}
	if n.rec != nil && !s.recovered {
		s.since = n.rec.current()
	}
	if !s.recovered || c.srv.opts.Recovery.RunMiddleware { // Node skips it for a recovered socket
		if err := n.admit(s); err != nil {
			var ce *ConnectError
			if !errors.As(err, &ce) {
				ce = &ConnectError{Message: err.Error()}
			}
			c.sendConnectError(name, ce)
			return
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if i := slices.IndexFunc(c.sockets, func(o *Socket) bool { return o.nsp.name == name }); i >= 0 {
		c.sockets[i] = s
	} else if len(c.sockets) >= c.srv.opts.MaxNamespaces {
		c.mu.Unlock()
		c.sendConnectError(name, errTooManyNamespaces)
		return
	} else {
		c.sockets = append(c.sockets, s)
	}
	c.stopTimerLocked()
	c.mu.Unlock()
	n.add(s)
	if s.recovered {
		n.adapter.AddAll(s, rooms)
		// As in Node, the missed events go first: the client holds events
		// that arrive before its CONNECT and emits them once connected.
		for _, msgs := range missed {
			c.send(msgs)
		}
	}
	c.sendConnect(s)
	// What the connection handlers send leaves together a moment after
	// the CONNECT answer, in a later read at the client (see Cork).
	c.es.Cork(connectCork)
	n.connected(s)
}

// connectCork is how long what connection handlers send is held after the
// CONNECT answer.
const connectCork = 2 * time.Millisecond

// stopTimerLocked ends the wait for a first namespace: joined or closed.
func (c *client) stopTimerLocked() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
		c.srv.pending.Add(-1)
	}
}

var errTooManyNamespaces = &ConnectError{Message: "Too many namespaces on one connection"}

func (c *client) sendConnect(s *Socket) {
	b := AppendHeader(nil, PacketConnect, s.nsp.name, NoID, 0)
	if c.proto == 5 {
		b = append(b, `{"sid":"`...)
		b = append(b, s.id...)
		if s.pid != "" {
			b = append(b, `","pid":"`...)
			b = append(b, s.pid...)
		}
		b = append(b, `"}`...)
	}
	c.es.Send(engineio.NewMessage(b))
}

func (c *client) sendConnectError(nsp string, ce *ConnectError) {
	b := AppendHeader(nil, PacketConnectError, nsp, NoID, 0)
	var payload any = ce.Message
	if c.proto == 5 {
		payload = ce
	}
	j, err := json.Marshal(payload)
	if err != nil {
		j, _ = json.Marshal(map[string]string{"message": ce.Message})
	}
	c.es.Send(engineio.NewMessage(append(b, j...)))
	c.mu.Lock()
	c.refused++
	over := c.refused > maxRefusedConnects
	c.mu.Unlock()
	if over {
		c.es.Close() // after the CONNECT_ERROR, which is queued first
	}
}

// send queues a packet's messages on the connection, written at once.
func (c *client) send(msgs []*engineio.Message) bool { return c.es.Send(msgs...) }

// fail closes the connection for a protocol violation.
func (c *client) fail(error) {
	c.closeSockets("parse error")
	c.es.Close()
}

// socketLocked returns the socket of namespace nsp, or nil.
func (c *client) socketLocked(nsp string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// remove forgets a socket that left its namespace.
func (c *client) remove(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// closeSockets closes every socket of the connection with reason.
func (c *client) closeSockets(reason string) {
	c.mu.Lock()
	c.closed = true
	c.stopTimerLocked()
	all := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range all {
		s.onClose(reason)
	}
}

// OnClose is the end of the Engine.IO session.
func (c *client) OnClose(_ *engineio.Session, reason engineio.Reason, _ error) {
	c.closeSockets(reason.String())
}

// disconnectAll is Socket.Disconnect(true): every socket of the
// connection is disconnected as by Disconnect(false) (a DISCONNECT, and
// the reason "server namespace disconnect", which is not recovered, as in
// Node), then the connection closes.
func (c *client) disconnectAll() {
	c.mu.Lock()
	all := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range all {
		s.Disconnect(false)
	}
	c.closeSockets(ReasonForcedServerClose)
	c.es.Close()
}
