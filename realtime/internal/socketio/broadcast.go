package socketio

import (
	"context"
	"sync"
	"time"
)

// BroadcastOperator is a broadcast being set up: rooms, exceptions, flags.
// Each method returns a new operator; the receiver is not changed.
type BroadcastOperator struct {
	nsp  *Namespace
	opts BroadcastOptions
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.opts.Rooms = append([]string(nil), b.opts.Rooms...)
	c.opts.Except = append([]string(nil), b.opts.Except...)
	return &c
}

// To adds rooms: the broadcast reaches the sockets in any of them.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.opts.Rooms = append(c.opts.Rooms, rooms...)
	return c
}

// Except leaves out the sockets in the rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	c.opts.Except = append(c.opts.Except, rooms...)
	return c
}

// Volatile drops the packet for receivers that cannot take it at once.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Volatile = true
	return c
}

// Local keeps the broadcast on this server.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Local = true
	return c
}

// Latest makes the packet a latest value for key: at each receiver it
// replaces the still-queued packet with the same key, so the newest value
// always arrives and none queue up (cursor positions).
func (b *BroadcastOperator) Latest(key string) *BroadcastOperator {
	c := b.clone()
	c.opts.Flags.Latest = key
	return c
}

// Options returns the broadcast's options.
func (b *BroadcastOperator) Options() BroadcastOptions { return b.opts }

// Emit encodes the event once and delivers it to every receiver.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	p := NewOutgoing(b.nsp, eventData(event, args), NoID)
	if _, err := p.Messages(); err != nil {
		return err // not encodable: say so here, not on the other servers
	}
	b.nsp.adapter.Broadcast(p, b.opts)
	return nil
}

func eventData(event string, args []any) []any {
	data := make([]any, 0, len(args)+1)
	data = append(data, event)
	return append(data, args...)
}

// SocketsJoin makes the selected sockets join the rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) { b.nsp.adapter.AddSockets(b.opts, rooms) }

// SocketsLeave makes the selected sockets leave the rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) { b.nsp.adapter.DelSockets(b.opts, rooms) }

// DisconnectSockets disconnects the selected sockets (with close, their
// whole connections).
func (b *BroadcastOperator) DisconnectSockets(close bool) {
	b.nsp.adapter.DisconnectSockets(b.opts, close)
}

// FetchSockets describes the selected sockets.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]SocketInfo, error) {
	return b.nsp.adapter.FetchSockets(ctx, b.opts)
}

// EmitWithAck broadcasts the event asking every receiver for an
// acknowledgement, and calls fn once with all the answers, when every
// receiver answered or when timeout passed (then with ErrAckTimeout and
// the answers so far).
func (b *BroadcastOperator) EmitWithAck(timeout time.Duration, fn func(answers [][]any, err error), event string, args ...any) error {
	p := NewOutgoing(b.nsp, eventData(event, args), b.nsp.ids.Add(1)-1)
	if _, err := p.Messages(); err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		answers  [][]any
		expected = -1
		done     bool
	)
	finish := func(err error) {
		if done {
			return
		}
		done = true
		go fn(answers, err) // not under mu, nor on a reader's goroutine
	}
	timer := time.AfterFunc(timeout, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			b.nsp.ackTimeouts.Add(1)
		}
		finish(ErrAckTimeout)
	})
	opts := b.opts
	opts.Flags.Timeout = timeout
	b.nsp.adapter.BroadcastWithAck(p, opts, func(n int) {
		mu.Lock()
		defer mu.Unlock()
		expected = n
		if len(answers) >= expected {
			timer.Stop()
			finish(nil)
		}
	}, func(reply []any, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil || done {
			return
		}
		answers = append(answers, reply)
		if expected >= 0 && len(answers) >= expected {
			timer.Stop()
			finish(nil)
		}
	})
	return nil
}
