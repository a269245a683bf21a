//go:build unix

package engineio

import "golang.org/x/sys/unix"

// rawIO reports whether sockets are read and written here through their
// file descriptors (non-blocking writev, reads that wait without a buffer).
const rawIO = true

// iovMax is the most buffers one writev takes (IOV_MAX on Linux).
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
