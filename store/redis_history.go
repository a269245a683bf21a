package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socketio-go/chatserver/chat"
)

// RedisHistory is a chat.History shared by every node using the same Redis
// and prefix: one stream per room, with message IDs from one global counter.
// It is safe for concurrent use.
type RedisHistory struct {
	rdb redis.UniversalClient
	k   keys
}

// NewRedisHistory returns history stored under prefix. The client stays
// owned by the caller; Close does not close it.
func NewRedisHistory(rdb redis.UniversalClient, prefix string) *RedisHistory {
	return &RedisHistory{rdb: rdb, k: keys(prefix)}
}

// redisRecord is the stored form of a message, like boltRecord: ID and room
// are implied by the stream entry ID and key.
type redisRecord struct {
	FromID   string `json:"f"`
	FromName string `json:"n"`
	Text     string `json:"t"`
	TS       int64  `json:"ts"`
	ClientID string `json:"c,omitempty"`
}

// SentTTL is how long RedisHistory remembers which message a sender's
// clientId was stored as, longer than the default recovery window (2 min)
// within which a dropped connection comes back as the same user and sends
// again what was not acknowledged.
const SentTTL = 5 * time.Minute

//go:embed lua/history_append.lua
var appendLua string

// appendScript takes KEYS counter, room stream, sent key and ARGV record
// JSON, retention, clientId, SentTTL in ms, and returns {id, record JSON}.
// Taking the ID and adding the entry in one step keeps each stream in ID
// order however appends interleave. A message whose clientId the sender
// stored already is answered with the stored one: an append whose reply
// was lost with the connection (the client retries it on a new one) is
// stored once.
var appendScript = redis.NewScript(appendLua)

// Append implements chat.History. A message with the clientId of one the
// same sender (From.ID) stored in the room within SentTTL is not stored
// again: Append returns the stored one.
func (h *RedisHistory) Append(ctx context.Context, m chat.Message) (chat.Message, error) {
	rec, err := json.Marshal(redisRecord{
		FromID: m.From.ID, FromName: m.From.Name, Text: m.Text, TS: m.TS, ClientID: m.ClientID,
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: redis: appending to %q: %w", m.Room, err)
	}
	ks := []string{h.k.seq(), h.k.history(m.Room), h.k.sent(m.Room, m.From.ID, m.ClientID)}
	res, err := appendScript.Run(ctx, h.rdb, ks, rec, chat.HistoryRetention, m.ClientID, ttlMillis(SentTTL)).Slice()
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: redis: appending to %q: %w", m.Room, err)
	}
	var id int64
	var stored string
	if len(res) == 2 {
		id, _ = res[0].(int64)
		stored, _ = res[1].(string)
	}
	if id <= 0 {
		return chat.Message{}, fmt.Errorf("store: redis: appending to %q: unexpected reply %v", m.Room, res)
	}
	if stored == string(rec) {
		m.ID = id
		return m, nil
	}
	return decodeMessage(m.Room, redis.XMessage{ID: strconv.FormatInt(id, 10) + "-0", Values: map[string]any{"m": stored}})
}

// Recent implements chat.History.
func (h *RedisHistory) Recent(ctx context.Context, room string, limit int) ([]chat.Message, error) {
	return h.page(ctx, room, "+", limit)
}

// Before implements chat.History.
func (h *RedisHistory) Before(ctx context.Context, room string, beforeID int64, limit int) ([]chat.Message, error) {
	if beforeID <= 1 {
		// IDs start at 1, so nothing precedes these.
		return []chat.Message{}, nil
	}
	// Entry IDs are "<id>-0"; a bare "<id>" as the upper end means "<id>-max",
	// so this is every ID < beforeID on any Redis that has streams.
	return h.page(ctx, room, strconv.FormatInt(beforeID-1, 10), limit)
}

// page returns up to limit entries of room up to end, oldest first.
func (h *RedisHistory) page(ctx context.Context, room, end string, limit int) ([]chat.Message, error) {
	out := []chat.Message{}
	if limit <= 0 {
		return out, nil
	}
	entries, err := h.rdb.XRevRangeN(ctx, h.k.history(room), end, "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis: reading %q: %w", room, err)
	}
	for _, e := range slices.Backward(entries) {
		m, err := decodeMessage(room, e)
		if err != nil {
			return nil, fmt.Errorf("store: redis: reading %q: %w", room, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func decodeMessage(room string, e redis.XMessage) (chat.Message, error) {
	ms, _, _ := strings.Cut(e.ID, "-")
	id, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return chat.Message{}, fmt.Errorf("bad entry ID %q: %w", e.ID, err)
	}
	raw, ok := e.Values["m"].(string)
	if !ok {
		return chat.Message{}, fmt.Errorf("entry %s has no message", e.ID)
	}
	var r redisRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return chat.Message{}, fmt.Errorf("decoding message %d: %w", id, err)
	}
	return chat.Message{
		ID:       id,
		Room:     room,
		From:     chat.User{ID: r.FromID, Name: r.FromName},
		Text:     r.Text,
		TS:       r.TS,
		ClientID: r.ClientID,
	}, nil
}

// Close implements chat.History. The client belongs to the caller, so there
// is nothing to close.
func (h *RedisHistory) Close() error { return nil }

var _ chat.History = (*RedisHistory)(nil)
