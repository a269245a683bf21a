package engineio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovBatch is the most buffers one writev here takes; its iovec array
// lives on the caller's stack. A flush with more frames is written by
// further calls (tryWrite loops).
const iovBatch = 64

// writev writes bufs to the non-blocking socket fd with one system call:
// send (sendto) for one buffer, sendmsg for several. On a socket they do
// what write and writev do, without the file layer's bookkeeping around
// them (about 5% of the call on loopback TCP); MSG_NOSIGNAL turns a write
// to a reset connection into EPIPE without the signal.
//
// It is a raw system call: the socket is non-blocking, so the call never
// waits, and skipping the scheduler's entersyscall/exitsyscall keeps the
// flusher on its P. With the server on one core, a plain syscall there
// lets sysmon hand the P away in the middle of a fan-out pass, and getting
// it back (exitsyscall) is where the pass stalled.
func writev(fd uintptr, bufs [][]byte) (int, error) {
	if len(bufs) > iovBatch {
		bufs = bufs[:iovBatch]
	}
	var iov [iovBatch]unix.Iovec
	n := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		iov[n].Base = &b[0]
		iov[n].SetLen(len(b))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	notSocket := false
	var msg unix.Msghdr
	msg.Iov = &iov[0]
	msg.SetIovlen(n)
	for {
		var r uintptr
		var errno unix.Errno
		switch {
		case notSocket:
			r, _, errno = unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		case n == 1:
			r, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len), unix.MSG_NOSIGNAL, 0, 0)
		default:
			r, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
		}
		if errno == unix.EINTR {
			continue
		}
		if errno == unix.ENOTSOCK && !notSocket {
			notSocket = true // a descriptor that is not a socket: plain writev
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}

// read reads from the non-blocking socket fd (recvfrom, for the reason
// writev uses send); EAGAIN means nothing is there yet. Like writev, it is
// a raw system call: it never waits.
func read(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	nr := uintptr(unix.SYS_RECVFROM)
	for {
		r, _, errno := unix.RawSyscall6(nr, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno == unix.ENOTSOCK && nr != unix.SYS_READ {
			nr = unix.SYS_READ // not a socket: plain read
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}

// shutdownRead shuts the socket fd down for reading: a reader waiting on
// it wakes to an end of file, and frames already queued still go out.
func shutdownRead(fd uintptr) error { return unix.Shutdown(int(fd), unix.SHUT_RD) }
