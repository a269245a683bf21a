// Package engineio is the project's Engine.IO server: the transport layer
// under Socket.IO, speaking protocol v4 (socket.io-client 3.x and 4.x) and
// v3 (2.x) over WebSocket and HTTP long-polling (XHR and JSONP), with the
// upgrade from polling to WebSocket.
//
// The package is built around its write path. A packet meant for many
// sessions is encoded once into a Message, an immutable value that holds
// every wire form a session may need (the WebSocket frame ready to write,
// the polling segment); sessions queue references to it. A session's queue
// is bounded in bytes: a client that falls that far behind is closed as a
// slow client and nobody else waits for it. Whoever enqueues into an idle
// WebSocket session writes straight to the socket without blocking; when
// the socket cannot take everything, one short-lived writer drains the
// backlog, all queued frames in one writev, and exits once the queue is
// empty. A polling session hands its whole queue to the pending GET as one
// payload.
//
// Files by concern: server.go (options, routing, the session table, CORS),
// errors.go (the protocol's error codes), session.go (state, the queue and
// closing), heartbeat.go (the one timer per session), polling.go,
// websocket.go, upgrade.go, message.go (the encode-once value), payload.go
// and jsonp.go (the polling codecs), reason.go (typed close reasons).
package engineio
