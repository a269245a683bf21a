package store

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/chat"
)

// sweepBatch bounds how many entries one sweep script removes, so sweeping a
// node with many users does not block Redis for long.
const sweepBatch = 500

// RedisPresence is a chat.Presence shared by every node using the same Redis
// and prefix. Members joined through it are owned by its node and removed by
// the other nodes' sweepers if the node dies. It is safe for concurrent use.
type RedisPresence struct {
	rdb  redis.UniversalClient
	k    keys
	node string
	cfg  redisConfig
	// beaten is set after the first heartbeat, so a missing heartbeat key
	// afterwards means this node's liveness lapsed.
	beaten atomic.Bool
}

// NewRedisPresence returns presence stored under prefix for the node given
// by WithNodeID, which is required: it panics without one. The client stays
// owned by the caller. Run must be running for the node to count as alive.
func NewRedisPresence(rdb redis.UniversalClient, prefix string, opts ...RedisOption) *RedisPresence {
	c := newRedisConfig(opts)
	if c.nodeID == "" {
		panic("store: NewRedisPresence needs WithNodeID")
	}
	return &RedisPresence{rdb: rdb, k: keys(prefix), node: c.nodeID, cfg: c}
}

// presenceEntry is the stored form of a member.
type presenceEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Node string `json:"node"`
}

//go:embed lua/presence_join.lua
var joinLua string

// joinScript takes KEYS room hash, rooms set, node members set, nodes set,
// node key and ARGV user ID, entry JSON, room, node ID, TTL ms, prefix. A
// user moving between nodes is dropped from the old node's set. The node key
// is created if missing, so members joined before the first heartbeat are not
// swept as a dead node's.
var joinScript = redis.NewScript(joinLua)

//go:embed lua/presence_leave.lua
var leaveLua string

// leaveScript takes KEYS room hash, rooms set, call set, player key and
// ARGV user ID, room, prefix. The last member takes the room's call and
// player with them.
var leaveScript = redis.NewScript(leaveLua)

// Join implements chat.Presence.
func (p *RedisPresence) Join(ctx context.Context, room string, u chat.User) error {
	entry, err := json.Marshal(presenceEntry{ID: u.ID, Name: u.Name, Node: p.node})
	if err != nil {
		return fmt.Errorf("store: redis: joining %q: %w", room, err)
	}
	ks := []string{p.k.room(room), p.k.rooms(), p.k.nodeMembers(p.node), p.k.nodes(), p.k.node(p.node)}
	err = joinScript.Run(ctx, p.rdb, ks, u.ID, entry, room, p.node, ttlMillis(p.cfg.nodeTTL), string(p.k)).Err()
	if err != nil {
		return fmt.Errorf("store: redis: joining %q: %w", room, err)
	}
	return nil
}

// Leave implements chat.Presence.
func (p *RedisPresence) Leave(ctx context.Context, room, userID string) error {
	ks := []string{p.k.room(room), p.k.rooms(), p.k.call(room), p.k.player(room)}
	if err := leaveScript.Run(ctx, p.rdb, ks, userID, room, string(p.k)).Err(); err != nil {
		return fmt.Errorf("store: redis: leaving %q: %w", room, err)
	}
	return nil
}

// Members implements chat.Presence.
func (p *RedisPresence) Members(ctx context.Context, room string) ([]chat.User, error) {
	vals, err := p.rdb.HVals(ctx, p.k.room(room)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis: members of %q: %w", room, err)
	}
	out := make([]chat.User, 0, len(vals))
	for _, v := range vals {
		u, err := decodeEntry(v)
		if err != nil {
			return nil, fmt.Errorf("store: redis: members of %q: %w", room, err)
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b chat.User) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func decodeEntry(v string) (chat.User, error) {
	var e presenceEntry
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return chat.User{}, fmt.Errorf("decoding member %q: %w", v, err)
	}
	return chat.User{ID: e.ID, Name: e.Name}, nil
}

// Rooms implements chat.Presence.
func (p *RedisPresence) Rooms(ctx context.Context) ([]chat.RoomInfo, error) {
	names, err := p.rdb.SMembers(ctx, p.k.rooms()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis: listing rooms: %w", err)
	}
	out := make([]chat.RoomInfo, 0, len(names))
	if len(names) == 0 {
		return out, nil
	}
	pipe := p.rdb.Pipeline()
	counts := make([]*redis.IntCmd, len(names))
	for i, name := range names {
		counts[i] = pipe.HLen(ctx, p.k.room(name))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: redis: counting room members: %w", err)
	}
	for i, name := range names {
		// A room emptied between the two round trips is left out.
		if n := counts[i].Val(); n > 0 {
			out = append(out, chat.RoomInfo{Name: name, Members: int(n)})
		}
	}
	slices.SortFunc(out, func(a, b chat.RoomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// HasMember implements chat.Presence.
func (p *RedisPresence) HasMember(ctx context.Context, room, userID string) (bool, error) {
	ok, err := p.rdb.HExists(ctx, p.k.room(room), userID).Result()
	if err != nil {
		return false, fmt.Errorf("store: redis: member of %q: %w", room, err)
	}
	return ok, nil
}

//go:embed lua/presence_call.lua
var callLua string

// callScript takes KEYS room hash, call set and ARGV user ID, 1 to join the
// call or 0 to leave it, the most members the call may hold. It returns 1
// when done, -1 when the user is not a member, -2 when the call is full.
var callScript = redis.NewScript(callLua)

// SetInCall implements chat.Presence.
func (p *RedisPresence) SetInCall(ctx context.Context, room, userID string, inCall bool, maxInCall int) error {
	flag := "0"
	if inCall {
		flag = "1"
	}
	got, err := callScript.Run(ctx, p.rdb, []string{p.k.room(room), p.k.call(room)}, userID, flag, maxInCall).Int()
	if err != nil {
		return fmt.Errorf("store: redis: call of %q: %w", room, err)
	}
	switch got {
	case -1:
		return chat.ErrNotInRoom
	case -2:
		return chat.ErrCallFull
	}
	return nil
}

// InCall implements chat.Presence.
func (p *RedisPresence) InCall(ctx context.Context, room string) ([]string, error) {
	ids, err := p.rdb.SMembers(ctx, p.k.call(room)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis: call of %q: %w", room, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// Player implements chat.Presence.
func (p *RedisPresence) Player(ctx context.Context, room string) (*chat.Player, error) {
	raw, err := p.rdb.Get(ctx, p.k.player(room)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis: player of %q: %w", room, err)
	}
	var pl chat.Player
	if err := json.Unmarshal([]byte(raw), &pl); err != nil {
		return nil, fmt.Errorf("store: redis: player of %q: decoding %q: %w", room, raw, err)
	}
	return &pl, nil
}

// playerAttempts bounds how often UpdatePlayer tries again when another
// update (or the room's last member leaving) changed its keys meanwhile.
const playerAttempts = 16

// UpdatePlayer implements chat.Presence with an optimistic transaction:
// the room's members and player are watched while update runs, and the
// write is retried when either changed meanwhile.
func (p *RedisPresence) UpdatePlayer(ctx context.Context, room string, update func(*chat.Player) (chat.Player, error)) (chat.Player, error) {
	roomKey, playerKey := p.k.room(room), p.k.player(room)
	var stored chat.Player
	txn := func(tx *redis.Tx) error {
		n, err := tx.HLen(ctx, roomKey).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return chat.ErrNotInRoom
		}
		var prev *chat.Player
		raw, err := tx.Get(ctx, playerKey).Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			var pl chat.Player
			if err := json.Unmarshal([]byte(raw), &pl); err != nil {
				return fmt.Errorf("decoding %q: %w", raw, err)
			}
			prev = &pl
		}
		next, err := update(prev)
		if err != nil {
			return err
		}
		enc, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if _, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, playerKey, enc, 0)
			return nil
		}); err != nil {
			return err
		}
		stored = next
		return nil
	}
	for range playerAttempts {
		err := p.rdb.Watch(ctx, txn, roomKey, playerKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		var ce *chat.Error
		if errors.As(err, &ce) {
			return chat.Player{}, err
		}
		if err != nil {
			return chat.Player{}, fmt.Errorf("store: redis: player of %q: %w", room, err)
		}
		return stored, nil
	}
	return chat.Player{}, fmt.Errorf("store: redis: player of %q: %d concurrent updates in a row", room, playerAttempts)
}

//go:embed lua/node_heartbeat.lua
var heartbeatLua string

// heartbeatScript takes KEYS node key, nodes set, node names set and ARGV
// node ID, TTL ms, prefix. It refreshes the node key and the TTL of every
// name the node holds, re-creating a name that expired meanwhile unless
// someone else took it. It returns 1 if the node key had lapsed.
var heartbeatScript = redis.NewScript(heartbeatLua)

//go:embed lua/node_sweep.lua
var sweepLua string

// sweepScript takes KEYS dead node key, its members set, its names set, nodes
// set, rooms set and ARGV node ID, prefix, batch size. Unless the node is
// alive again it removes up to a batch of the node's members and names and
// returns {remaining, {room, entry JSON, ...}}; remaining is -1 when the node
// turned out to be alive. Once nothing remains the node is forgotten.
var sweepScript = redis.NewScript(sweepLua)

// Heartbeat marks this node alive for NodeTTL and extends the names claimed
// through a RedisNames bound to it (WithNodeID). Run calls it every
// NodeTTL/3; calling it once at startup checks that Redis is reachable.
func (p *RedisPresence) Heartbeat(ctx context.Context) error {
	ks := []string{p.k.node(p.node), p.k.nodes(), p.k.nodeNames(p.node)}
	lapsed, err := heartbeatScript.Run(ctx, p.rdb, ks, p.node, ttlMillis(p.cfg.nodeTTL), string(p.k)).Int()
	if err != nil {
		return fmt.Errorf("store: redis: heartbeat of node %q: %w", p.node, err)
	}
	if p.beaten.Swap(true) && lapsed == 1 {
		p.cfg.logger.Warn("store: redis: this node's heartbeat had lapsed; other nodes may have removed its users",
			"node", p.node, "ttl", p.cfg.nodeTTL)
	}
	return nil
}

// Sweep removes the members and names of every dead node (one whose
// heartbeat key has expired), calling onGone, if not nil, once for each
// removed member. Concurrent sweeps by several nodes are safe: each member is
// removed, and reported, by exactly one of them.
func (p *RedisPresence) Sweep(ctx context.Context, onGone func(room string, u chat.User)) error {
	nodes, err := p.rdb.SMembers(ctx, p.k.nodes()).Result()
	if err != nil {
		return fmt.Errorf("store: redis: listing nodes: %w", err)
	}
	nodes = slices.DeleteFunc(nodes, func(n string) bool { return n == p.node })
	if len(nodes) == 0 {
		return nil
	}
	pipe := p.rdb.Pipeline()
	alive := make([]*redis.IntCmd, len(nodes))
	for i, n := range nodes {
		alive[i] = pipe.Exists(ctx, p.k.node(n))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: redis: checking node heartbeats: %w", err)
	}
	var errs []error
	for i, n := range nodes {
		if alive[i].Val() == 0 {
			errs = append(errs, p.sweepNode(ctx, n, onGone))
		}
	}
	return errors.Join(errs...)
}

func (p *RedisPresence) sweepNode(ctx context.Context, node string, onGone func(string, chat.User)) error {
	ks := []string{p.k.node(node), p.k.nodeMembers(node), p.k.nodeNames(node), p.k.nodes(), p.k.rooms()}
	for {
		res, err := sweepScript.Run(ctx, p.rdb, ks, node, string(p.k), sweepBatch).Slice()
		if err != nil {
			return fmt.Errorf("store: redis: sweeping node %q: %w", node, err)
		}
		more, gone, err := parseSweep(res)
		if err != nil {
			return fmt.Errorf("store: redis: sweeping node %q: %w", node, err)
		}
		for i := 0; i+1 < len(gone); i += 2 {
			u, err := decodeEntry(gone[i+1])
			if err != nil {
				p.cfg.logger.Warn("store: redis: swept an undecodable member", "node", node, "err", err)
				continue
			}
			if onGone != nil {
				onGone(gone[i], u)
			}
		}
		if more <= 0 {
			return nil
		}
	}
}

func parseSweep(res []any) (more int64, gone []string, err error) {
	if len(res) != 2 {
		return 0, nil, fmt.Errorf("unexpected sweep reply %v", res)
	}
	more, ok := res[0].(int64)
	items, ok2 := res[1].([]any)
	if !ok || !ok2 {
		return 0, nil, fmt.Errorf("unexpected sweep reply %v", res)
	}
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return 0, nil, fmt.Errorf("unexpected sweep item %v", it)
		}
		gone = append(gone, s)
	}
	return more, gone, nil
}

// Run keeps this node alive and sweeps dead ones until ctx is done: it
// heartbeats at once and then every NodeTTL/3, and sweeps at once and then
// every sweep interval, calling onGone (from Run's goroutine) for each member
// of a dead node it removed, so the app can announce that they left. Redis
// failures are logged and retried on the next tick. Cancelling ctx stops the
// heartbeat without deleting the node key, so this node's members and names
// are swept by the other nodes once it expires, unless they were removed
// earlier by Leave and Release.
func (p *RedisPresence) Run(ctx context.Context, onGone func(room string, u chat.User)) {
	beatEvery := max(p.cfg.nodeTTL/3, time.Millisecond)
	beat := time.NewTicker(beatEvery)
	defer beat.Stop()
	sweep := time.NewTicker(p.cfg.sweepEvery)
	defer sweep.Stop()

	heartbeat := func() {
		// A refresh that takes longer than its interval is as good as lost.
		c, cancel := context.WithTimeout(ctx, beatEvery)
		defer cancel()
		if err := p.Heartbeat(c); err != nil && ctx.Err() == nil {
			p.cfg.logger.Warn("store: redis: heartbeat failed", "node", p.node, "err", err)
		}
	}
	sweepOnce := func() {
		c, cancel := context.WithTimeout(ctx, max(p.cfg.sweepEvery, p.cfg.nodeTTL))
		defer cancel()
		if err := p.Sweep(c, onGone); err != nil && ctx.Err() == nil {
			p.cfg.logger.Warn("store: redis: sweeping dead nodes failed", "node", p.node, "err", err)
		}
	}

	heartbeat()
	sweepOnce()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			heartbeat()
		case <-sweep.C:
			sweepOnce()
		}
	}
}

var _ chat.Presence = (*RedisPresence)(nil)
