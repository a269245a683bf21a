//go:build !unix

package engineio

import "syscall"

// rawIO is false here: connections are read and written through net.Conn
// only (a read buffer per session while it waits, writes by the drain
// goroutine).
const rawIO = false

func writev(fd uintptr, bufs [][]byte) (int, error) { return 0, syscall.EAGAIN }

func read(fd uintptr, p []byte) (int, error) { return 0, syscall.EAGAIN }

func shutdownRead(fd uintptr) error { return nil }
