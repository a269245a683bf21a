// Package realtime is the project's seam around the Socket.IO implementation.
//
// It is the only package that imports the Socket.IO library. The rest of the
// code base sees a small API of its own: a Server that mounts on a Gin engine,
// Namespaces with connection middleware, Sockets with events and acks, rooms,
// and broadcasts. Should the library ever limit speed or memory, it can be
// replaced behind this API without touching the application.
package realtime
