package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// Defaults, as in Node's adapter.
const (
	DefaultKey             = "socket.io"
	DefaultRequestsTimeout = 5 * time.Second
)

const (
	subscribeTimeout    = 5 * time.Second  // bound on Redis confirming the subscriptions
	redisOpTimeout      = 5 * time.Second  // bound on one PUBLISH or PUBSUB NUMSUB
	healthCheckInterval = 30 * time.Second // a PING on a quiet subscription
	retryDelay          = 200 * time.Millisecond
)

// ErrClosed is returned for a request the adapter could not finish
// because it was closed first.
var ErrClosed = errors.New("redisadapter: adapter closed")

// Options configures the adapter.
type Options struct {
	// Key is the prefix of the channels; default "socket.io", as Node's.
	// Every server of a cluster must use the same.
	Key string
	// RequestsTimeout bounds the requests to the other servers
	// (fetchSockets, allRooms, serverSideEmitWithAck); default 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel answers another server's requests
	// on its own response channel ("<key>-response#<nsp>#<uid>#") rather
	// than the shared one, as Node's option of the same name does.
	PublishOnSpecificResponseChannel bool
	// Logger gets Redis errors (at most one every 10 seconds per
	// adapter); default slog.Default().
	Logger *slog.Logger
}

// New returns a socketio.Options.NewAdapter: each namespace gets an
// Adapter on rdb (one subscribed connection per namespace; publishes and
// NUMSUB use rdb's pool). The namespace is subscribed when New's function
// returns, or after a bounded wait if Redis does not confirm (then it logs
// and the subscription completes when Redis is back).
func New(rdb goredis.UniversalClient, opts Options) func(*socketio.Namespace) socketio.Adapter {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.RequestsTimeout <= 0 {
		opts.RequestsTimeout = DefaultRequestsTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return func(n *socketio.Namespace) socketio.Adapter { return newAdapter(rdb, opts, n) }
}

// Adapter is a namespace's Redis adapter: the in-memory adapter for rooms
// and local delivery, and Redis for the other servers of the cluster.
//
// What Redis delivers is handled in order on one goroutine (broadcasts and
// requests, so that a socketsJoin and the broadcast to the room that
// follows it arrive in the order they were published), except the answers
// to this server's own requests, which the receiving goroutine completes
// itself so that a handler waiting for them cannot stall the loop, and
// server-side events, whose handlers run in order on another goroutine.
type Adapter struct {
	*socketio.MemoryAdapter

	nsp  *socketio.Namespace
	rdb  goredis.UniversalClient
	opts Options
	uid  string

	channel, requestChannel, responseChannel, specificResponseChannel string

	ctx    context.Context
	cancel context.CancelFunc
	pubsub *goredis.PubSub
	done   chan struct{} // closed when the receive loop has returned
	// unsubscribed is closed when Redis confirmed Close's unsubscriptions.
	unsubscribed chan struct{}
	inbox        *fifo // broadcasts and requests, in order
	events       *fifo // server-side event handlers, in order
	lastLog      atomic.Int64

	// For monitoring (Stats).
	published, publishFailed, received atomic.Uint64

	mu          sync.Mutex
	requests    map[string]*request    // ours, awaiting answers
	ackRequests map[string]*ackRequest // our broadcasts with acks
	closed      bool
}

var _ socketio.Adapter = (*Adapter)(nil)

func newAdapter(rdb goredis.UniversalClient, opts Options, n *socketio.Namespace) *Adapter {
	a := &Adapter{
		MemoryAdapter: socketio.NewMemoryAdapter(n).(*socketio.MemoryAdapter),
		nsp:           n,
		rdb:           rdb,
		opts:          opts,
		uid:           newID(6),
		requests:      map[string]*request{},
		ackRequests:   map[string]*ackRequest{},
		inbox:         newFIFO(),
		events:        newFIFO(),
		done:          make(chan struct{}),
		unsubscribed:  make(chan struct{}),
	}
	a.channel = opts.Key + "#" + n.Name() + "#"
	a.requestChannel = opts.Key + "-request#" + n.Name() + "#"
	a.responseChannel = opts.Key + "-response#" + n.Name() + "#"
	a.specificResponseChannel = a.responseChannel + a.uid + "#"
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.subscribe()
	return a
}

// UID is the server's id in the cluster for this namespace (the first
// element of what it publishes).
func (a *Adapter) UID() string { return a.uid }

// subscribe subscribes to the namespace's channels and waits, bounded,
// until Redis confirmed all four, so that the server misses nothing
// published once its namespace exists.
func (a *Adapter) subscribe() {
	a.pubsub = a.rdb.Subscribe(a.ctx)
	ready := make(chan struct{})
	go a.inbox.run()
	go a.events.run()
	go a.receive(ready)
	ctx, cancel := context.WithTimeout(a.ctx, subscribeTimeout)
	defer cancel()
	if err := a.pubsub.PSubscribe(ctx, a.channel+"*"); err != nil {
		a.logError("psubscribe", err)
	}
	if err := a.pubsub.Subscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err != nil {
		a.logError("subscribe", err)
	}
	select {
	case <-ready:
	case <-ctx.Done():
		a.opts.Logger.Warn("redisadapter: subscriptions not confirmed in time; going on", "nsp", a.nsp.Name(), "timeout", subscribeTimeout)
	}
}

// receive reads what Redis delivers until Close.
func (a *Adapter) receive(ready chan struct{}) {
	defer close(a.done)
	confirmed := map[string]bool{}
	readyClosed, unsubClosed := false, false
	for {
		msg, err := a.pubsub.ReceiveTimeout(a.ctx, healthCheckInterval)
		if a.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet for a while: check the connection; if it is gone,
				// the next receive reconnects and subscribes again.
				_ = a.pubsub.Ping(a.ctx)
				continue
			}
			a.logError("receive", err)
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(retryDelay):
			}
			continue
		}
		switch m := msg.(type) {
		case *goredis.Subscription:
			switch m.Kind {
			case "subscribe", "psubscribe":
				confirmed[m.Kind+" "+m.Channel] = true
				if len(confirmed) == 4 && !readyClosed {
					readyClosed = true
					close(ready)
				}
			case "unsubscribe", "punsubscribe":
				if m.Count == 0 && !unsubClosed { // Close's, all done
					unsubClosed = true
					close(a.unsubscribed)
				}
			}
		case *goredis.Message:
			a.received.Add(1)
			payload := []byte(m.Payload)
			switch {
			case m.Pattern != "":
				channel := m.Channel
				a.inbox.push(func() { a.onBroadcast(channel, payload) })
			case strings.HasPrefix(m.Channel, a.responseChannel):
				a.onResponse(payload)
			case m.Channel == a.requestChannel:
				a.inbox.push(func() { a.onRequest(payload) })
			}
		}
	}
}

// Close unsubscribes and fails the requests still waiting; the Redis
// client stays open (its owner closes it).
func (a *Adapter) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	pending := make([]*request, 0, len(a.requests))
	for id, r := range a.requests {
		delete(a.requests, id)
		pending = append(pending, r)
	}
	for id, ar := range a.ackRequests {
		ar.timer.Stop()
		delete(a.ackRequests, id)
	}
	a.mu.Unlock()
	for _, r := range pending {
		r.finish(ErrClosed)
	}
	// Unsubscribe and wait (bounded) for Redis to confirm, so that the
	// server no longer counts in NUMSUB once Close returns.
	ctx, cancel := context.WithTimeout(context.Background(), redisOpTimeout)
	err := a.pubsub.PUnsubscribe(ctx, a.channel+"*")
	if err == nil {
		err = a.pubsub.Unsubscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel)
	}
	if err == nil {
		select {
		case <-a.unsubscribed:
		case <-ctx.Done():
		}
	}
	cancel()
	a.cancel()
	_ = a.pubsub.Close()
	<-a.done
	a.inbox.stop()
	a.events.stop()
	a.MemoryAdapter.Close()
}

// ------------------------------------------------------------ Redis

func (a *Adapter) publish(channel string, msg []byte) error {
	ctx, cancel := context.WithTimeout(a.ctx, redisOpTimeout)
	defer cancel()
	err := a.rdb.Publish(ctx, channel, msg).Err()
	if err != nil {
		a.publishFailed.Add(1)
		if a.ctx.Err() == nil {
			a.logError("publish", err)
		}
	} else {
		a.published.Add(1)
	}
	return err
}

// Stats are the adapter's Redis counters: messages published (and
// publishes that failed) and messages received on its channels.
func (a *Adapter) Stats() (published, publishFailed, received uint64) {
	return a.published.Load(), a.publishFailed.Load(), a.received.Load()
}

// ServerCount is the number of servers subscribed to the namespace's
// request channel, this one included (Node's serverCount). On error it
// says 1: this server alone.
func (a *Adapter) ServerCount(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	res, err := a.rdb.PubSubNumSub(ctx, a.requestChannel).Result()
	if err != nil {
		if a.ctx.Err() == nil {
			a.logError("pubsub numsub", err)
		}
		return 1
	}
	return max(res[a.requestChannel], 1)
}

// logError logs at most one Redis error every 10 seconds: Redis down
// means one error per broadcast.
func (a *Adapter) logError(op string, err error) {
	now := time.Now().UnixNano()
	last := a.lastLog.Load()
	if now-last < int64(10*time.Second) || !a.lastLog.CompareAndSwap(last, now) {
		return
	}
	a.opts.Logger.Warn("redisadapter: redis", "nsp", a.nsp.Name(), "op", op, "err", err)
}

// newID returns n random characters of [A-Za-z0-9], like Node's uid2.
func newID(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	lim := big.NewInt(int64(len(chars)))
	for i := range b {
		k, err := rand.Int(rand.Reader, lim)
		if err != nil {
			panic(err)
		}
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

// ------------------------------------------------------------- fifo

// fifo runs functions in order on one goroutine, never blocking the
// pusher.
type fifo struct {
	mu    sync.Mutex
	items []func()
	wake  chan struct{}
	quit  chan struct{}
}

func newFIFO() *fifo {
	return &fifo{wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

func (q *fifo) push(fn func()) {
	q.mu.Lock()
	q.items = append(q.items, fn)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *fifo) run() {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, fn := range items {
			select {
			case <-q.quit:
				return
			default:
			}
			fn()
		}
		if len(items) > 0 {
			continue
		}
		select {
		case <-q.wake:
		case <-q.quit:
			return
		}
	}
}

// stop makes run return after the function running now, if any (without
// waiting for it: a handler may block); what is still queued is dropped.
func (q *fifo) stop() { close(q.quit) }
