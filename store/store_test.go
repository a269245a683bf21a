package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/store"
	"github.com/socketio-go/chatserver/store/storetest"
)

func TestMemoryNames(t *testing.T) {
	storetest.TestNames(t, func(*testing.T) chat.Names { return store.NewMemoryNames() })
}

func TestMemoryPresence(t *testing.T) {
	storetest.TestPresence(t, func(*testing.T) chat.Presence { return store.NewMemoryPresence() })
}

func TestMemoryHistory(t *testing.T) {
	storetest.TestHistory(t, func(*testing.T) chat.History { return store.NewMemoryHistory() })
}

func TestBoltHistory(t *testing.T) {
	storetest.TestHistory(t, func(t *testing.T) chat.History {
		h, err := store.OpenBoltHistoryNoSync(filepath.Join(t.TempDir(), "history.db"))
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
}

func openBolt(t *testing.T, path string) *store.BoltHistory {
	t.Helper()
	h, err := store.OpenBoltHistoryNoSync(path)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBoltHistorySurvivesReopen(t *testing.T) {
	ctx := context.Background()
	// A nested, not yet existing directory, as for a fresh data directory.
	path := filepath.Join(t.TempDir(), "data", "history.db")

	// Real fsync here: this is the test that data reaches the file.
	h, err := store.OpenBoltHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	var last chat.Message
	for i := range 5 {
		m, err := h.Append(ctx, chat.Message{
			Room: "lobby", From: chat.User{ID: "c1", Name: "alice"},
			Text: fmt.Sprint("before ", i), TS: int64(i), ClientID: "x",
		})
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = openBolt(t, path)
	defer h.Close()
	got, err := h.Recent(ctx, "lobby", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[4] != last {
		t.Fatalf("after reopen Recent = %+v, want 5 ending in %+v", got, last)
	}
	// The sequence must survive too, or new messages would reuse IDs and
	// sort before older ones.
	m, err := h.Append(ctx, chat.Message{Room: "other", Text: "after"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID <= last.ID {
		t.Fatalf("ID after reopen = %d, want > %d", m.ID, last.ID)
	}
}

func TestBoltHistoryRetentionAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	// Split the writes over two opens so the per-room count has to be read
	// back from disk for pruning to stay exact.
	first := chat.HistoryRetention*2/3 + 1
	total := chat.HistoryRetention + 40
	h := openBolt(t, path)
	for i := range total {
		if i == first {
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			h = openBolt(t, path)
		}
		if _, err := h.Append(ctx, chat.Message{Room: "lobby", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	defer h.Close()
	all, err := h.Recent(ctx, "lobby", 2*chat.HistoryRetention)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != chat.HistoryRetention {
		t.Fatalf("kept %d, want %d", len(all), chat.HistoryRetention)
	}
	if want := fmt.Sprint(total - chat.HistoryRetention); all[0].Text != want {
		t.Fatalf("oldest kept = %q, want %q", all[0].Text, want)
	}
}

func TestBoltHistoryLockedFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openBolt(t, path)
	defer h.Close()
	// A second opener (another server on the same data directory) must get
	// an error rather than hang.
	if h2, err := store.OpenBoltHistory(path); err == nil {
		h2.Close()
		t.Fatal("second open of a locked file succeeded")
	}
}

func TestMemoryHistoryRetentionBoundsMemory(t *testing.T) {
	ctx := context.Background()
	h := store.NewMemoryHistory()
	for i := range 5 * chat.HistoryRetention {
		if _, err := h.Append(ctx, chat.Message{Room: "lobby", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := h.Recent(ctx, "lobby", 10*chat.HistoryRetention)
	if len(all) != chat.HistoryRetention || all[0].Text != fmt.Sprint(4*chat.HistoryRetention) {
		t.Fatalf("kept %d starting at %q", len(all), all[0].Text)
	}
}

func BenchmarkMemoryHistoryAppend(b *testing.B) {
	benchmarkAppend(b, store.NewMemoryHistory())
}

func BenchmarkBoltHistoryAppend(b *testing.B) {
	h, err := store.OpenBoltHistory(filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkAppend(b, h)
}

func benchmarkAppend(b *testing.B, h chat.History) {
	defer h.Close()
	ctx := context.Background()
	m := chat.Message{
		Room: "lobby", From: chat.User{ID: "abcdefgh12345678", Name: "alice"},
		Text: "hello there, this is a typical short chat message", TS: 1712345678901, ClientID: "c-123",
	}
	b.ReportAllocs()
	// Past the retention limit every append also prunes, which is the
	// steady state of a busy room.
	for b.Loop() {
		if _, err := h.Append(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBoltHistoryAppendParallel(b *testing.B) {
	h, err := store.OpenBoltHistory(filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	m := chat.Message{Room: "lobby", From: chat.User{ID: "abcdefgh12345678", Name: "alice"}, Text: "hello there", TS: 1}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
