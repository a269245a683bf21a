//go:build !unix

package engineio

import "syscall"

// writev is not available: tryWrite reports EAGAIN and the drain goroutine
// writes with net.Buffers instead.
func writev(fd int, bufs [][]byte) (int, error) { return 0, syscall.EAGAIN }
