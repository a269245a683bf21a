package engineio

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// TestPutHeader checks the frame headers written by hand against the ones
// gobwas/ws writes, at every length boundary.
func TestPutHeader(t *testing.T) {
	for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
		for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
			h := ws.Header{Fin: true, OpCode: op, Length: int64(n)}
			var want bytes.Buffer
			if err := ws.WriteHeader(&want, h); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, ws.HeaderSize(h))
			putHeader(got, op, n)
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("op %v, length %d: header % x, want % x", op, n, got, want.Bytes())
			}
		}
	}
}
