package admin

import (
	"context"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Sessions keeps the ids of logins, so that a UI that reconnects (after a
// network blip, or to another server) is not asked for the password again.
type Sessions interface {
	Exists(ctx context.Context, id string) (bool, error)
	Save(ctx context.Context, id string) error
}

// maxMemorySessions bounds the logins one server remembers; the oldest go
// first (each is a few bytes; a login flood would need the password).
const maxMemorySessions = 1024

// MemorySessions keeps logins in this process for ttl.
type MemorySessions struct {
	ttl time.Duration
	mu  sync.Mutex
	at  map[string]time.Time // login time
}

// NewMemorySessions returns an empty in-memory session store.
func NewMemorySessions(ttl time.Duration) *MemorySessions {
	return &MemorySessions{ttl: ttl, at: map[string]time.Time{}}
}

func (m *MemorySessions) Exists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.at[id]
	if ok && time.Since(t) > m.ttl {
		delete(m.at, id)
		ok = false
	}
	return ok, nil
}

func (m *MemorySessions) Save(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.at) >= maxMemorySessions {
		var oldest string
		var ot time.Time
		for k, t := range m.at {
			if oldest == "" || t.Before(ot) {
				oldest, ot = k, t
			}
		}
		delete(m.at, oldest)
	}
	m.at[id] = time.Now()
	return nil
}

// RedisSessions shares logins between the servers of a cluster, under the
// keys Node's RedisStore uses ("socket.io-admin#<id>", value "true", with
// an expiry), so Go and Node servers accept each other's sessions.
type RedisSessions struct {
	rdb    goredis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisSessions returns the store; the caller owns the client.
func NewRedisSessions(rdb goredis.UniversalClient, ttl time.Duration) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: "socket.io-admin", ttl: ttl}
}

func (r *RedisSessions) key(id string) string { return r.prefix + "#" + id }

func (r *RedisSessions) Exists(ctx context.Context, id string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.key(id)).Result()
	return n == 1, err
}

func (r *RedisSessions) Save(ctx context.Context, id string) error {
	return r.rdb.Set(ctx, r.key(id), "true", r.ttl).Err()
}
