package store

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/chat"
)

// RedisNames is a chat.Names shared by every node using the same Redis and
// prefix. It is safe for concurrent use.
type RedisNames struct {
	rdb  redis.UniversalClient
	k    keys
	node string
	ttl  time.Duration
}

// NewRedisNames returns names stored under prefix. The client stays owned by
// the caller. In a multi-node deployment pass WithNodeID with the node's ID
// (the one given to NewRedisPresence), or a crashed node's names stay taken
// until released; without it claims have no TTL.
func NewRedisNames(rdb redis.UniversalClient, prefix string, opts ...RedisOption) *RedisNames {
	c := newRedisConfig(opts)
	return &RedisNames{rdb: rdb, k: keys(prefix), node: c.nodeID, ttl: c.nodeTTL}
}

//go:embed lua/names_claim.lua
var claimLua string

// claimScript takes KEYS name, [node names set, nodes set, node key] and ARGV
// owner, TTL ms (0 = none), node names entry, node ID. It returns 1 when the
// owner holds the name afterwards and 0 when someone else does.
var claimScript = redis.NewScript(claimLua)

//go:embed lua/names_release.lua
var releaseLua string

// releaseScript takes KEYS name, [node names set] and ARGV owner, node names
// entry: compare-and-delete, so only the owner frees a name.
var releaseScript = redis.NewScript(releaseLua)

// Claim implements chat.Names.
func (n *RedisNames) Claim(ctx context.Context, name, ownerID string) error {
	folded := chat.FoldName(name)
	ks := []string{n.k.name(folded)}
	ttl := int64(0)
	if n.node != "" {
		ks = append(ks, n.k.nodeNames(n.node), n.k.nodes(), n.k.node(n.node))
		ttl = ttlMillis(n.ttl)
	}
	got, err := claimScript.Run(ctx, n.rdb, ks, ownerID, ttl, folded+sep+ownerID, n.node).Int()
	if err != nil {
		return fmt.Errorf("store: redis: claiming name %q: %w", name, err)
	}
	if got == 0 {
		return chat.ErrNameTaken
	}
	return nil
}

// Release implements chat.Names.
func (n *RedisNames) Release(ctx context.Context, name, ownerID string) error {
	folded := chat.FoldName(name)
	ks := []string{n.k.name(folded)}
	if n.node != "" {
		ks = append(ks, n.k.nodeNames(n.node))
	}
	if err := releaseScript.Run(ctx, n.rdb, ks, ownerID, folded+sep+ownerID).Err(); err != nil {
		return fmt.Errorf("store: redis: releasing name %q: %w", name, err)
	}
	return nil
}

var _ chat.Names = (*RedisNames)(nil)
