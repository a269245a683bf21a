package engineio

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// The raw calls move the same bytes over a socket (send, sendmsg, recvfrom)
// and over a descriptor that is not one (the write, writev and read
// fallbacks).
func TestRawIOOnSocketsAndPipes(t *testing.T) {
	pairs := map[string]func() ([2]int, error){
		"socket": func() ([2]int, error) { return unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0) },
		"pipe": func() ([2]int, error) {
			var p [2]int
			err := unix.Pipe(p[:])
			return [2]int{p[1], p[0]}, err // {write end, read end}
		},
	}
	for name, open := range pairs {
		t.Run(name, func(t *testing.T) {
			fds, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fds[0])
			defer unix.Close(fds[1])
			w, r := uintptr(fds[0]), uintptr(fds[1])
			for _, bufs := range [][][]byte{
				{[]byte("one buffer")},
				{[]byte("two "), nil, []byte("buffers")},
			} {
				want := bytes.Join(bufs, nil)
				n, err := writev(w, bufs)
				if err != nil || n != len(want) {
					t.Fatalf("writev(%q) = %d, %v; want %d, nil", bufs, n, err, len(want))
				}
				got := make([]byte, 64)
				n, err = read(r, got)
				if err != nil || string(got[:n]) != string(want) {
					t.Fatalf("read = %q, %v; want %q", got[:n], err, want)
				}
			}
			if err := unix.SetNonblock(fds[1], true); err != nil {
				t.Fatal(err)
			}
			if _, err := read(r, make([]byte, 8)); err != unix.EAGAIN {
				t.Fatalf("read of an empty non-blocking descriptor: %v, want EAGAIN", err)
			}
		})
	}
}
