package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/internal/redistest"
	"github.com/socketio-go/chatserver/store"
	"github.com/socketio-go/chatserver/store/storetest"
)

// The Redis tests run against a private redis-server (internal/redistest)
// started by TestMain on a free port, never the system one on 6379. Without
// the binary they skip, unless CI=true, where a missing Redis is a failure.

var (
	sharedRedis   *redistest.Server
	redisErr      error // why there is no sharedRedis
	prefixCounter atomic.Int64
)

func TestMain(m *testing.M) {
	sharedRedis, redisErr = redistest.Launch()
	code := m.Run()
	if sharedRedis != nil {
		if err := sharedRedis.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping redis-server:", err)
		}
	}
	os.Exit(code)
}

// needRedis skips the test when there is no redis-server, or fails it on CI.
func needRedis(t *testing.T) *redistest.Server {
	t.Helper()
	if sharedRedis == nil {
		redistest.SkipOrFail(t, redisErr)
	}
	return sharedRedis
}

// newClient returns a client for the shared server, closed with the test.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	return clientFor(t, needRedis(t))
}

func clientFor(t *testing.T, s *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newPrefix returns a key prefix no other test (or suite subtest) uses.
func newPrefix(t *testing.T) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), prefixCounter.Add(1))
}

func TestRedisNames(t *testing.T) {
	rdb := newClient(t)
	storetest.TestNames(t, func(t *testing.T) chat.Names {
		return store.NewRedisNames(rdb, newPrefix(t))
	})
}

func TestRedisNamesBoundToNode(t *testing.T) {
	rdb := newClient(t)
	storetest.TestNames(t, func(t *testing.T) chat.Names {
		return store.NewRedisNames(rdb, newPrefix(t), store.WithNodeID("n1"))
	})
}

func TestRedisPresence(t *testing.T) {
	rdb := newClient(t)
	storetest.TestPresence(t, func(t *testing.T) chat.Presence {
		return store.NewRedisPresence(rdb, newPrefix(t), store.WithNodeID("n1"))
	})
}

// Presence without a node would own its members under no node at all.
func TestRedisPresenceNeedsNodeID(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewRedisPresence without WithNodeID did not panic")
		}
	}()
	store.NewRedisPresence(nil, "p:")
}

func TestRedisHistory(t *testing.T) {
	rdb := newClient(t)
	storetest.TestHistory(t, func(t *testing.T) chat.History {
		return store.NewRedisHistory(rdb, newPrefix(t))
	})
}

func TestRedisHistorySharedAcrossNodes(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	h1 := store.NewRedisHistory(rdb, prefix)
	// A second node with its own connection.
	h2 := store.NewRedisHistory(clientFor(t, sharedRedis), prefix)
	a, err := h1.Append(ctx, chat.Message{Room: "lobby", Text: "from 1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h2.Append(ctx, chat.Message{Room: "lobby", Text: "from 2"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID <= a.ID {
		t.Fatalf("second node's ID %d not after first's %d", b.ID, a.ID)
	}
	got, err := h1.Recent(ctx, "lobby", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("Recent = %+v, want [%+v %+v]", got, a, b)
	}
}

// An append whose reply is lost with the connection is retried (by the
// client library, or by the user with the same clientId): the message is
// stored once and the retry answered with the stored copy.
func TestRedisHistoryStoresAClientIDOnce(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	h := store.NewRedisHistory(rdb, newPrefix(t))
	ann := chat.User{ID: "sock-a", Name: "ann"}
	first, err := h.Append(ctx, chat.Message{Room: "lobby", From: ann, Text: "once", TS: 1, ClientID: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Append(ctx, chat.Message{Room: "lobby", From: ann, Text: "once", TS: 2, ClientID: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("sent again = %+v, want the stored %+v", again, first)
	}
	// Another sender's clientId, another room, or no clientId: new messages.
	var more []chat.Message
	for _, m := range []chat.Message{
		{Room: "lobby", From: chat.User{ID: "sock-b", Name: "ben"}, Text: "once", ClientID: "c-1"},
		{Room: "other", From: ann, Text: "once", ClientID: "c-1"},
		{Room: "lobby", From: ann, Text: "no id"},
		{Room: "lobby", From: ann, Text: "no id"},
	} {
		got, err := h.Append(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID <= first.ID {
			t.Fatalf("%+v got ID %d, want a new one above %d", m, got.ID, first.ID)
		}
		more = append(more, got)
	}
	got, err := h.Recent(ctx, "lobby", 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []chat.Message{first, more[0], more[2], more[3]}; !slices.Equal(got, want) {
		t.Fatalf("Recent = %+v, want %+v", got, want)
	}
}

func TestRedisPresenceSharedAcrossNodes(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	p1 := store.NewRedisPresence(rdb, prefix, store.WithNodeID("n1"))
	p2 := store.NewRedisPresence(clientFor(t, sharedRedis), prefix, store.WithNodeID("n2"))
	alice := chat.User{ID: "c1", Name: "alice"}
	bob := chat.User{ID: "c2", Name: "bob"}
	must(t, p1.Join(ctx, "lobby", alice))
	must(t, p2.Join(ctx, "lobby", bob))
	must(t, p2.Join(ctx, "other", bob))
	for _, p := range []*store.RedisPresence{p1, p2} {
		storetest.WantMembers(t, p, "lobby", alice, bob)
		storetest.WantRooms(t, p, chat.RoomInfo{Name: "lobby", Members: 2}, chat.RoomInfo{Name: "other", Members: 1})
	}
	// The call and the player too, whichever node changed them.
	must(t, p1.SetInCall(ctx, "lobby", alice.ID, true, 2))
	must(t, p2.SetInCall(ctx, "lobby", bob.ID, true, 2))
	pl, err := p2.UpdatePlayer(ctx, "lobby", func(*chat.Player) (chat.Player, error) {
		return chat.Player{Room: "lobby", URL: "https://example.com/v.mp4", Playing: true, UpdatedAt: 5, By: bob}, nil
	})
	must(t, err)
	for _, p := range []*store.RedisPresence{p1, p2} {
		storetest.WantInCall(t, p, "lobby", alice.ID, bob.ID)
		storetest.WantPlayer(t, p, "lobby", &pl)
		if ok, err := p.HasMember(ctx, "lobby", alice.ID); err != nil || !ok {
			t.Fatalf("HasMember across nodes = %v, %v", ok, err)
		}
	}
	// A leave through the other node is seen everywhere too.
	must(t, p2.Leave(ctx, "lobby", alice.ID))
	storetest.WantMembers(t, p1, "lobby", bob)
	storetest.WantInCall(t, p1, "lobby", bob.ID)

	n1 := store.NewRedisNames(rdb, prefix, store.WithNodeID("n1"))
	n2 := store.NewRedisNames(rdb, prefix, store.WithNodeID("n2"))
	must(t, n1.Claim(ctx, "Alice", "c1"))
	if err := n2.Claim(ctx, "alice", "c9"); !errors.Is(err, chat.ErrNameTaken) {
		t.Fatalf("claim on the other node = %v, want name_taken", err)
	}
}

// goneRecorder collects onGone callbacks.
type goneRecorder struct {
	mu   sync.Mutex
	got  []string
	more chan struct{}
}

func newGoneRecorder() *goneRecorder { return &goneRecorder{more: make(chan struct{}, 1)} }

func (r *goneRecorder) onGone(room string, u chat.User) {
	r.mu.Lock()
	r.got = append(r.got, room+"/"+u.ID+"/"+u.Name)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *goneRecorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.got)
	slices.Sort(out)
	return out
}

// await waits until n callbacks arrived or the timeout passes.
func (r *goneRecorder) await(t *testing.T, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := r.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("after %v got %d onGone callbacks, want %d: %v", timeout, len(r.snapshot()), n, r.snapshot())
		}
	}
}

// runNode runs p in the background; the returned func stops it and waits.
func runNode(t *testing.T, p *store.RedisPresence, onGone func(string, chat.User)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, onGone)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestRedisDeadNodeIsSwept(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	const ttl = time.Second
	opts := []store.RedisOption{store.WithNodeTTL(ttl), store.WithSweepInterval(100 * time.Millisecond)}

	dying := store.NewRedisPresence(rdb, prefix, append(opts, store.WithNodeID("dying"))...)
	dyingNames := store.NewRedisNames(rdb, prefix, append(opts, store.WithNodeID("dying"))...)
	survivor := store.NewRedisPresence(clientFor(t, sharedRedis), prefix, append(opts, store.WithNodeID("survivor"))...)
	survivorNames := store.NewRedisNames(rdb, prefix, append(opts, store.WithNodeID("survivor"))...)

	var dyingGone atomic.Int32
	stopDying := runNode(t, dying, func(string, chat.User) { dyingGone.Add(1) })
	rec := newGoneRecorder()
	runNode(t, survivor, rec.onGone)

	alice := chat.User{ID: "c1", Name: "alice"}
	bob := chat.User{ID: "c2", Name: "bob"}
	carol := chat.User{ID: "c3", Name: "carol"}
	must(t, dyingNames.Claim(ctx, "alice", alice.ID))
	must(t, dyingNames.Claim(ctx, "Bob", bob.ID))
	must(t, survivorNames.Claim(ctx, "carol", carol.ID))
	must(t, dying.Join(ctx, "lobby", alice))
	must(t, dying.Join(ctx, "lobby", bob))
	must(t, dying.Join(ctx, "games", alice))
	must(t, survivor.Join(ctx, "lobby", carol))
	storetest.WantMembers(t, survivor, "lobby", alice, bob, carol)

	// While the heartbeat runs, nothing is swept even well past the TTL.
	time.Sleep(2 * ttl)
	storetest.WantMembers(t, survivor, "lobby", alice, bob, carol)
	if err := survivorNames.Claim(ctx, "ALICE", "c9"); !errors.Is(err, chat.ErrNameTaken) {
		t.Fatalf("live node's name claimed by another: %v", err)
	}
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("onGone called for live node's users: %v", got)
	}

	start := time.Now()
	stopDying()
	got := rec.await(t, 3, 10*ttl)
	t.Logf("dead node swept %v after its heartbeat stopped", time.Since(start).Round(time.Millisecond))
	want := []string{"games/c1/alice", "lobby/c1/alice", "lobby/c2/bob"}
	if !slices.Equal(got, want) {
		t.Fatalf("onGone calls = %v, want %v", got, want)
	}
	storetest.WantMembers(t, survivor, "lobby", carol)
	storetest.WantMembers(t, survivor, "games")
	storetest.WantRooms(t, survivor, chat.RoomInfo{Name: "lobby", Members: 1})
	if n := dyingGone.Load(); n != 0 {
		t.Fatalf("the dead node reported %d of its own users gone", n)
	}
	// Its names are free, the survivor's are not.
	must(t, survivorNames.Claim(ctx, "Alice", "c7"))
	must(t, survivorNames.Claim(ctx, "bob", "c8"))
	if err := dyingNames.Claim(ctx, "carol", "c9"); !errors.Is(err, chat.ErrNameTaken) {
		t.Fatalf("survivor's name claimed by another: %v", err)
	}
	// The node is forgotten, and a later sweep reports nothing twice.
	if ok, err := rdb.SIsMember(ctx, prefix+"nodes", "dying").Result(); err != nil || ok {
		t.Fatalf("dead node still listed (%v, %v)", ok, err)
	}
	must(t, survivor.Sweep(ctx, rec.onGone))
	if got := rec.snapshot(); len(got) != 3 {
		t.Fatalf("onGone calls after another sweep = %v", got)
	}
}

// A dead node's members leave their rooms' calls when swept, and a room
// they leave empty loses its call and player keys.
func TestRedisSweepTakesCallsAndPlayers(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	const ttl = 200 * time.Millisecond
	dying := store.NewRedisPresence(rdb, prefix, store.WithNodeID("dying"), store.WithNodeTTL(ttl))
	survivor := store.NewRedisPresence(rdb, prefix, store.WithNodeID("survivor"), store.WithNodeTTL(time.Minute))
	alice := chat.User{ID: "c1", Name: "alice"}
	carol := chat.User{ID: "c3", Name: "carol"}
	must(t, dying.Join(ctx, "lobby", alice))
	must(t, dying.Join(ctx, "games", alice))
	must(t, survivor.Join(ctx, "lobby", carol))
	for _, room := range []string{"lobby", "games"} {
		must(t, dying.SetInCall(ctx, room, alice.ID, true, 6))
		_, err := dying.UpdatePlayer(ctx, room, func(*chat.Player) (chat.Player, error) {
			return chat.Player{Room: room, URL: "https://example.com/" + room, By: alice}, nil
		})
		must(t, err)
	}
	must(t, survivor.SetInCall(ctx, "lobby", carol.ID, true, 6))

	// The dying node never heartbeats: its key expires after ttl.
	deadline := time.Now().Add(20 * ttl)
	for {
		n, err := rdb.Exists(ctx, prefix+"node:dying").Result()
		must(t, err)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dying node's key did not expire")
		}
		time.Sleep(ttl / 4)
	}
	rec := newGoneRecorder()
	must(t, survivor.Sweep(ctx, rec.onGone))
	if got := rec.snapshot(); !slices.Equal(got, []string{"games/c1/alice", "lobby/c1/alice"}) {
		t.Fatalf("swept %v", got)
	}
	storetest.WantInCall(t, survivor, "lobby", carol.ID)
	storetest.WantInCall(t, survivor, "games")
	storetest.WantPlayer(t, survivor, "games", nil)
	if pl, err := survivor.Player(ctx, "lobby"); err != nil || pl == nil || pl.URL != "https://example.com/lobby" {
		t.Fatalf("lobby's player after the sweep = %v, %v; want it kept for carol", pl, err)
	}
	for _, k := range []string{"call:games", "player:games"} {
		if n, err := rdb.Exists(ctx, prefix+k).Result(); err != nil || n != 0 {
			t.Fatalf("%s still exists (%d, %v)", k, n, err)
		}
	}
}

func TestRedisDeadNodeNamesExpireWithoutSweeper(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	names := store.NewRedisNames(rdb, prefix, store.WithNodeID("gone"), store.WithNodeTTL(200*time.Millisecond))
	must(t, names.Claim(ctx, "alice", "c1"))
	// No node runs a heartbeat or a sweeper, so only the TTL frees the name.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := names.Claim(ctx, "alice", "c2")
		if err == nil {
			return
		}
		if !errors.Is(err, chat.ErrNameTaken) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("name of a node without heartbeat did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisConcurrentSweepersReportOnce(t *testing.T) {
	rdb := newClient(t)
	ctx := context.Background()
	prefix := newPrefix(t)
	opts := []store.RedisOption{store.WithNodeTTL(300 * time.Millisecond)}
	dead := store.NewRedisPresence(rdb, prefix, append(opts, store.WithNodeID("dead"))...)
	const users = 1200 // more than one sweep batch
	for i := range users {
		must(t, dead.Join(ctx, fmt.Sprintf("r%d", i%3), chat.User{ID: fmt.Sprintf("c%04d", i), Name: "u"}))
	}
	// Wait for its heartbeat key, set by Join, to expire.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rdb.Exists(ctx, prefix+"node:dead").Result()
		must(t, err)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("heartbeat key did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := newGoneRecorder()
	var wg sync.WaitGroup
	for i := range 4 {
		p := store.NewRedisPresence(clientFor(t, sharedRedis), prefix, append(opts, store.WithNodeID(fmt.Sprint("sweeper", i)))...)
		wg.Go(func() {
			if err := p.Sweep(ctx, rec.onGone); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := rec.snapshot()
	if len(got) != users || len(slices.Compact(slices.Clone(got))) != users {
		t.Fatalf("got %d callbacks (%d distinct), want %d", len(got), len(slices.Compact(slices.Clone(got))), users)
	}
	storetest.WantRooms(t, dead)
}

func TestRedisRestartReconnects(t *testing.T) {
	needRedis(t)
	srv, err := redistest.Launch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	rdb := clientFor(t, srv)
	ctx := context.Background()
	prefix := newPrefix(t)
	presence := store.NewRedisPresence(rdb, prefix, store.WithNodeID("n1"), store.WithNodeTTL(600*time.Millisecond))
	names := store.NewRedisNames(rdb, prefix, store.WithNodeID("n1"), store.WithNodeTTL(600*time.Millisecond))
	history := store.NewRedisHistory(rdb, prefix)
	runNode(t, presence, nil)
	alice := chat.User{ID: "c1", Name: "alice"}
	must(t, names.Claim(ctx, "alice", alice.ID))
	must(t, presence.Join(ctx, "lobby", alice))
	_, err = history.Append(ctx, chat.Message{Room: "lobby", Text: "before"})
	must(t, err)

	must(t, srv.Stop())
	// While Redis is down operations fail rather than hang.
	opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if _, err := presence.Members(opCtx, "lobby"); err == nil {
		t.Fatal("Members succeeded with Redis down")
	}
	cancel()
	must(t, srv.Restart()) // on the same port, stopped by the cleanup above

	// Without persistence the data is gone, but the same client works again
	// within a bounded time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := names.Claim(ctx, "alice", alice.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Claim still failing 10s after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	must(t, presence.Join(ctx, "lobby", alice))
	storetest.WantMembers(t, presence, "lobby", alice)
	m, err := history.Append(ctx, chat.Message{Room: "lobby", Text: "after"})
	must(t, err)
	got, err := history.Recent(ctx, "lobby", 10)
	must(t, err)
	if len(got) != 1 || got[0] != m {
		t.Fatalf("Recent after restart = %+v, want [%+v]", got, m)
	}
	// The running heartbeat re-registers the node by itself.
	for {
		n, err := rdb.Exists(ctx, prefix+"node:n1").Result()
		if err == nil && n == 1 {
			if ok, _ := rdb.SIsMember(ctx, prefix+"nodes", "n1").Result(); ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat did not come back after the restart (%d, %v)", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
