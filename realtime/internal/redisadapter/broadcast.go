package redisadapter

import (
	"strings"
	"sync"
	"time"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Broadcast publishes the packet for the other servers (unless
// opts.Flags.Local), then delivers it here: msgpack [uid, packet, opts] on
// "<key>#<nsp>#", or "<key>#<nsp>#<room>#" when there is exactly one room,
// as Node's adapter does.
func (a *Adapter) Broadcast(p *socketio.Outgoing, opts socketio.BroadcastOptions) {
	if !opts.Flags.Local {
		wo := optsToWire(opts)
		msg, err := encodeMsgpack([]any{a.uid, a.wirePacket(p), wo})
		if err == nil {
			channel := a.channel
			if len(wo.Rooms) == 1 {
				channel += wo.Rooms[0] + "#"
			}
			_ = a.publish(channel, msg)
		}
	}
	a.MemoryAdapter.Broadcast(p, opts)
}

func (a *Adapter) wirePacket(p *socketio.Outgoing) wirePacket {
	return wirePacket{Type: packetEvent, Data: dataToWire(p.Data), Nsp: a.nsp.Name()}
}

// onBroadcast delivers here what another server or an emitter published.
// Node's checks, in its order: the channel is the namespace's or one of
// its rooms' (the namespace channel itself carries every broadcast with no
// room or several: defect 1 of the library's adapter dropped it), someone
// here is in that room, the sender is not this server, the packet is for
// this namespace.
func (a *Adapter) onBroadcast(channel string, msg []byte) {
	rest, ok := strings.CutPrefix(channel, a.channel)
	if !ok {
		return
	}
	if rest != "" {
		if room := rest[:len(rest)-1]; room != "" && !a.HasRoom(room) {
			return
		}
	}
	v, err := decodeMsgpack(msg)
	if err != nil {
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return
	}
	if uid, _ := arr[0].(string); uid == a.uid {
		return
	}
	data, ok := packetData(arr[1], a.nsp.Name())
	if !ok {
		return
	}
	var rawOpts any
	if len(arr) > 2 {
		rawOpts = arr[2]
	}
	opts := optsFromWire(rawOpts)
	opts.Flags.Local = true
	opts.Flags.Timeout = 0
	a.MemoryAdapter.Broadcast(socketio.NewOutgoing(a.nsp, data, socketio.NoID), opts)
}

// ackRequest is a broadcast of ours with acknowledgements: sent gets the
// number of receivers once, when this server and every other one said how
// many clients they asked.
type ackRequest struct {
	ack   func([]any, error)
	sent  func(int)
	timer *time.Timer

	mu        sync.Mutex
	others    int64 // servers that have not said their count yet
	total     int
	localDone bool
	reported  bool
}

// count adds one server's client count (this server's when local).
func (r *ackRequest) count(n int, local bool) {
	r.mu.Lock()
	if r.reported {
		r.mu.Unlock()
		return
	}
	r.total += n
	if local {
		r.localDone = true
	} else {
		r.others--
	}
	report := r.localDone && r.others <= 0
	r.reported = report
	total := r.total
	r.mu.Unlock()
	if report {
		r.sent(total)
	}
}

// noOthers stops waiting for the other servers (the request did not go
// out).
func (r *ackRequest) noOthers() {
	r.mu.Lock()
	r.others = 1
	r.mu.Unlock()
	r.count(0, false)
}

// BroadcastWithAck asks the other servers to broadcast the packet and
// relay their clients' acknowledgements (msgpack {uid, requestId, type 7,
// packet, opts} on the request channel, flags.timeout in milliseconds),
// then broadcasts here. sent gets the total number of receivers once every
// server answered with its count ({type 8, clientCount}); each client's
// acknowledgement comes to ack as it arrives, one from another server
// being its first argument only ({type 9, packet}), as between Node
// servers. If a server never says its count, sent is never called and the
// caller's timeout ends the wait (as in Node). The request is forgotten
// after opts.Flags.Timeout (Options.RequestsTimeout when zero).
func (a *Adapter) BroadcastWithAck(p *socketio.Outgoing, opts socketio.BroadcastOptions, sent func(int), ack func([]any, error)) {
	if opts.Flags.Local {
		a.MemoryAdapter.BroadcastWithAck(p, opts, sent, ack)
		return
	}
	others := a.ServerCount(a.ctx) - 1
	if others <= 0 {
		a.MemoryAdapter.BroadcastWithAck(p, opts, sent, ack)
		return
	}
	id := newID(6)
	msg, err := encodeMsgpack(broadcastRequest{UID: a.uid, RequestID: id, Type: typeBroadcast, Packet: a.wirePacket(p), Opts: optsToWire(opts)})
	if err != nil {
		a.MemoryAdapter.BroadcastWithAck(p, opts, sent, ack)
		return
	}
	r := &ackRequest{ack: ack, sent: sent, others: others}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.opts.RequestsTimeout
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.MemoryAdapter.BroadcastWithAck(p, opts, sent, ack)
		return
	}
	a.ackRequests[id] = r
	r.timer = time.AfterFunc(timeout, func() {
		a.mu.Lock()
		if a.ackRequests[id] == r {
			delete(a.ackRequests, id)
		}
		a.mu.Unlock()
	})
	a.mu.Unlock()
	if err := a.publish(a.requestChannel, msg); err != nil {
		a.mu.Lock()
		delete(a.ackRequests, id)
		a.mu.Unlock()
		r.timer.Stop()
		r.noOthers()
	}
	a.MemoryAdapter.BroadcastWithAck(p, opts, func(n int) { r.count(n, true) }, ack)
}

// onAckResponse is another server's answer to a broadcast of ours with
// acks.
func (r *ackRequest) onResponse(typ int64, resp map[string]any) {
	switch typ {
	case typeClientCount:
		n, _ := intOf(resp["clientCount"])
		r.count(int(max(n, 0)), false)
	case typeBroadcastAck:
		if v, ok := resp["packet"]; ok {
			r.ack([]any{v}, nil)
		} else {
			r.ack([]any{}, nil)
		}
	}
}

// onBroadcastRequest broadcasts another server's packet with acks to the
// sockets here, asking them under an ack id of this server, and answers
// with the number of clients asked (JSON {type 8, requestId, clientCount})
// and each client's first acknowledgement argument (msgpack {type 9,
// requestId, packet}), as Node's adapter does.
func (a *Adapter) onBroadcastRequest(req map[string]any, uid, requestID string) {
	if uid == a.uid {
		return
	}
	a.mu.Lock()
	_, ours := a.ackRequests[requestID]
	a.mu.Unlock()
	if ours {
		return
	}
	data, ok := packetData(req["packet"], a.nsp.Name())
	if !ok {
		return
	}
	opts := optsFromWire(req["opts"])
	opts.Flags.Local = true
	opts.Flags.Timeout = 0
	p := socketio.NewOutgoing(a.nsp, data, a.nsp.NewAckID())
	a.MemoryAdapter.BroadcastWithAck(p, opts, func(n int) {
		if b, err := encodeJSON(clientCountResponse{Type: typeClientCount, RequestID: requestID, ClientCount: n}); err == nil {
			a.respond(uid, b)
		}
	}, func(args []any, err error) {
		if err != nil {
			return // the client left: nothing to relay
		}
		resp := broadcastAck{Type: typeBroadcastAck, RequestID: requestID}
		if len(args) > 0 {
			resp.Packet, resp.HasPacket = toWire(args[0]), true
		}
		if b, err := encodeMsgpack(resp); err == nil {
			a.respond(uid, b)
		}
	})
}
