// Package realtime is the project's seam around its Socket.IO
// implementation.
//
// The rest of the code base sees a small API of its own: a Server that
// mounts on a Gin engine, Namespaces with connection middleware, Sockets
// with events and acks, rooms, and broadcasts. Behind it is the project's
// own protocol layer: internal/engineio (Engine.IO v3 and v4: transports,
// heartbeat, the encode-once write path) and internal/socketio (Socket.IO
// protocols 4 and 5 on it: namespaces, sockets, acknowledgements, rooms,
// broadcasts, connection state recovery). EngineEcho serves the first
// alone, for the Engine.IO compliance suite and client tests.
//
// Event handlers are best registered once, on the namespace
// (Namespace.On, OnUnknown, OnDisconnect), with per-socket state in
// Socket.SetData: they cost a connection nothing. Handlers of a socket's
// own (Socket.On) are there for what only that socket needs; each costs
// the connection a closure or two for as long as it lives.
package realtime
