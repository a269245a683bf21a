//go:build unix

package engineio

import "golang.org/x/sys/unix"

// iovMax is the most buffers one writev takes (IOV_MAX on Linux).
const iovMax = 1024

// writev writes bufs to the non-blocking fd with one system call.
func writev(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > iovMax {
		bufs = bufs[:iovMax]
	}
	for {
		var n int
		var err error
		if len(bufs) == 1 {
			n, err = unix.Write(fd, bufs[0])
		} else {
			n, err = unix.Writev(fd, bufs)
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
