// Package realtime is the project's seam around the Socket.IO implementation.
//
// It is the only package that imports the Socket.IO library. The rest of the
// code base sees a small API of its own: a Server that mounts on a Gin engine,
// Namespaces with connection middleware, Sockets with events and acks, rooms,
// and broadcasts. Should the library ever limit speed or memory, it can be
// replaced behind this API without touching the application.
//
// That replacement is the project's own protocol layer, beside it:
// internal/engineio (Engine.IO v3 and v4: transports, heartbeat, the
// encode-once write path) and internal/socketio (Socket.IO protocols 4 and
// 5 on it: namespaces, sockets, acknowledgements, rooms, broadcasts,
// connection state recovery). EngineEcho serves the first alone, for the
// Engine.IO compliance suite and client tests.
package realtime
