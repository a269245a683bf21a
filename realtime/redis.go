package realtime

import (
	goredis "github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/realtime/internal/redisadapter"
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// newRedisAdapter is the cluster adapter: Node's redis-adapter protocol, so
// that Go and Node nodes share rooms and @socket.io/redis-emitter reaches
// Go clients (realtime/internal/redisadapter).
func newRedisAdapter(rdb goredis.UniversalClient, key string) func(*socketio.Namespace) socketio.Adapter {
	return redisadapter.New(rdb, redisadapter.Options{Key: key})
}
