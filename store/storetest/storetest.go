// Package storetest holds the conformance suites every chat backend must
// pass: TestNames, TestPresence and TestHistory. Backend packages call them
// from their own tests, so the in-memory, bbolt and Redis backends of package
// store are held to one definition of the contracts in package chat.
//
// The suites assume nothing a shared backend could not guarantee: IDs are only
// required to increase, not to start at 1 or to be dense. Each constructor call
// must return a fresh, empty backend; the Redis tests give each one a key
// prefix of its own on one server.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

// TestNames checks a chat.Names implementation.
func TestNames(t *testing.T, newNames func(t *testing.T) chat.Names) {
	ctx := context.Background()

	t.Run("ClaimAndReclaimBySameOwner", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "alice", "c1"))
		mustNil(t, n.Claim(ctx, "alice", "c1"))
		mustNil(t, n.Claim(ctx, "ALICE", "c1"))
	})

	t.Run("TakenIgnoringCase", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "Alice", "c1"))
		for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
			if err := n.Claim(ctx, name, "c2"); !errors.Is(err, chat.ErrNameTaken) {
				t.Errorf("Claim(%q) by another owner = %v, want name_taken", name, err)
			}
		}
	})

	t.Run("DistinctNamesCoexist", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "alice", "c1"))
		mustNil(t, n.Claim(ctx, "bob", "c2"))
		mustNil(t, n.Claim(ctx, "alice-2", "c3"))
	})

	t.Run("ReleaseFreesName", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "alice", "c1"))
		mustNil(t, n.Release(ctx, "alice", "c1"))
		mustNil(t, n.Claim(ctx, "alice", "c2"))
	})

	t.Run("ReleaseIgnoresCase", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "Alice", "c1"))
		mustNil(t, n.Release(ctx, "aLICE", "c1"))
		mustNil(t, n.Claim(ctx, "alice", "c2"))
	})

	t.Run("OnlyOwnerReleases", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Claim(ctx, "alice", "c1"))
		mustNil(t, n.Release(ctx, "alice", "c2"))
		if err := n.Claim(ctx, "alice", "c3"); !errors.Is(err, chat.ErrNameTaken) {
			t.Fatalf("after release by non-owner, Claim = %v, want name_taken", err)
		}
	})

	t.Run("ReleaseUnknownIsNoop", func(t *testing.T) {
		n := newNames(t)
		mustNil(t, n.Release(ctx, "nobody", "c1"))
	})

	t.Run("ConcurrentClaimsHaveOneWinner", func(t *testing.T) {
		n := newNames(t)
		const owners = 32
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for i := range owners {
			wg.Go(func() {
				err := n.Claim(ctx, "contested", fmt.Sprintf("c%d", i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, chat.ErrNameTaken):
					t.Errorf("Claim: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d owners won the same name, want 1", wins)
		}
	})
}

// TestPresence checks a chat.Presence implementation.
func TestPresence(t *testing.T, newPresence func(t *testing.T) chat.Presence) {
	ctx := context.Background()
	alice := chat.User{ID: "c1", Name: "alice"}
	bob := chat.User{ID: "c2", Name: "bob"}
	carol := chat.User{ID: "c3", Name: "Carol"}

	t.Run("EmptyRoom", func(t *testing.T) {
		p := newPresence(t)
		WantMembers(t, p, "nowhere")
		WantRooms(t, p)
	})

	t.Run("MembersSortedByName", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", bob))
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.Join(ctx, "lobby", carol))
		// Plain byte order: upper case sorts first. Clients may re-sort
		// for display; the backend only has to be deterministic.
		WantMembers(t, p, "lobby", carol, alice, bob)
	})

	t.Run("JoinIsIdempotent", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.Join(ctx, "lobby", alice))
		WantMembers(t, p, "lobby", alice)
		WantRooms(t, p, chat.RoomInfo{Name: "lobby", Members: 1})
	})

	t.Run("LeaveRemovesOnlyThatUser", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.Join(ctx, "lobby", bob))
		mustNil(t, p.Leave(ctx, "lobby", alice.ID))
		WantMembers(t, p, "lobby", bob)
	})

	t.Run("LeaveWhenAbsentIsNoop", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Leave(ctx, "nowhere", alice.ID))
		mustNil(t, p.Join(ctx, "lobby", bob))
		mustNil(t, p.Leave(ctx, "lobby", alice.ID))
		WantMembers(t, p, "lobby", bob)
	})

	t.Run("RoomsSortedWithCountsAndOnlyNonEmpty", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "zeta", alice))
		mustNil(t, p.Join(ctx, "alpha", alice))
		mustNil(t, p.Join(ctx, "alpha", bob))
		mustNil(t, p.Join(ctx, "mid", carol))
		WantRooms(t, p,
			chat.RoomInfo{Name: "alpha", Members: 2},
			chat.RoomInfo{Name: "mid", Members: 1},
			chat.RoomInfo{Name: "zeta", Members: 1})
		mustNil(t, p.Leave(ctx, "mid", carol.ID))
		mustNil(t, p.Leave(ctx, "alpha", bob.ID))
		WantRooms(t, p,
			chat.RoomInfo{Name: "alpha", Members: 1},
			chat.RoomInfo{Name: "zeta", Members: 1})
		WantMembers(t, p, "mid")
	})

	t.Run("UserInSeveralRooms", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "one", alice))
		mustNil(t, p.Join(ctx, "two", alice))
		mustNil(t, p.Leave(ctx, "one", alice.ID))
		WantMembers(t, p, "one")
		WantMembers(t, p, "two", alice)
	})

	t.Run("HasMember", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", alice))
		for _, tc := range []struct {
			room, id string
			want     bool
		}{{"lobby", alice.ID, true}, {"lobby", bob.ID, false}, {"other", alice.ID, false}} {
			got, err := p.HasMember(ctx, tc.room, tc.id)
			mustNil(t, err)
			if got != tc.want {
				t.Errorf("HasMember(%q, %q) = %v, want %v", tc.room, tc.id, got, tc.want)
			}
		}
		mustNil(t, p.Leave(ctx, "lobby", alice.ID))
		if got, _ := p.HasMember(ctx, "lobby", alice.ID); got {
			t.Error("HasMember after Leave = true")
		}
	})

	t.Run("CallJoinLeaveAndLimit", func(t *testing.T) {
		p := newPresence(t)
		WantInCall(t, p, "lobby")
		if err := p.SetInCall(ctx, "lobby", alice.ID, true, 2); !errors.Is(err, chat.ErrNotInRoom) {
			t.Fatalf("SetInCall by a non-member = %v, want not_in_room", err)
		}
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.Join(ctx, "lobby", bob))
		mustNil(t, p.Join(ctx, "lobby", carol))
		mustNil(t, p.Join(ctx, "other", carol))
		mustNil(t, p.SetInCall(ctx, "lobby", bob.ID, true, 2))
		mustNil(t, p.SetInCall(ctx, "lobby", alice.ID, true, 2))
		mustNil(t, p.SetInCall(ctx, "lobby", alice.ID, true, 2)) // again: still in, not counted twice
		WantInCall(t, p, "lobby", alice.ID, bob.ID)
		WantInCall(t, p, "other")
		if err := p.SetInCall(ctx, "lobby", carol.ID, true, 2); !errors.Is(err, chat.ErrCallFull) {
			t.Fatalf("third member into a call of 2 = %v, want call_full", err)
		}
		WantInCall(t, p, "lobby", alice.ID, bob.ID)
		mustNil(t, p.SetInCall(ctx, "lobby", bob.ID, false, 2))
		mustNil(t, p.SetInCall(ctx, "lobby", bob.ID, false, 2))
		mustNil(t, p.SetInCall(ctx, "lobby", carol.ID, true, 2))
		WantInCall(t, p, "lobby", alice.ID, carol.ID)
		// Leaving the room leaves the call.
		mustNil(t, p.Leave(ctx, "lobby", carol.ID))
		WantInCall(t, p, "lobby", alice.ID)
		mustNil(t, p.Join(ctx, "lobby", carol))
		WantInCall(t, p, "lobby", alice.ID)
	})

	t.Run("CallGoesWithTheRoom", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.SetInCall(ctx, "lobby", alice.ID, true, 6))
		mustNil(t, p.Leave(ctx, "lobby", alice.ID))
		mustNil(t, p.Join(ctx, "lobby", alice))
		WantInCall(t, p, "lobby")
	})

	t.Run("PlayerUpdatesAndGoesWithTheRoom", func(t *testing.T) {
		p := newPresence(t)
		if pl, err := p.Player(ctx, "lobby"); err != nil || pl != nil {
			t.Fatalf("Player of an unknown room = %v, %v; want nil, nil", pl, err)
		}
		load := func(prev *chat.Player) (chat.Player, error) {
			if prev != nil {
				t.Errorf("first update saw %+v, want nil", *prev)
			}
			return chat.Player{Room: "lobby", URL: "https://example.com/a.mp4", Position: 1.5, UpdatedAt: 1000, By: alice}, nil
		}
		if _, err := p.UpdatePlayer(ctx, "lobby", load); !errors.Is(err, chat.ErrNotInRoom) {
			t.Fatalf("UpdatePlayer of an empty room = %v, want not_in_room", err)
		}
		if pl, _ := p.Player(ctx, "lobby"); pl != nil {
			t.Fatalf("an empty room kept a player: %+v", *pl)
		}
		mustNil(t, p.Join(ctx, "lobby", alice))
		mustNil(t, p.Join(ctx, "lobby", bob))
		got, err := p.UpdatePlayer(ctx, "lobby", load)
		mustNil(t, err)
		want := chat.Player{Room: "lobby", URL: "https://example.com/a.mp4", Position: 1.5, UpdatedAt: 1000, By: alice}
		if got != want {
			t.Fatalf("UpdatePlayer = %+v, want %+v", got, want)
		}
		WantPlayer(t, p, "lobby", &want)

		// An update sees the stored state; an error stores nothing.
		refuse := errors.New("refused")
		if _, err := p.UpdatePlayer(ctx, "lobby", func(prev *chat.Player) (chat.Player, error) {
			return chat.Player{URL: "https://example.com/other"}, refuse
		}); !errors.Is(err, refuse) {
			t.Fatalf("UpdatePlayer with a failing update = %v, want it", err)
		}
		WantPlayer(t, p, "lobby", &want)
		play := want
		play.Playing, play.UpdatedAt, play.By = true, 2000, bob
		got, err = p.UpdatePlayer(ctx, "lobby", func(prev *chat.Player) (chat.Player, error) {
			if prev == nil || *prev != want {
				t.Errorf("update saw %v, want %+v", prev, want)
			}
			return play, nil
		})
		mustNil(t, err)
		if got != play {
			t.Fatalf("UpdatePlayer = %+v, want %+v", got, play)
		}
		WantPlayer(t, p, "lobby", &play)
		WantPlayer(t, p, "other", nil)

		mustNil(t, p.Leave(ctx, "lobby", alice.ID))
		WantPlayer(t, p, "lobby", &play) // bob is still there
		mustNil(t, p.Leave(ctx, "lobby", bob.ID))
		WantPlayer(t, p, "lobby", nil)
		mustNil(t, p.Join(ctx, "lobby", alice))
		WantPlayer(t, p, "lobby", nil)
	})

	t.Run("ConcurrentPlayerUpdatesAreSerialised", func(t *testing.T) {
		p := newPresence(t)
		mustNil(t, p.Join(ctx, "lobby", alice))
		const updates = 10 // fewer than the store's retries, so every update lands
		var wg sync.WaitGroup
		for range updates {
			wg.Go(func() {
				_, err := p.UpdatePlayer(ctx, "lobby", func(prev *chat.Player) (chat.Player, error) {
					next := chat.Player{Room: "lobby", URL: "https://example.com/a"}
					if prev != nil {
						next.Position = prev.Position + 1
					}
					return next, nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		pl, err := p.Player(ctx, "lobby")
		mustNil(t, err)
		// Each update built on the one before it: none was lost.
		if pl == nil || pl.Position != updates-1 {
			t.Fatalf("after %d counting updates Player = %+v, want position %d", updates, pl, updates-1)
		}
	})

	t.Run("ConcurrentJoinsAndLeaves", func(t *testing.T) {
		p := newPresence(t)
		const users = 50
		var wg sync.WaitGroup
		for i := range users {
			wg.Go(func() {
				u := chat.User{ID: fmt.Sprintf("c%02d", i), Name: fmt.Sprintf("u%02d", i)}
				if err := p.Join(ctx, "busy", u); err != nil {
					t.Error(err)
				}
				if i%2 == 1 {
					if err := p.Leave(ctx, "busy", u.ID); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		members, err := p.Members(ctx, "busy")
		mustNil(t, err)
		if len(members) != users/2 {
			t.Fatalf("got %d members, want %d", len(members), users/2)
		}
		for i, u := range members {
			if want := fmt.Sprintf("u%02d", 2*i); u.Name != want {
				t.Fatalf("member %d = %q, want %q", i, u.Name, want)
			}
		}
		WantRooms(t, p, chat.RoomInfo{Name: "busy", Members: users / 2})
	})
}

// TestHistory checks a chat.History implementation. Close is called by the
// suite, so constructors should not register it with t.Cleanup as well
// unless Close tolerates being called twice.
func TestHistory(t *testing.T, newHistory func(t *testing.T) chat.History) {
	ctx := context.Background()
	open := func(t *testing.T) chat.History {
		h := newHistory(t)
		t.Cleanup(func() {
			if err := h.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return h
	}
	msg := func(room, text string) chat.Message {
		return chat.Message{Room: room, From: chat.User{ID: "c1", Name: "alice"}, Text: text, TS: 1700000000000}
	}

	t.Run("Empty", func(t *testing.T) {
		h := open(t)
		got, err := h.Recent(ctx, "lobby", 10)
		mustNil(t, err)
		wantTexts(t, got)
		got, err = h.Before(ctx, "lobby", 1<<40, 10)
		mustNil(t, err)
		wantTexts(t, got)
	})

	t.Run("RoundTripsFields", func(t *testing.T) {
		h := open(t)
		in := chat.Message{
			ID:       -5, // must be replaced
			Room:     "lobby",
			From:     chat.User{ID: "sock-1", Name: "Zoë_x"},
			Text:     "héllo <b>&</b> \"quoted\" 🎉\nline two",
			TS:       1712345678901,
			ClientID: "tmp-42",
		}
		stored, err := h.Append(ctx, in)
		mustNil(t, err)
		if stored.ID <= 0 {
			t.Fatalf("assigned ID %d, want > 0", stored.ID)
		}
		want := in
		want.ID = stored.ID
		if stored != want {
			t.Fatalf("Append returned %+v, want %+v", stored, want)
		}
		got, err := h.Recent(ctx, "lobby", 1)
		mustNil(t, err)
		if len(got) != 1 || got[0] != want {
			t.Fatalf("Recent = %+v, want [%+v]", got, want)
		}
	})

	t.Run("IDsIncreaseAcrossRooms", func(t *testing.T) {
		h := open(t)
		var last int64
		for i := range 20 {
			room := []string{"a", "b", "c"}[i%3]
			m, err := h.Append(ctx, msg(room, fmt.Sprint(i)))
			mustNil(t, err)
			if m.ID <= last {
				t.Fatalf("message %d got ID %d after %d", i, m.ID, last)
			}
			last = m.ID
		}
	})

	t.Run("RecentIsNewestOldestFirst", func(t *testing.T) {
		h := open(t)
		appendN(t, h, "lobby", 0, 10)
		appendN(t, h, "other", 100, 3)
		got, err := h.Recent(ctx, "lobby", 4)
		mustNil(t, err)
		wantTexts(t, got, "6", "7", "8", "9")
		got, err = h.Recent(ctx, "lobby", 50)
		mustNil(t, err)
		wantTexts(t, got, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
		for _, m := range got {
			if m.Room != "lobby" {
				t.Fatalf("message from room %q in lobby", m.Room)
			}
		}
		got, err = h.Recent(ctx, "other", 50)
		mustNil(t, err)
		wantTexts(t, got, "100", "101", "102")
	})

	t.Run("NonPositiveLimitIsEmpty", func(t *testing.T) {
		h := open(t)
		ids := appendN(t, h, "lobby", 0, 3)
		for _, limit := range []int{0, -1} {
			got, err := h.Recent(ctx, "lobby", limit)
			mustNil(t, err)
			wantTexts(t, got)
			got, err = h.Before(ctx, "lobby", ids[2], limit)
			mustNil(t, err)
			wantTexts(t, got)
		}
	})

	t.Run("BeforePages", func(t *testing.T) {
		h := open(t)
		ids := appendN(t, h, "lobby", 0, 10)
		appendN(t, h, "other", 100, 5) // interleaved IDs in another room

		got, err := h.Before(ctx, "lobby", ids[7], 3)
		mustNil(t, err)
		wantTexts(t, got, "4", "5", "6")

		// Walk backwards the way a client scrolls up.
		var pages [][]string
		before := ids[9] + 1_000_000
		for {
			page, err := h.Before(ctx, "lobby", before, 4)
			mustNil(t, err)
			if len(page) == 0 {
				break
			}
			pages = append(pages, texts(page))
			before = page[0].ID
		}
		want := [][]string{{"6", "7", "8", "9"}, {"2", "3", "4", "5"}, {"0", "1"}}
		if fmt.Sprint(pages) != fmt.Sprint(want) {
			t.Fatalf("pages = %v, want %v", pages, want)
		}

		got, err = h.Before(ctx, "lobby", ids[0], 10)
		mustNil(t, err)
		wantTexts(t, got)
		got, err = h.Before(ctx, "lobby", 0, 10)
		mustNil(t, err)
		wantTexts(t, got)
		// An ID between two of this room's IDs (owned by another room or
		// pruned) still cuts at the right place.
		got, err = h.Before(ctx, "lobby", ids[3]+1, 2)
		mustNil(t, err)
		wantTexts(t, got, "2", "3")
	})

	t.Run("RetentionPrunesOldest", func(t *testing.T) {
		h := open(t)
		const extra = 25
		appendN(t, h, "big", 0, chat.HistoryRetention+extra)
		appendN(t, h, "small", 0, 3)
		all, err := h.Recent(ctx, "big", 10*chat.HistoryRetention)
		mustNil(t, err)
		if len(all) != chat.HistoryRetention {
			t.Fatalf("kept %d messages, want %d", len(all), chat.HistoryRetention)
		}
		if all[0].Text != fmt.Sprint(extra) || all[len(all)-1].Text != fmt.Sprint(chat.HistoryRetention+extra-1) {
			t.Fatalf("kept %s..%s, want %d..%d", all[0].Text, all[len(all)-1].Text, extra, chat.HistoryRetention+extra-1)
		}
		got, err := h.Before(ctx, "big", all[0].ID+1, 10)
		mustNil(t, err)
		wantTexts(t, got, fmt.Sprint(extra))
		// Pruning one room must not touch another.
		got, err = h.Recent(ctx, "small", 10)
		mustNil(t, err)
		wantTexts(t, got, "0", "1", "2")
	})

	t.Run("ConcurrentAppendsGetUniqueIDs", func(t *testing.T) {
		h := open(t)
		const writers, each = 8, 10
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids []int64
		)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					m, err := h.Append(ctx, msg(fmt.Sprintf("r%d", w%2), fmt.Sprint(i)))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, m.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(ids)
		if len(slices.Compact(slices.Clone(ids))) != writers*each {
			t.Fatalf("IDs not unique: %v", ids)
		}
		for _, room := range []string{"r0", "r1"} {
			got, err := h.Recent(ctx, room, 1000)
			mustNil(t, err)
			if len(got) != writers*each/2 {
				t.Fatalf("%s has %d messages, want %d", room, len(got), writers*each/2)
			}
			if !slices.IsSortedFunc(got, func(a, b chat.Message) int { return int(a.ID - b.ID) }) {
				t.Fatalf("%s not oldest first", room)
			}
		}
	})

	t.Run("ResultsDoNotAlias", func(t *testing.T) {
		h := open(t)
		appendN(t, h, "lobby", 0, 2)
		got, err := h.Recent(ctx, "lobby", 2)
		mustNil(t, err)
		got[0].Text = "mutated"
		again, err := h.Recent(ctx, "lobby", 2)
		mustNil(t, err)
		wantTexts(t, again, "0", "1")
	})
}

// appendN stores messages with texts start..start+n-1 and returns their IDs.
func appendN(t *testing.T, h chat.History, room string, start, n int) []int64 {
	t.Helper()
	ids := make([]int64, 0, n)
	for i := range n {
		m, err := h.Append(context.Background(), chat.Message{
			Room: room, From: chat.User{ID: "c1", Name: "alice"}, Text: fmt.Sprint(start + i), TS: int64(i),
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func texts(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func wantTexts(t *testing.T, got []chat.Message, want ...string) {
	t.Helper()
	if g := texts(got); !slices.Equal(g, want) {
		t.Fatalf("texts = %q, want %q", g, want)
	}
}

// WantMembers fails t unless p.Members(room) is exactly want.
func WantMembers(t *testing.T, p chat.Presence, room string, want ...chat.User) {
	t.Helper()
	got, err := p.Members(context.Background(), room)
	mustNil(t, err)
	if !slices.Equal(got, want) {
		t.Fatalf("Members(%q) = %v, want %v", room, got, want)
	}
}

// WantInCall fails t unless p.InCall(room) is exactly want.
func WantInCall(t *testing.T, p chat.Presence, room string, want ...string) {
	t.Helper()
	got, err := p.InCall(context.Background(), room)
	mustNil(t, err)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("InCall(%q) = %q, want %q", room, got, want)
	}
}

// WantPlayer fails t unless p.Player(room) is want (nil: none).
func WantPlayer(t *testing.T, p chat.Presence, room string, want *chat.Player) {
	t.Helper()
	got, err := p.Player(context.Background(), room)
	mustNil(t, err)
	if (got == nil) != (want == nil) || (got != nil && *got != *want) {
		t.Fatalf("Player(%q) = %v, want %v", room, got, want)
	}
}

// WantRooms fails t unless p.Rooms() is exactly want.
func WantRooms(t *testing.T, p chat.Presence, want ...chat.RoomInfo) {
	t.Helper()
	got, err := p.Rooms(context.Background())
	mustNil(t, err)
	if !slices.Equal(got, want) {
		t.Fatalf("Rooms() = %v, want %v", got, want)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
