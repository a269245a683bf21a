// Package redisadapter is a cluster adapter for the socketio package: rooms
// and broadcasts shared by every Socket.IO server on one Redis, Go or Node,
// speaking the protocol of Node's @socket.io/redis-adapter 8.x and
// accepting what @socket.io/redis-emitter 5.x publishes.
//
//	srv := socketio.NewServer(socketio.Options{
//		NewAdapter: redisadapter.New(rdb, redisadapter.Options{}),
//	})
//
// Each namespace's adapter embeds the socketio.MemoryAdapter (rooms, local
// delivery, local acknowledgements) and, on a subscribed connection of its
// own, uses Node's channels ("socket.io" being Options.Key):
//
//	socket.io#<nsp>#           broadcasts to no room or several (msgpack)
//	socket.io#<nsp>#<room>#    broadcasts to exactly one room (msgpack)
//	socket.io-request#<nsp>#   requests (JSON; broadcasts with acks msgpack)
//	socket.io-response#<nsp>#  answers (JSON; relayed acks msgpack)
//	socket.io-response#<nsp>#<uid>#  answers for one server, when asked
//
// A broadcast is [uid, {type: 2, data, nsp}, {rooms, except, flags}]; the
// servers count themselves with PUBSUB NUMSUB on the request channel.
//
// It replaces realtime/redisadapter.go, which did the same against
// github.com/zishang520/socket.io's adapter interface and was itself
// written because that library's Redis adapter
// (github.com/zishang520/socket.io/adapters/redis/v3 v3.0.0) breaks a
// mixed cluster, and even a Go-only one. That file lists seven defects of
// the library's adapter; this package is right on each, and the test that
// shows it is named after the defect (nodeprotocol_test.go, format_test.go):
//
//  1. Broadcasts on the namespace channel itself ("socket.io#/chat#": no
//     room or several, the emitter's emit to all) were dropped: the
//     library required the channel to be longer than the prefix, where
//     Node only checks the prefix. Here onBroadcast takes the prefix and
//     an empty room (checkBroadcastAll).
//  2. Packets were encoded with msgpack's own rules, ignoring json tags: a
//     Go struct reached the other servers' clients as {"ID":1} where this
//     server's got {"id":1}. Here toWire renders every value as
//     encoding/json does for the local clients, keeping []byte binary
//     (checkJSONNames, TestToWire).
//  3. A server-side event was answered with the list of acknowledgement
//     arguments (data: [x]) where Node sends the one value (data: x), and
//     Node's answer could not be decoded. Here the answer is the first
//     argument and an answer is any JSON value (checkServerEventAnswer,
//     checkServerEventFromGo).
//  4. Empty lists ("rooms", "sockets") were left out of answers; Node's
//     adapter then never completes the request, so Node's fetchSockets and
//     allRooms timed out whenever a Go server had nothing to report. Here
//     the lists are always there, and an answer without one still counts
//     (checkFetchAnswers).
//  5. The client count was spelt "clientcount" (Node reads "clientCount")
//     and a relayed acknowledgement carried all the client's arguments
//     where Node carries the first: Node's emitWithAck across servers never
//     completed. Here both are Node's (checkBroadcastAck,
//     checkBroadcastAckFromGo).
//  6. flags.timeout travelled in nanoseconds; Node's is in milliseconds.
//     Here it is milliseconds (checkTimeoutUnits, TestOptsWire).
//  7. A JavaScript Date was decoded into a time.Time, which this server's
//     clients then got as Go renders it ("2024-05-06T07:08:09.5Z") rather
//     than as Node's get it ("2024-05-06T07:08:09.500Z"). Here it becomes
//     its toISOString text (checkValues, TestMsgpackRoundTrip).
//
// Where it differs from Node's adapter, on purpose: AddSockets, DelSockets
// and DisconnectSockets act on this server's sockets at once (Node's waits
// for its own request to come back from Redis), FetchSockets, AllRooms and
// ServerSideEmitWithAck return what they got with the error on timeout
// (Node's rejects), and the latest-value flag travels as flags.latest
// (Node ignores it).
package redisadapter
