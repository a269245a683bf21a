package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

func ids(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func recent(t *testing.T, h chat.History, room string, limit int) []int64 {
	t.Helper()
	ms, err := h.Recent(context.Background(), room, limit)
	if err != nil {
		t.Fatal(err)
	}
	return ids(ms)
}

func TestBoltStagedMessagesAreReadBeforeTheyAreWritten(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	h := openBolt(t, path)
	first, err := h.Append(ctx, chat.Message{Room: "lobby", Text: "written"})
	if err != nil {
		t.Fatal(err)
	}
	a, writeA, err := h.Stage(ctx, chat.Message{Room: "lobby", Text: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, writeB, err := h.Stage(ctx, chat.Message{Room: "lobby", Text: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !(first.ID < a.ID && a.ID < b.ID) {
		t.Fatalf("IDs %d, %d, %d do not increase", first.ID, a.ID, b.ID)
	}
	// Numbered, not yet written: reads include them, in ID order, within
	// the limit, and before-ID pages respect the bound.
	if got, want := recent(t, h, "lobby", 10), []int64{first.ID, a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("Recent = %v, want %v", got, want)
	}
	if got, want := recent(t, h, "lobby", 2), []int64{a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("Recent(2) = %v, want %v", got, want)
	}
	before, err := h.Before(ctx, "lobby", b.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(before), []int64{first.ID, a.ID}; !slices.Equal(got, want) {
		t.Fatalf("Before(%d) = %v, want %v", b.ID, got, want)
	}
	if got := recent(t, h, "other", 10); len(got) != 0 {
		t.Fatalf("another room sees %v", got)
	}

	// Written out of ID order: each once, and the file numbers on from the
	// highest after a reopen.
	if err := writeB(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := recent(t, h, "lobby", 10), []int64{first.ID, a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("Recent with b written = %v, want %v", got, want)
	}
	if err := writeA(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = openBolt(t, path)
	defer h.Close()
	if got, want := recent(t, h, "lobby", 10), []int64{first.ID, a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("Recent after reopen = %v, want %v", got, want)
	}
	next, err := h.Append(ctx, chat.Message{Room: "lobby", Text: "next"})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID <= b.ID {
		t.Fatalf("ID after reopen %d, want > %d", next.ID, b.ID)
	}
}

func TestBoltConcurrentStagesGetDistinctIncreasingIDs(t *testing.T) {
	ctx := context.Background()
	h := openBolt(t, filepath.Join(t.TempDir(), "history.db"))
	defer h.Close()
	const n = 200
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := []string{"a", "b"}[i%2]
			m, write, err := h.Stage(ctx, chat.Message{Room: room, Text: "x"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, m.ID)
			mu.Unlock()
			if err := write(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if len(slices.Compact(slices.Clone(got))) != n {
		t.Fatalf("%d distinct IDs for %d messages", len(slices.Compact(got)), n)
	}
	all := append(recent(t, h, "a", 1000), recent(t, h, "b", 1000)...)
	slices.Sort(all)
	if !slices.Equal(all, got) {
		t.Fatalf("stored IDs differ from the staged ones")
	}
}

// A staged message is delivered before its write; when the process dies
// before the write, its ID must not be handed out again, or clients that
// saw the lost message would drop the new one as a duplicate.
func TestBoltIDsOfMessagesLostInACrashAreNotReused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := openBolt(t, filepath.Join(dir, "history.db"))
	written, err := h.Append(ctx, chat.Message{Room: "lobby", Text: "written"})
	if err != nil {
		t.Fatal(err)
	}
	lost, writeLost, err := h.Stage(ctx, chat.Message{Room: "lobby", Text: "delivered, never written"})
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.db")
	if err := h.Crash(crashed); err != nil {
		t.Fatal(err)
	}
	if err := writeLost(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = openBolt(t, crashed)
	defer h.Close()
	if got, want := recent(t, h, "lobby", 10), []int64{written.ID}; !slices.Equal(got, want) {
		t.Fatalf("Recent after the crash = %v, want %v", got, want)
	}
	next, err := h.Append(ctx, chat.Message{Room: "lobby", Text: "after the crash"})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID <= lost.ID {
		t.Fatalf("ID after the crash %d, want > %d (the lost message's)", next.ID, lost.ID)
	}
}

// A clean Close gives back the reserved IDs: numbering goes on from the
// last one handed out.
func TestBoltCleanReopenNumbersOnWithoutGap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	for want := int64(1); want <= 3; want++ {
		h := openBolt(t, path)
		m, err := h.Append(ctx, chat.Message{Room: "lobby", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != want {
			t.Fatalf("ID after %d clean reopens = %d, want %d", want-1, m.ID, want)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
