package realtime

// The Redis adapter: rooms and broadcasts shared by every Socket.IO server
// on one Redis, Go or Node, speaking the protocol of Node's
// @socket.io/redis-adapter 8.x (and accepting what @socket.io/redis-emitter
// 5.x publishes) byte for byte where it matters.
//
// It replaces the library's own Redis adapter
// (github.com/zishang520/socket.io/adapters/redis/v3 v3.0.0, the only version
// the module proxy serves), whose wire format differs from Node's in ways
// that break a mixed cluster, and even a Go-only one. Paths below are under
// ~/go/pkg/mod/github.com/zishang520/socket.io/adapters/redis/v3@v3.0.0:
//
//  1. adapter/redis-adapter.go:221 drops every message published on the
//     namespace channel itself ("socket.io#/chat#"): it requires the channel
//     to be longer than the prefix, where Node only checks the prefix. That
//     channel carries every broadcast with no room or with several rooms:
//     io.of("/chat").emit, socket.broadcast.emit, to(a).to(b), and the
//     emitter's emit to all, whether from Node or from another Go node.
//  2. adapter/redis-adapter.go:627 (and :657) encodes the packet with
//     vmihailenco/msgpack (utils.MsgPack(), adapter/redis-adapter.go:154),
//     which ignores json tags: a Go struct argument reaches the clients of
//     the other nodes as {"ID":1,"Room":"r"} instead of {"id":1,"room":"r"}
//     as this node's clients get it.
//  3. adapter/redis-adapter.go:455 answers a server-side emit with the list
//     of all acknowledgement arguments (data: [x]) where Node sends the one
//     argument (data: x), so Node's serverSideEmitWithAck resolves to [[x]];
//     and redis-type.go:56 (Data []any) cannot decode Node's answer, so a
//     Go serverSideEmitWithAck to Node servers times out.
//  4. redis-type.go:54-55 ("rooms" and "sockets" with omitempty) leave the
//     list out of an empty answer; Node's adapter then never counts that
//     answer as complete, and fetchSockets/allRooms from Node time out
//     whenever a Go node has no matching socket.
//  5. redis-type.go:57 spells the client count "clientcount" (Node reads
//     "clientCount"), and adapter/redis-adapter.go:496 sends all the
//     arguments of a client's acknowledgement where Node sends the first:
//     Node's emitWithAck across nodes never completes.
//  6. servers/socket/v3 adapter-type.go:36 (BroadcastFlags.Timeout, a
//     time.Duration) travels in nanoseconds; Node's flags.timeout is in
//     milliseconds.
//  7. adapter/redis-adapter.go:234 decodes a JavaScript Date into a
//     time.Time, which this node's clients then get as Go renders it
//     ("2024-05-06T07:08:09.5Z") rather than as Node's get it
//     ("2024-05-06T07:08:09.500Z").
//
// realtime/cluster_test.go shows each of these against the library's
// adapter (TestLibraryRedisAdapterDefects) and checks the fixes.
//
// The in-memory part (rooms, local delivery, acknowledgements of local
// clients) is the library's own socket.Adapter, embedded.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Request and response types of the adapter protocol (Node's RequestType).
const (
	reqSockets          = 0
	reqAllRooms         = 1
	reqRemoteJoin       = 2
	reqRemoteLeave      = 3
	reqRemoteDisconnect = 4
	reqRemoteFetch      = 5
	reqServerSideEmit   = 6
	reqBroadcast        = 7
	respClientCount     = 8 // BROADCAST_CLIENT_COUNT
	respBroadcastAck    = 9
)

const (
	defaultRequestsTimeout  = 5 * time.Second // Node's default requestsTimeout
	subscribeReadyTimeout   = 5 * time.Second
	pubsubHealthCheckPeriod = 30 * time.Second
	redisOpTimeout          = 5 * time.Second
)

// redisAdapterBuilder makes one adapter per namespace, all on one client.
type redisAdapterBuilder struct {
	rdb             goredis.UniversalClient
	key             string        // channel prefix, "socket.io" in Node
	requestsTimeout time.Duration // bound on requests to the other servers
}

func (b *redisAdapterBuilder) New(nsp socket.Namespace) socket.Adapter {
	a := &redisAdapter{
		Adapter:         socket.MakeAdapter(),
		rdb:             b.rdb,
		uid:             newUID(),
		requestsTimeout: b.requestsTimeout,
		requests:        map[string]*pendingRequest{},
		ackRequests:     map[string]*ackRequest{},
	}
	if a.requestsTimeout <= 0 {
		a.requestsTimeout = defaultRequestsTimeout
	}
	a.Prototype(a)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	key := b.key
	if key == "" {
		key = "socket.io"
	}
	a.channel = key + "#" + nsp.Name() + "#"
	a.requestChannel = key + "-request#" + nsp.Name() + "#"
	a.responseChannel = key + "-response#" + nsp.Name() + "#"
	a.specificResponseChannel = a.responseChannel + a.uid + "#"
	a.Construct(nsp)
	return a
}

type redisAdapter struct {
	socket.Adapter // the in-memory adapter: rooms and local delivery

	rdb             goredis.UniversalClient
	uid             string
	requestsTimeout time.Duration

	channel, requestChannel, responseChannel, specificResponseChannel string

	ctx    context.Context
	cancel context.CancelFunc
	pubsub *goredis.PubSub
	done   chan struct{} // closed when the receive loop has returned

	mu          sync.Mutex
	requests    map[string]*pendingRequest // our requests awaiting answers
	ackRequests map[string]*ackRequest     // our broadcasts with acks
	closed      bool
}

// pendingRequest is a request of ours waiting for the other servers.
type pendingRequest struct {
	typ       int
	numSub    int64 // answers expected (fetch: including ours)
	msgCount  int64
	sockets   []socket.SocketDetails
	responses []any
	timer     *time.Timer
	resolve   func(err error) // called once, without the lock
}

type ackRequest struct {
	clientCount func(uint64)
	ack         socket.Ack
}

func newUID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Init subscribes to the namespace's channels and waits (bounded) until
// Redis confirmed the subscriptions, so that the server misses nothing
// published once it is up.
func (r *redisAdapter) Init() {
	r.pubsub = r.rdb.Subscribe(r.ctx)
	r.done = make(chan struct{})
	ready := make(chan struct{})
	go r.receive(ready)
	ctx, cancel := context.WithTimeout(r.ctx, redisOpTimeout)
	defer cancel()
	if err := r.pubsub.PSubscribe(ctx, r.channel+"*"); err != nil {
		logRedisError("psubscribe", err)
	}
	if err := r.pubsub.Subscribe(ctx, r.requestChannel, r.responseChannel, r.specificResponseChannel); err != nil {
		logRedisError("subscribe", err)
	}
	select {
	case <-ready:
	case <-time.After(subscribeReadyTimeout):
		slog.Default().Warn("realtime: redis adapter subscriptions not confirmed in time; going on", "nsp", r.Nsp().Name())
	}
}

// receive handles what Redis delivers, in order, until Close.
func (r *redisAdapter) receive(ready chan struct{}) {
	defer close(r.done)
	confirmed := map[string]bool{}
	var readyOnce sync.Once
	for {
		msg, err := r.pubsub.ReceiveTimeout(r.ctx, pubsubHealthCheckPeriod)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				// Quiet for a while: make sure the connection still works;
				// if not, the next receive reconnects and resubscribes.
				_ = r.pubsub.Ping(r.ctx)
				continue
			}
			logRedisError("receive", err)
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *goredis.Subscription:
			confirmed[m.Channel] = true
			if len(confirmed) == 4 {
				readyOnce.Do(func() { close(ready) })
			}
		case *goredis.Message:
			payload := []byte(m.Payload)
			if m.Pattern != "" {
				r.onMessage(m.Channel, payload)
			} else {
				r.onRequest(m.Channel, payload)
			}
		}
	}
}

// Close unsubscribes; the Redis client stays open (its owner closes it).
func (r *redisAdapter) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	pending := make([]*pendingRequest, 0, len(r.requests))
	for id, req := range r.requests {
		req.timer.Stop()
		delete(r.requests, id)
		pending = append(pending, req)
	}
	clear(r.ackRequests)
	r.mu.Unlock()
	for _, req := range pending {
		req.resolve(errors.New("adapter closed"))
	}
	r.cancel()
	if r.pubsub != nil {
		_ = r.pubsub.Close()
		<-r.done
	}
	r.Adapter.Close()
}

// ------------------------------------------------------------- broadcasts

// onMessage handles a broadcast published by another server or an emitter:
// msgpack [uid, packet, opts] on "<key>#<nsp>#" or "<key>#<nsp>#<room>#".
func (r *redisAdapter) onMessage(channel string, msg []byte) {
	if !strings.HasPrefix(channel, r.channel) {
		return
	}
	if room := strings.TrimSuffix(channel[len(r.channel):], "#"); room != "" && !r.hasRoom(room) {
		return // nobody here is in that room
	}
	v, err := decodeMsgpack(msg)
	if err != nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return
	}
	if uid, _ := arr[0].(string); uid == r.uid {
		return // our own
	}
	packet, ok := packetFromWire(arr[1])
	if !ok || packet.Nsp != r.Nsp().Name() {
		return
	}
	var opts any
	if len(arr) > 2 {
		opts = arr[2]
	}
	r.Adapter.Broadcast(packet, optionsFromWire(opts))
}

func (r *redisAdapter) hasRoom(room string) bool {
	_, ok := r.Rooms().Load(socket.Room(room))
	return ok
}

// Broadcast publishes the packet for the other servers, then delivers it
// here.
func (r *redisAdapter) Broadcast(packet *parser.Packet, opts *socket.BroadcastOptions) {
	packet.Nsp = r.Nsp().Name()
	if !isLocal(opts) {
		msg, err := encodeMsgpack([]any{r.uid, packetToWire(packet), optionsToWire(opts)})
		if err == nil {
			channel := r.channel
			if opts != nil && opts.Rooms != nil && opts.Rooms.Len() == 1 {
				channel += string(opts.Rooms.Keys()[0]) + "#"
			}
			r.publish(channel, msg)
		}
	}
	r.Adapter.Broadcast(packet, opts)
}

// BroadcastWithAck asks the other servers to broadcast and relay their
// clients' acknowledgements, then broadcasts here.
func (r *redisAdapter) BroadcastWithAck(packet *parser.Packet, opts *socket.BroadcastOptions, clientCount func(uint64), ack socket.Ack) {
	packet.Nsp = r.Nsp().Name()
	if !isLocal(opts) {
		id := newUID()
		msg, err := encodeMsgpack(map[string]any{
			"uid":       r.uid,
			"requestId": id,
			"type":      reqBroadcast,
			"packet":    packetToWire(packet),
			"opts":      optionsToWire(opts),
		})
		if err == nil {
			timeout := defaultRequestsTimeout
			if opts != nil && opts.Flags != nil && opts.Flags.Timeout != nil {
				timeout = *opts.Flags.Timeout
			}
			r.mu.Lock()
			r.ackRequests[id] = &ackRequest{clientCount: clientCount, ack: ack}
			r.mu.Unlock()
			time.AfterFunc(timeout, func() {
				r.mu.Lock()
				delete(r.ackRequests, id)
				r.mu.Unlock()
			})
			r.publish(r.requestChannel, msg)
		}
	}
	r.Adapter.BroadcastWithAck(packet, opts, clientCount, ack)
}

// ------------------------------------------------------ incoming requests

// onRequest handles a message on the request or a response channel. Node
// sends most requests as JSON and broadcasts with acks as msgpack.
func (r *redisAdapter) onRequest(channel string, msg []byte) {
	if strings.HasPrefix(channel, r.responseChannel) {
		r.onResponse(msg)
		return
	}
	if !strings.HasPrefix(channel, r.requestChannel) {
		return
	}
	req, err := decodeRequest(msg)
	if err != nil {
		return
	}
	typ, _ := intOf(req["type"])
	requestID, _ := req["requestId"].(string)
	switch typ {
	case reqSockets:
		if r.isOurRequest(requestID) {
			return
		}
		ids := r.Adapter.Sockets(types.NewSet(roomsOf(req["rooms"])...)).Keys()
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = string(id)
		}
		r.publishResponse(map[string]any{"requestId": requestID, "sockets": out})

	case reqAllRooms:
		if r.isOurRequest(requestID) {
			return
		}
		rooms := r.Rooms().Keys()
		out := make([]string, len(rooms))
		for i, room := range rooms {
			out[i] = string(room)
		}
		r.publishResponse(map[string]any{"requestId": requestID, "rooms": out})

	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if o, ok := req["opts"].(map[string]any); ok {
			opts := roomOptions(o)
			switch typ {
			case reqRemoteJoin:
				r.Adapter.AddSockets(opts, roomsOf(req["rooms"]))
			case reqRemoteLeave:
				r.Adapter.DelSockets(opts, roomsOf(req["rooms"]))
			default:
				closeConn, _ := req["close"].(bool)
				r.Adapter.DisconnectSockets(opts, closeConn)
			}
			return
		}
		sid, _ := req["sid"].(string)
		s, ok := r.Nsp().Sockets().Load(socket.SocketId(sid))
		if !ok {
			return
		}
		room, _ := req["room"].(string)
		switch typ {
		case reqRemoteJoin:
			s.Join(socket.Room(room))
		case reqRemoteLeave:
			s.Leave(socket.Room(room))
		default:
			closeConn, _ := req["close"].(bool)
			s.Disconnect(closeConn)
		}
		r.publishResponse(map[string]any{"requestId": requestID})

	case reqRemoteFetch:
		if r.isOurRequest(requestID) {
			return
		}
		o, _ := req["opts"].(map[string]any)
		r.Adapter.FetchSockets(roomOptions(o))(func(local []socket.SocketDetails, err error) {
			if err != nil {
				return
			}
			out := make([]any, len(local))
			for i, s := range local {
				out[i] = socketToWire(s)
			}
			r.publishResponse(map[string]any{"requestId": requestID, "sockets": out})
		})

	case reqServerSideEmit:
		if uid, _ := req["uid"].(string); uid == r.uid {
			return
		}
		data, _ := req["data"].([]any)
		if len(data) == 0 {
			return
		}
		if requestID == "" {
			r.Nsp().OnServerSideEmit(data)
			return
		}
		var once sync.Once
		reply := socket.Ack(func(args []any, _ error) {
			once.Do(func() {
				// Node's servers answer with one value: the first argument.
				resp := map[string]any{"type": reqServerSideEmit, "requestId": requestID}
				if len(args) > 0 {
					resp["data"] = args[0]
				}
				b, err := json.Marshal(resp)
				if err != nil {
					return
				}
				r.publish(r.responseChannel, b)
			})
		})
		r.Nsp().OnServerSideEmit(append(data, reply))

	case reqBroadcast:
		r.mu.Lock()
		_, ours := r.ackRequests[requestID]
		r.mu.Unlock()
		if ours {
			return
		}
		packet, ok := packetFromWire(req["packet"])
		if !ok {
			return
		}
		opts := optionsFromWire(req["opts"])
		r.Adapter.BroadcastWithAck(packet, opts, func(n uint64) {
			r.publishResponse(map[string]any{"type": respClientCount, "requestId": requestID, "clientCount": n})
		}, func(args []any, _ error) {
			// As Node: the first argument of the client's acknowledgement.
			resp := map[string]any{"type": respBroadcastAck, "requestId": requestID}
			if len(args) > 0 {
				resp["packet"] = toWire(args[0])
			}
			if b, err := encodeMsgpack(resp); err == nil {
				r.publish(r.responseChannel, b)
			}
		})
	}
}

func (r *redisAdapter) isOurRequest(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.requests[id]
	return ok
}

// publishResponse answers a request as JSON on the response channel.
func (r *redisAdapter) publishResponse(resp map[string]any) {
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	r.publish(r.responseChannel, b)
}

// ----------------------------------------------------- answers to ours

func (r *redisAdapter) onResponse(msg []byte) {
	resp, err := decodeRequest(msg)
	if err != nil {
		return
	}
	requestID, _ := resp["requestId"].(string)
	typ, _ := intOf(resp["type"])

	r.mu.Lock()
	if a, ok := r.ackRequests[requestID]; ok {
		r.mu.Unlock()
		switch typ {
		case respClientCount:
			n, _ := intOf(resp["clientCount"])
			a.clientCount(uint64(max(n, 0)))
		case respBroadcastAck:
			a.ack([]any{resp["packet"]}, nil)
		}
		return
	}
	req, ok := r.requests[requestID]
	if !ok {
		r.mu.Unlock()
		return
	}
	complete := false
	switch req.typ {
	case reqRemoteFetch:
		req.msgCount++
		if list, ok := resp["sockets"].([]any); ok {
			for _, s := range list {
				if rs, ok := socketFromWire(s); ok {
					req.sockets = append(req.sockets, rs)
				}
			}
		}
		complete = req.msgCount >= req.numSub
	case reqServerSideEmit:
		req.responses = append(req.responses, resp["data"])
		complete = int64(len(req.responses)) >= req.numSub
	}
	if complete {
		delete(r.requests, requestID)
		req.timer.Stop()
	}
	r.mu.Unlock()
	if complete {
		req.resolve(nil)
	}
}

// request publishes a JSON request and registers what to do with the
// answers; resolve runs once: when complete, or with an error on timeout or
// when the adapter closes first.
func (r *redisAdapter) request(id string, req *pendingRequest, msg map[string]any, what string) {
	b, err := json.Marshal(msg)
	if err != nil {
		req.resolve(err)
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		req.resolve(errors.New("adapter closed"))
		return
	}
	req.timer = time.AfterFunc(r.requestsTimeout, func() {
		r.mu.Lock()
		_, pending := r.requests[id]
		delete(r.requests, id)
		r.mu.Unlock()
		if pending {
			req.resolve(fmt.Errorf("timeout reached while waiting for %s response", what))
		}
	})
	r.requests[id] = req
	r.mu.Unlock()
	r.publish(r.requestChannel, b)
}

// FetchSockets returns the matching sockets of every server.
func (r *redisAdapter) FetchSockets(opts *socket.BroadcastOptions) func(func([]socket.SocketDetails, error)) {
	return func(cb func([]socket.SocketDetails, error)) {
		r.Adapter.FetchSockets(opts)(func(local []socket.SocketDetails, err error) {
			if err != nil || isLocal(opts) {
				cb(local, err)
				return
			}
			numSub := r.ServerCount()
			if numSub <= 1 {
				cb(local, nil)
				return
			}
			id := newUID()
			req := &pendingRequest{typ: reqRemoteFetch, numSub: numSub, msgCount: 1, sockets: local}
			req.resolve = func(err error) { cb(req.sockets, err) }
			o := optionsToWire(opts)
			r.request(id, req, map[string]any{
				"uid":       r.uid,
				"requestId": id,
				"type":      reqRemoteFetch,
				"opts":      map[string]any{"rooms": o["rooms"], "except": o["except"]},
			}, "fetchSockets")
		})
	}
}

// AddSockets, DelSockets and DisconnectSockets go to every server,
// including this one, through Redis (as in Node).
func (r *redisAdapter) AddSockets(opts *socket.BroadcastOptions, rooms []socket.Room) {
	if isLocal(opts) {
		r.Adapter.AddSockets(opts, rooms)
		return
	}
	r.publishRequest(map[string]any{"uid": r.uid, "type": reqRemoteJoin, "opts": roomsExcept(opts), "rooms": roomStrings(rooms)})
}

func (r *redisAdapter) DelSockets(opts *socket.BroadcastOptions, rooms []socket.Room) {
	if isLocal(opts) {
		r.Adapter.DelSockets(opts, rooms)
		return
	}
	r.publishRequest(map[string]any{"uid": r.uid, "type": reqRemoteLeave, "opts": roomsExcept(opts), "rooms": roomStrings(rooms)})
}

func (r *redisAdapter) DisconnectSockets(opts *socket.BroadcastOptions, closeConn bool) {
	if isLocal(opts) {
		r.Adapter.DisconnectSockets(opts, closeConn)
		return
	}
	r.publishRequest(map[string]any{"uid": r.uid, "type": reqRemoteDisconnect, "opts": roomsExcept(opts), "close": closeConn})
}

// ServerSideEmit sends [event, args...] to the other servers; with a
// socket.Ack last, it waits for one answer from each (their first
// acknowledgement argument) until the requests timeout.
func (r *redisAdapter) ServerSideEmit(packet []any) error {
	if len(packet) == 0 {
		return errors.New("packet cannot be empty")
	}
	ack, withAck := packet[len(packet)-1].(socket.Ack)
	if !withAck {
		return r.publishRequest(map[string]any{"uid": r.uid, "type": reqServerSideEmit, "data": packet})
	}
	packet = packet[:len(packet)-1]
	numSub := r.ServerCount() - 1
	if numSub <= 0 {
		ack([]any{}, nil)
		return nil
	}
	id := newUID()
	req := &pendingRequest{typ: reqServerSideEmit, numSub: numSub, responses: []any{}}
	req.resolve = func(err error) { ack(req.responses, err) }
	r.request(id, req, map[string]any{"uid": r.uid, "requestId": id, "type": reqServerSideEmit, "data": packet}, "serverSideEmit")
	return nil
}

func (r *redisAdapter) publishRequest(msg map[string]any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return r.publish(r.requestChannel, b)
}

// ServerCount is the number of servers subscribed to the namespace's
// request channel, this one included.
func (r *redisAdapter) ServerCount() int64 {
	ctx, cancel := context.WithTimeout(r.ctx, redisOpTimeout)
	defer cancel()
	res, err := r.rdb.PubSubNumSub(ctx, r.requestChannel).Result()
	if err != nil {
		logRedisError("pubsub numsub", err)
		return 1
	}
	return res[r.requestChannel]
}

func (r *redisAdapter) publish(channel string, msg []byte) error {
	ctx, cancel := context.WithTimeout(r.ctx, redisOpTimeout)
	defer cancel()
	err := r.rdb.Publish(ctx, channel, msg).Err()
	if err != nil && r.ctx.Err() == nil {
		logRedisError("publish", err)
	}
	return err
}

// lastRedisLog rate-limits logRedisError: Redis down means one error per
// broadcast.
var lastRedisLog atomic.Int64

func logRedisError(op string, err error) {
	now := time.Now().UnixNano()
	last := lastRedisLog.Load()
	if now-last < int64(10*time.Second) || !lastRedisLog.CompareAndSwap(last, now) {
		return
	}
	slog.Default().Warn("realtime: redis adapter", "op", op, "err", err)
}

func isLocal(opts *socket.BroadcastOptions) bool {
	return opts != nil && opts.Flags != nil && opts.Flags.Local
}
