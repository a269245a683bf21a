package engineio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovBatch is the most buffers one writev here takes; its iovec array
// lives on the caller's stack. A flush with more frames is written by
// further calls (tryWrite loops).
const iovBatch = 64

// writev writes bufs to the non-blocking fd with one system call.
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
	for {
		var r uintptr
		var errno unix.Errno
		if n == 1 {
			r, _, errno = unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len))
		} else {
			r, _, errno = unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		}
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}

// read reads from the non-blocking fd; EAGAIN means nothing is there yet.
// Like writev, it is a raw system call: it never waits.
func read(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		r, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}
