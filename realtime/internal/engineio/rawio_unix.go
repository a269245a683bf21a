//go:build unix && !linux

package engineio

import "golang.org/x/sys/unix"

// iovMax is the most buffers one writev takes.
const iovMax = 1024

// writev writes bufs to the non-blocking fd with one system call.
func writev(fd uintptr, bufs [][]byte) (int, error) {
	if len(bufs) > iovMax {
		bufs = bufs[:iovMax]
	}
	for {
		var n int
		var err error
		if len(bufs) == 1 {
			n, err = unix.Write(int(fd), bufs[0])
		} else {
			n, err = unix.Writev(int(fd), bufs)
		}
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// read reads from the non-blocking fd; EAGAIN means nothing is there yet.
func read(fd uintptr, p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// shutdownRead shuts the socket fd down for reading: a reader waiting on
// it wakes to an end of file, and frames already queued still go out.
func shutdownRead(fd uintptr) error { return unix.Shutdown(int(fd), unix.SHUT_RD) }
