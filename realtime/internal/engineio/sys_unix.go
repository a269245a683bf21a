//go:build unix

package engineio

// rawIO reports whether sockets are read and written here through their
// file descriptors (non-blocking writev, reads that wait without a buffer).
const rawIO = true
