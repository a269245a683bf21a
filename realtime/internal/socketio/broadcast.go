package socketio

import (
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
	msgs, _, err := b.nsp.encode(event, args, b.opts)
	if err != nil {
		return err
	}
	b.nsp.adapter.Broadcast(msgs, b.opts)
	return nil
}

// EmitWithAck broadcasts the event asking every receiver for an
// acknowledgement, and calls fn once with all the answers, when every
// receiver answered or when timeout passed (then with ErrAckTimeout and
// the answers so far).
func (b *BroadcastOperator) EmitWithAck(timeout time.Duration, fn func(answers [][]any, err error), event string, args ...any) error {
	id := b.nsp.ids.Add(1) - 1
	msgs, err := encodeEvent(b.nsp.name, id, event, args)
	if err != nil {
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
		finish(ErrAckTimeout)
	})
	b.nsp.adapter.BroadcastWithAck(msgs, id, b.opts, func(n int) {
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
