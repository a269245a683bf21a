package engineio

import (
	"testing"
	"unsafe"
)

// What a send and a write touch stays in the session's first cache line:
// a broadcast goes through a thousand sessions twice (queue, then write),
// and each line more is a cache miss per receiver.
func TestSessionHotFieldsShareACacheLine(t *testing.T) {
	var s Session
	for name, end := range map[string]uintptr{
		"mu":      unsafe.Offsetof(s.mu) + unsafe.Sizeof(s.mu),
		"state":   unsafe.Offsetof(s.state) + unsafe.Sizeof(s.state),
		"writing": unsafe.Offsetof(s.writing) + unsafe.Sizeof(s.writing),
		"blocked": unsafe.Offsetof(s.blocked) + unsafe.Sizeof(s.blocked),
		"queued":  unsafe.Offsetof(s.queued) + unsafe.Sizeof(s.queued),
		"queue":   unsafe.Offsetof(s.queue) + unsafe.Sizeof(s.queue),
		"ws":      unsafe.Offsetof(s.ws) + unsafe.Sizeof(s.ws),
		"srv":     unsafe.Offsetof(s.srv) + unsafe.Sizeof(s.srv),
	} {
		if end > 64 {
			t.Errorf("Session.%s ends at byte %d, outside the first 64", name, end)
		}
	}
	// Objects of the 320-byte size class (five lines) start on a line,
	// as those of 288 bytes, the class below, do not: the first line is
	// a whole line only while the session stays in that class.
	if size := unsafe.Sizeof(s); size <= 288 || size > 320 {
		t.Errorf("Session is %d bytes, out of the 320-byte size class, whose objects are 64-byte aligned", size)
	}
}
