package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// ErrTimeout is wrapped by the error of a request that did not get every
// server's answer within Options.RequestsTimeout.
var ErrTimeout = errors.New("redisadapter: timeout reached")

// request is one of ours waiting for the other servers' answers. Its
// fields change under the adapter's mu.
type request struct {
	typ      int
	expected int64 // answers awaited: one per other server
	got      int64

	sockets   []socketio.SocketInfo
	rooms     []string
	responses []any

	once sync.Once
	done chan struct{}
	err  error
}

func newRequest(typ int, expected int64) *request {
	return &request{typ: typ, expected: expected, done: make(chan struct{})}
}

func (r *request) finish(err error) {
	r.once.Do(func() {
		r.err = err
		close(r.done)
	})
}

// call publishes a request and waits for its answers: until all came,
// ctx ends, Options.RequestsTimeout passes or the adapter closes.
func (a *Adapter) call(ctx context.Context, id string, r *request, msg []byte, what string) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.requests[id] = r
	a.mu.Unlock()
	forget := func() {
		a.mu.Lock()
		if a.requests[id] == r {
			delete(a.requests, id)
		}
		a.mu.Unlock()
	}
	if err := a.publish(a.requestChannel, msg); err != nil {
		forget()
		return err
	}
	timer := time.NewTimer(a.opts.RequestsTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = ErrTimeout
	}
	forget()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		err = r.err
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w while waiting for %s responses: %d of %d received", err, what, r.got, r.expected)
	}
	return err
}

// ------------------------------------------------------- our requests

// AddSockets makes the selected sockets of every server join the rooms:
// here at once, elsewhere through a request (JSON {uid, type 2, opts,
// rooms}, which the emitter sends too). Node's adapter waits for its own
// request to come back from Redis; doing it at once means a broadcast to
// the rooms right after reaches this server's sockets too, and every
// server sees the join before that broadcast, as Redis keeps the order.
func (a *Adapter) AddSockets(opts socketio.BroadcastOptions, rooms []string) {
	a.MemoryAdapter.AddSockets(opts, rooms)
	if !opts.Flags.Local {
		a.publishRequest(roomsRequest{UID: a.uid, Type: typeRemoteJoin, Opts: roomsExceptOf(opts), Rooms: unique(rooms)})
	}
}

// DelSockets makes the selected sockets of every server leave the rooms
// (as AddSockets, type 3).
func (a *Adapter) DelSockets(opts socketio.BroadcastOptions, rooms []string) {
	a.MemoryAdapter.DelSockets(opts, rooms)
	if !opts.Flags.Local {
		a.publishRequest(roomsRequest{UID: a.uid, Type: typeRemoteLeave, Opts: roomsExceptOf(opts), Rooms: unique(rooms)})
	}
}

// DisconnectSockets disconnects the selected sockets of every server (as
// AddSockets, type 4).
func (a *Adapter) DisconnectSockets(opts socketio.BroadcastOptions, close bool) {
	a.MemoryAdapter.DisconnectSockets(opts, close)
	if !opts.Flags.Local {
		a.publishRequest(disconnectRequest{UID: a.uid, Type: typeRemoteDisconnect, Opts: roomsExceptOf(opts), Close: close})
	}
}

func (a *Adapter) publishRequest(v any) error {
	b, err := encodeJSON(v)
	if err != nil {
		return err
	}
	return a.publish(a.requestChannel, b)
}

// FetchSockets describes the selected sockets of every server: this
// server's (with Local set), and those the others answer (JSON {uid,
// requestId, type 5, opts}; one answer per server counted in PUBSUB
// NUMSUB). On timeout or when ctx ends it returns what it has with the
// error (Node's rejects).
func (a *Adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.SocketInfo, error) {
	local, err := a.MemoryAdapter.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n := a.ServerCount(ctx)
	if n <= 1 {
		return local, nil
	}
	id := newID(6)
	b, err := encodeJSON(fetchRequest{UID: a.uid, RequestID: id, Type: typeRemoteFetch, Opts: roomsExceptOf(opts)})
	if err != nil {
		return local, err
	}
	r := newRequest(typeRemoteFetch, n-1)
	r.sockets = local
	err = a.call(ctx, id, r, b, "fetchSockets")
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socketio.SocketInfo(nil), r.sockets...), err
}

// AllRooms lists the rooms of every server (JSON {uid, requestId, type
// 1}), each once. On timeout it returns what it has with the error.
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	local, err := a.MemoryAdapter.AllRooms(ctx)
	if err != nil {
		return local, err
	}
	n := a.ServerCount(ctx)
	if n <= 1 {
		return local, nil
	}
	id := newID(6)
	b, err := encodeJSON(simpleRequest{UID: a.uid, RequestID: id, Type: typeAllRooms})
	if err != nil {
		return local, err
	}
	r := newRequest(typeAllRooms, n-1)
	r.rooms = local
	err = a.call(ctx, id, r, b, "allRooms")
	a.mu.Lock()
	defer a.mu.Unlock()
	return unique(r.rooms), err
}

// ServerSideEmit sends the event to the namespace on the other servers
// (JSON {uid, type 6, data: [event, args...]}).
func (a *Adapter) ServerSideEmit(event string, args []any) error {
	return a.publishRequest(serverSideRequest{UID: a.uid, Type: typeServerSideEmit, Data: eventData(event, args)})
}

// ServerSideEmitWithAck does the same with a requestId and returns one
// answer per other server: the value each one's handler acknowledged
// with. A server whose namespace has no handler for the event does not
// answer; then the wait ends on timeout (or ctx), with the answers so far
// and the error.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]any, error) {
	n := a.ServerCount(ctx) - 1
	if n <= 0 {
		return []any{}, nil
	}
	id := newID(6)
	b, err := encodeJSON(serverSideRequest{UID: a.uid, RequestID: id, Type: typeServerSideEmit, Data: eventData(event, args)})
	if err != nil {
		return nil, err
	}
	r := newRequest(typeServerSideEmit, n)
	r.responses = []any{}
	err = a.call(ctx, id, r, b, "serverSideEmit")
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]any{}, r.responses...), err
}

func eventData(event string, args []any) []any {
	return append([]any{event}, args...)
}

// ------------------------------------------------------- their answers

// onResponse handles an answer on a response channel, on the receiving
// goroutine: to a broadcast of ours with acks, or to a request of ours.
func (a *Adapter) onResponse(msg []byte) {
	resp, err := decodeRequest(msg)
	if err != nil {
		return
	}
	id, _ := resp["requestId"].(string)
	if id == "" {
		return
	}
	typ, _ := intOf(resp["type"])
	a.mu.Lock()
	if ar := a.ackRequests[id]; ar != nil {
		a.mu.Unlock()
		ar.onResponse(typ, resp)
		return
	}
	r := a.requests[id]
	if r == nil {
		a.mu.Unlock()
		return
	}
	switch r.typ {
	case typeRemoteFetch:
		list, _ := resp["sockets"].([]any)
		for _, v := range list {
			if s, ok := socketFromWire(v); ok {
				r.sockets = append(r.sockets, s)
			}
		}
	case typeAllRooms:
		r.rooms = append(r.rooms, roomsOf(resp["rooms"])...)
	case typeServerSideEmit:
		r.responses = append(r.responses, resp["data"]) // nil when the answer was undefined
	}
	// An answer without its list still counts: Node's adapter would wait
	// for it forever.
	r.got++
	complete := r.got >= r.expected
	if complete {
		delete(a.requests, id)
	}
	a.mu.Unlock()
	if complete {
		r.finish(nil)
	}
}

// ------------------------------------------------- their requests

// onRequest handles another server's (or an emitter's) request, on the
// inbox goroutine. Node sends most requests as JSON, broadcasts with acks
// as msgpack.
func (a *Adapter) onRequest(msg []byte) {
	req, err := decodeRequest(msg)
	if err != nil {
		return
	}
	typ, ok := intOf(req["type"])
	if !ok {
		return
	}
	id, _ := req["requestId"].(string)
	uid, _ := req["uid"].(string)
	own := uid != "" && uid == a.uid
	ctx := a.ctx
	switch typ {
	case typeSockets:
		if own || a.pending(id) {
			return
		}
		socks := a.MemoryAdapter.Sockets(socketio.BroadcastOptions{Rooms: roomsOf(req["rooms"])})
		ids := make([]any, len(socks))
		for i, s := range socks {
			ids[i] = s.ID()
		}
		a.respondJSON(uid, socketsResponse{RequestID: id, Sockets: ids})

	case typeAllRooms:
		if own || a.pending(id) {
			return
		}
		rooms, _ := a.MemoryAdapter.AllRooms(ctx)
		if rooms == nil {
			rooms = []string{}
		}
		a.respondJSON(uid, roomsResponse{RequestID: id, Rooms: rooms})

	case typeRemoteJoin, typeRemoteLeave, typeRemoteDisconnect:
		if o, ok := req["opts"].(map[string]any); ok {
			if own {
				return // done here already
			}
			opts := socketio.BroadcastOptions{Rooms: roomsOf(o["rooms"]), Except: roomsOf(o["except"])}
			switch typ {
			case typeRemoteJoin:
				a.MemoryAdapter.AddSockets(opts, roomsOf(req["rooms"]))
			case typeRemoteLeave:
				a.MemoryAdapter.DelSockets(opts, roomsOf(req["rooms"]))
			default:
				closeConn, _ := req["close"].(bool)
				a.MemoryAdapter.DisconnectSockets(opts, closeConn)
			}
			return
		}
		// The older form, one socket by id (socket.io-redis 5.x's
		// remoteJoin), answered with {requestId}.
		sid, _ := req["sid"].(string)
		s := a.nsp.Socket(sid)
		if s == nil {
			return
		}
		room, _ := req["room"].(string)
		switch typ {
		case typeRemoteJoin:
			s.Join(room)
		case typeRemoteLeave:
			s.Leave(room)
		default:
			closeConn, _ := req["close"].(bool)
			s.Disconnect(closeConn)
		}
		a.respondJSON(uid, emptyResponse{RequestID: id})

	case typeRemoteFetch:
		if own || a.pending(id) {
			return
		}
		o, _ := req["opts"].(map[string]any)
		opts := socketio.BroadcastOptions{Rooms: roomsOf(o["rooms"]), Except: roomsOf(o["except"])}
		local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
		list := make([]any, len(local))
		for i, s := range local {
			list[i] = socketToWire(s)
		}
		a.respondJSON(uid, socketsResponse{RequestID: id, Sockets: list})

	case typeServerSideEmit:
		if own {
			return
		}
		a.onServerSideEmit(req, id)

	case typeBroadcast:
		a.onBroadcastRequest(req, uid, id)
	}
}

// onServerSideEmit hands another server's event to the namespace's
// handler, if it has one (Namespace.DispatchServerSide), on the events
// goroutine. With a requestId the handler gets an ack whose first call
// publishes {type 6, requestId, data: its first argument} on the response
// channel, as Node's adapter does; without a handler there is no answer.
func (a *Adapter) onServerSideEmit(req map[string]any, id string) {
	data, _ := req["data"].([]any)
	if len(data) == 0 {
		return
	}
	event, ok := data[0].(string)
	if !ok {
		return
	}
	args := data[1:]
	if _, withAck := req["requestId"]; !withAck {
		a.events.push(func() { a.nsp.DispatchServerSide(event, args, nil) })
		return
	}
	var once sync.Once
	ack := func(out ...any) {
		once.Do(func() {
			resp := serverSideResponse{Type: typeServerSideEmit, RequestID: id}
			if len(out) > 0 {
				b, err := encodeJSON(out[0])
				if err != nil {
					b = []byte("null")
				}
				resp.Data = json.RawMessage(b)
			}
			if b, err := encodeJSON(resp); err == nil {
				_ = a.publish(a.responseChannel, b)
			}
		})
	}
	a.events.push(func() { a.nsp.DispatchServerSide(event, args, ack) })
}

func (a *Adapter) pending(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.requests[id]
	return ok
}

// respond publishes an answer to a request of server uid: on the shared
// response channel, or its own with PublishOnSpecificResponseChannel.
func (a *Adapter) respond(uid string, msg []byte) {
	channel := a.responseChannel
	if a.opts.PublishOnSpecificResponseChannel {
		channel += uid + "#"
	}
	_ = a.publish(channel, msg)
}

func (a *Adapter) respondJSON(uid string, v any) {
	if b, err := encodeJSON(v); err == nil {
		a.respond(uid, b)
	}
}
