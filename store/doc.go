// Package store implements the chat backends (chat.Names, chat.Presence and
// chat.History) in three kinds:
//
//   - In memory (MemoryNames, MemoryPresence, MemoryHistory): state for a
//     single process. A single node uses the names and presence; the history
//     is for tests, since it is lost with the process.
//   - On disk (BoltHistory): history in a bbolt file, so it survives
//     restarts of a single node. Only one process can open the file.
//   - In Redis (RedisNames, RedisPresence, RedisHistory): state shared by
//     every node of a cluster using the same Redis and key prefix, so names
//     are unique across nodes, every node sees every room's members, and
//     history and message IDs are global. Each node runs RedisPresence.Run to
//     keep itself alive and to sweep the members and names of nodes that
//     died. The shared code is in redis.go (options, node IDs, key layout),
//     the backends in redis_names.go, redis_presence.go and redis_history.go,
//     and the Lua scripts that make their multi-key updates atomic in lua/.
//
// Every backend passes the shared suites in package storetest, run by this
// package's tests, so that the chat rules behave the same whichever backend
// is configured; the tests of each backend add what only it has (bbolt
// reopening, the Redis sweeping of dead nodes, and the like). The Redis
// tests start their own redis-server and are skipped without one, except
// under CI=true.
package store
