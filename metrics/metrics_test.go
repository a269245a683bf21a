package metrics

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/store"
)

func TestHistoryIsTimed(t *testing.T) {
	bolt, err := store.OpenBoltHistory(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	for name, inner := range map[string]chat.History{"memory": store.NewMemoryHistory(), "bolt (staged)": bolt} {
		m := New()
		h := m.History(inner)
		if _, staged := inner.(chat.StagedHistory); staged {
			if _, ok := h.(chat.StagedHistory); !ok {
				t.Fatalf("%s: the wrapper hides Stage", name)
			}
		}
		ctx := context.Background()
		msg := chat.Message{Room: "r", From: chat.User{ID: "u", Name: "u"}, Text: "x"}
		if sh, ok := h.(chat.StagedHistory); ok {
			_, write, err := sh.Stage(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			if n := testutil.CollectAndCount(m.history); n != 0 {
				t.Fatalf("%s: %d series before the write", name, n)
			}
			if err := write(ctx); err != nil {
				t.Fatal(err)
			}
		} else if _, err := h.Append(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Recent(ctx, "r", 10); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Before(ctx, "r", 100, 10); err != nil {
			t.Fatal(err)
		}
		if n := testutil.CollectAndCount(m.history); n != 3 {
			t.Errorf("%s: %d series, want append, recent and before", name, n)
		}
	}
}
