package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/config"
	"github.com/socketio-go/chatserver/store"
)

// redisKeyPrefix namespaces the app's own keys (names, presence, history);
// the Socket.IO adapter uses its own "socket.io" channels.
const redisKeyPrefix = "chat:"

// redisCheckInterval is how often a node checks that Redis answers; /readyz
// reports 503 while it does not.
const redisCheckInterval = 2 * time.Second

// backends are the chat's storage: embedded on one node, Redis in a cluster.
type backends struct {
	names    chat.Names
	presence chat.Presence
	history  chat.History
	redis    *goredis.Client      // nil on a single node
	cluster  *store.RedisPresence // presence itself in a cluster (its heartbeat and sweeper run), nil on a single node
	node     string               // this node's ID in the cluster; "" on a single node
}

func openBackends(ctx context.Context, cfg config.Config, log *slog.Logger) (*backends, error) {
	if cfg.RedisURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		history, err := store.OpenBoltHistory(filepath.Join(cfg.DataDir, "history.db"))
		if err != nil {
			return nil, fmt.Errorf("open history: %w", err)
		}
		return &backends{names: store.NewMemoryNames(), presence: store.NewMemoryPresence(), history: history}, nil
	}

	opt, err := goredis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	rdb := goredis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", opt.Addr, err)
	}
	node := store.NewNodeID()
	log.Info("cluster mode", "redis", opt.Addr, "node", node, "presence_ttl", store.NodeTTL)
	// Names and presence are bound to the same node, with the same options.
	opts := []store.RedisOption{store.WithNodeID(node), store.WithLogger(log)}
	presence := store.NewRedisPresence(rdb, redisKeyPrefix, opts...)
	if err := presence.Heartbeat(pingCtx); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis heartbeat: %w", err)
	}
	return &backends{
		names:    store.NewRedisNames(rdb, redisKeyPrefix, opts...),
		presence: presence,
		history:  store.NewRedisHistory(rdb, redisKeyPrefix),
		redis:    rdb,
		cluster:  presence,
		node:     node,
	}, nil
}

func (b *backends) close() error {
	err := b.history.Close()
	if b.redis != nil {
		if cerr := b.redis.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
