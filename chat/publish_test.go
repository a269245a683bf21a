package chat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/store"
)

// slowDisk is a StagedHistory whose writes wait for the test: numbering is
// instant, storing is not.
type slowDisk struct {
	*store.MemoryHistory
	writing chan struct{} // a write has started
	release chan error    // what the write returns
}

func (d *slowDisk) Stage(ctx context.Context, m chat.Message) (chat.Message, func(context.Context) error, error) {
	stored, err := d.MemoryHistory.Append(ctx, m)
	return stored, func(context.Context) error {
		d.writing <- struct{}{}
		return <-d.release
	}, err
}

func TestPublishDeliversBeforeTheWriteAndAcksAfter(t *testing.T) {
	disk := &slowDisk{MemoryHistory: store.NewMemoryHistory(), writing: make(chan struct{}), release: make(chan error)}
	svc := chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), disk)
	a := svc.NewSession("a")
	if _, err := a.Register(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Join(ctx, "lobby", nil); err != nil {
		t.Fatal(err)
	}

	delivered := make(chan chat.Message, 1)
	type result struct {
		m   chat.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := a.Publish(ctx, "lobby", "hi", "c1", func(m chat.Message) { delivered <- m })
		done <- result{m, err}
	}()
	<-disk.writing // the write is under way...
	d := <-delivered
	if d.ID == 0 || d.Text != "hi" {
		t.Fatalf("delivered %+v before the write, want the numbered message", d)
	}
	select {
	case r := <-done:
		t.Fatalf("Publish returned %+v before the write finished", r)
	default:
	}
	disk.release <- nil // ...and only its end answers the sender
	if r := <-done; r.err != nil || r.m != d {
		t.Fatalf("Publish = %+v, %v; want %+v", r.m, r.err, d)
	}

	// A failed write reaches the sender as internal, after delivery.
	go func() {
		m, err := a.Publish(ctx, "lobby", "lost", "c2", func(m chat.Message) { delivered <- m })
		done <- result{m, err}
	}()
	<-disk.writing
	<-delivered
	disk.release <- errors.New("disk full")
	if r := <-done; !errors.Is(r.err, chat.ErrInternal) {
		t.Fatalf("failed write: %v, want internal", r.err)
	}
}

func TestPublishWithAPlainHistoryDeliversOnceStored(t *testing.T) {
	f := newFixture(t)
	a := f.member(t, "a", "alice", "lobby")
	var got []chat.Message
	m, err := a.Publish(ctx, "lobby", "hi", "c1", func(m chat.Message) {
		if r, _ := f.history.Recent(ctx, "lobby", 10); len(r) != 1 {
			t.Errorf("delivered before it was stored (history %v)", r)
		}
		got = append(got, m)
	})
	mustOK(t, err)
	if len(got) != 1 || got[0] != m {
		t.Fatalf("delivered %+v, want once %+v", got, m)
	}
	// A resend is answered, not delivered again.
	if _, err := a.Publish(ctx, "lobby", "hi", "c1", func(chat.Message) { t.Error("resend delivered again") }); err != nil {
		t.Fatal(err)
	}
}
