package chat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/store"
)

// clock is a manual clock; tests advance it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	svc      *chat.Service
	clock    *clock
	names    *store.MemoryNames
	presence *store.MemoryPresence
	history  *store.MemoryHistory
	logs     *bytes.Buffer
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{
		clock:    newClock(),
		names:    store.NewMemoryNames(),
		presence: store.NewMemoryPresence(),
		history:  store.NewMemoryHistory(),
		logs:     new(bytes.Buffer),
	}
	f.svc = chat.NewService(f.names, f.presence, f.history)
	chat.SetClock(f.svc, f.clock.Now)
	chat.SetLogger(f.svc, chatLogger(f))
	return f
}

func chatLogger(f *fixture) *slog.Logger { return slog.New(slog.NewTextHandler(f.logs, nil)) }

var ctx = context.Background()

// user returns a registered session.
func (f *fixture) user(t testing.TB, id, name string) *chat.Session {
	t.Helper()
	s := f.svc.NewSession(id)
	if _, err := s.Register(ctx, name); err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
	return s
}

// member returns a registered session that has joined rooms.
func (f *fixture) member(t testing.TB, id, name string, rooms ...string) *chat.Session {
	t.Helper()
	s := f.user(t, id, name)
	for _, r := range rooms {
		if _, err := s.Join(ctx, r, nil); err != nil {
			t.Fatalf("Join(%q): %v", r, err)
		}
	}
	return s
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
