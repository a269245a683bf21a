package store

import (
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Redis backends let several server nodes share one world: names are unique
// across all nodes, every node sees every room's members, and history and
// message IDs are global.
//
// Key layout, every key starting with the caller's prefix P:
//
//	P name:<lower(name)>     string   owner ID; PX NodeTTL when bound to a node
//	P room:<room>            hash     user ID -> JSON {"id","name","node"}
//	P rooms                  set      rooms with at least one member
//	P call:<room>            set      IDs of the room's members in its call
//	P player:<room>          string   JSON chat.Player: the room's shared player
//	P node:<nodeID>          string   heartbeat; PX NodeTTL, refreshed every NodeTTL/3
//	P nodes                  set      node IDs that may own names or members
//	P nodemembers:<nodeID>   set      "<room>\x00<userID>" joined through the node
//	P nodenames:<nodeID>     set      "<lower(name)>\x00<ownerID>" claimed through the node
//	P msg:<room>             stream   entry ID "<messageID>-0", field m = JSON record;
//	                                  MAXLEN chat.HistoryRetention (exact)
//	P msgseq                 string   INCR counter handing out message IDs
//	P sent:<room>\x00<userID>\x00<clientID>
//	                         string   message ID stored under that clientId; PX SentTTL
//
// A room's call and player keys go with its last member (Leave, and the
// sweep of a dead node's members), in the same script.
//
// Operations that touch several keys run as Lua scripts so each is atomic.
// With Redis Cluster the prefix must contain a hash tag (for example
// "{chat}:") so that all keys live in one slot; the scripts touch several keys
// at once, some of them derived from the prefix inside the script.
//
// Liveness: every node writes P node:<nodeID> with a TTL of NodeTTL and
// refreshes it, and the TTL of every name it holds, every NodeTTL/3
// (RedisPresence.Run). Run also sweeps: a node listed in P nodes whose
// heartbeat key has expired is dead, and its members and names are removed,
// with the callback told about each removed (room, user). Bound: the users of
// a node that dies disappear from presence within NodeTTL + the sweep
// interval (default NodeTTL/3, so 20s in all) of its death, as long as at
// least one node runs Run; its names expire by their own TTL within NodeTTL
// even if no node is left to sweep.
//
// A node that is merely stalled for longer than NodeTTL (a long GC pause, a
// network partition) is treated as dead: its users may be swept while their
// connections are still open, and Run logs a warning when it finds its own
// heartbeat had lapsed. Node IDs must be unique per process lifetime (see
// NewNodeID): a restarted process reusing its predecessor's ID would keep the
// predecessor's users alive as ghosts.
//
// Redis is the only copy of this state. Without persistence a Redis restart
// empties presence, names and history; the client reconnects by itself and
// the next heartbeat re-registers the node, but users are only present again
// once they rejoin.

// NodeTTL is how long a node's heartbeat, and the names it holds, outlive its
// last refresh. Run refreshes them every NodeTTL/3, so two refreshes can be
// missed before a node counts as dead.
const NodeTTL = 15 * time.Second

// sep separates the parts of a per-node set entry. Room names, user IDs and
// names never contain it.
const sep = "\x00"

// RedisOption configures the Redis backends.
type RedisOption func(*redisConfig)

type redisConfig struct {
	nodeID     string
	nodeTTL    time.Duration
	sweepEvery time.Duration
	logger     *slog.Logger
}

func newRedisConfig(opts []RedisOption) redisConfig {
	c := redisConfig{nodeTTL: NodeTTL, logger: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	if c.nodeTTL < 3*time.Millisecond {
		c.nodeTTL = 3 * time.Millisecond
	}
	if c.sweepEvery <= 0 {
		c.sweepEvery = c.nodeTTL / 3
	}
	return c
}

// WithNodeID names the node a RedisPresence or RedisNames works for; give
// both of a node the same ID, unique per process lifetime (see NewNodeID).
// NewRedisPresence requires it: the members joined through the presence are
// owned by that node. A RedisNames bound to a node gives its claims a TTL of
// NodeTTL, kept alive by that node's heartbeat (RedisPresence.Run with the
// same prefix and node ID), and its claims are freed by the sweeper when the
// node dies.
func WithNodeID(nodeID string) RedisOption {
	return func(c *redisConfig) { c.nodeID = nodeID }
}

// WithNodeTTL replaces NodeTTL, mainly so tests can let nodes die quickly.
// Every node and RedisNames sharing a prefix must use the same value.
func WithNodeTTL(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.nodeTTL = d }
}

// WithSweepInterval sets how often Run looks for dead nodes; the default is
// NodeTTL/3.
func WithSweepInterval(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.sweepEvery = d }
}

// WithLogger sets where Run reports failures it retries; the default is
// slog.Default().
func WithLogger(l *slog.Logger) RedisOption {
	return func(c *redisConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// NewNodeID returns an ID unique to this process: the host name (for humans
// reading Redis) and a random suffix.
func NewNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return host + "-" + strings.ToLower(rand.Text()[:12])
}

func ttlMillis(d time.Duration) int64 { return max(1, d.Milliseconds()) }

// keys builds key names under one prefix.
type keys string

func (k keys) name(folded string) string        { return string(k) + "name:" + folded }
func (k keys) room(room string) string          { return string(k) + "room:" + room }
func (k keys) rooms() string                    { return string(k) + "rooms" }
func (k keys) call(room string) string          { return string(k) + "call:" + room }
func (k keys) player(room string) string        { return string(k) + "player:" + room }
func (k keys) node(nodeID string) string        { return string(k) + "node:" + nodeID }
func (k keys) nodes() string                    { return string(k) + "nodes" }
func (k keys) nodeMembers(nodeID string) string { return string(k) + "nodemembers:" + nodeID }
func (k keys) nodeNames(nodeID string) string   { return string(k) + "nodenames:" + nodeID }
func (k keys) history(room string) string       { return string(k) + "msg:" + room }
func (k keys) seq() string                      { return string(k) + "msgseq" }
func (k keys) sent(room, userID, clientID string) string {
	return string(k) + "sent:" + room + "\x00" + userID + "\x00" + clientID
}
