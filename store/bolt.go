package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/socketio-go/chatserver/chat"
)

// Layout of the bbolt file:
//
//	messages/            sequence = last message ID handed out (global)
//	  <room>/            one nested bucket per room
//	    <id:8 bytes BE>  -> JSON boltRecord
//	counts/
//	  <room>             -> number of messages in the room, 8 bytes BE
//
// Big-endian IDs make bbolt's byte order the ID order, so "newest N" and
// "before ID" are cursor walks. The per-room count avoids walking a room to
// decide whether to prune.
var (
	messagesBucket = []byte("messages")
	countsBucket   = []byte("counts")
)

// boltRecord is the on-disk form of a message. It is separate from
// chat.Message so that changing the wire JSON never silently changes the file
// format; ID and room are implied by the key and bucket.
type boltRecord struct {
	FromID   string `json:"f"`
	FromName string `json:"n"`
	Text     string `json:"t"`
	TS       int64  `json:"ts"`
	ClientID string `json:"c,omitempty"`
}

// BoltHistory is a chat.History persisted in a bbolt file, so history
// survives restarts. Only one process can open the file at a time.
type BoltHistory struct {
	db *bolt.DB
}

// OpenBoltHistory opens or creates the history file at path, creating its
// directory if needed.
func OpenBoltHistory(path string) (*BoltHistory, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: creating history directory: %w", err)
	}
	// The timeout turns a second server on the same data directory into a
	// startup error instead of a silent hang on the file lock.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: opening history %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(messagesBucket); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(countsBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initialising history %s: %w", path, err)
	}
	db.MaxBatchDelay = maxBatchDelay
	return &BoltHistory{db: db}, nil
}

func idKey(id int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(id))
	return k[:]
}

// maxBatchDelay is how long an append waits for others to share its fsync.
// bbolt's 10ms default would add that much to every message in a quiet room;
// under load, appends queue behind the running commit and still batch.
const maxBatchDelay = time.Millisecond

var errEmptyRoom = errors.New("store: empty room name")

// Append implements chat.History. The message is on disk (fsynced) before
// Append returns, so a message acknowledged to its sender survives a crash.
// Concurrent appends share one transaction and fsync (bbolt's Batch), which
// multiplies throughput when many users post at once.
func (h *BoltHistory) Append(ctx context.Context, m chat.Message) (chat.Message, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, err
	}
	if m.Room == "" {
		return chat.Message{}, errEmptyRoom
	}
	val, err := json.Marshal(boltRecord{
		FromID: m.From.ID, FromName: m.From.Name, Text: m.Text, TS: m.TS, ClientID: m.ClientID,
	})
	if err != nil {
		return chat.Message{}, err
	}
	room := []byte(m.Room)
	err = h.db.Batch(func(tx *bolt.Tx) error {
		msgs := tx.Bucket(messagesBucket)
		seq, err := msgs.NextSequence()
		if err != nil {
			return err
		}
		rb, err := msgs.CreateBucketIfNotExists(room)
		if err != nil {
			return err
		}
		m.ID = int64(seq)
		if err := rb.Put(idKey(m.ID), val); err != nil {
			return err
		}
		counts := tx.Bucket(countsBucket)
		var n uint64 = 1
		if v := counts.Get(room); len(v) == 8 {
			n += binary.BigEndian.Uint64(v)
		}
		// Normally one message goes per append; the loop also repairs a
		// room that is over the limit, e.g. after HistoryRetention shrank.
		c := rb.Cursor()
		for ; n > chat.HistoryRetention; n-- {
			if k, _ := c.First(); k == nil {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		var cnt [8]byte
		binary.BigEndian.PutUint64(cnt[:], n)
		return counts.Put(room, cnt[:])
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: appending to %q: %w", m.Room, err)
	}
	return m, nil
}

// Recent implements chat.History.
func (h *BoltHistory) Recent(ctx context.Context, room string, limit int) ([]chat.Message, error) {
	return h.page(ctx, room, 0, limit)
}

// Before implements chat.History.
func (h *BoltHistory) Before(ctx context.Context, room string, beforeID int64, limit int) ([]chat.Message, error) {
	if beforeID <= 1 {
		// IDs start at 1, so nothing precedes these; page would treat
		// beforeID <= 0 as "latest".
		return []chat.Message{}, nil
	}
	return h.page(ctx, room, beforeID, limit)
}

// page returns up to limit messages with ID < beforeID (all when beforeID is
// 0), oldest first.
func (h *BoltHistory) page(ctx context.Context, room string, beforeID int64, limit int) ([]chat.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []chat.Message{}
	if limit <= 0 || room == "" {
		return out, nil
	}
	err := h.db.View(func(tx *bolt.Tx) error {
		rb := tx.Bucket(messagesBucket).Bucket([]byte(room))
		if rb == nil {
			return nil
		}
		c := rb.Cursor()
		var k, v []byte
		if beforeID > 0 {
			// Seek lands on the first ID >= beforeID; step back from it,
			// or from the end when every ID is smaller.
			if k, _ = c.Seek(idKey(beforeID)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			if len(k) != 8 {
				continue
			}
			var r boltRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding message %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, chat.Message{
				ID:       int64(binary.BigEndian.Uint64(k)),
				Room:     room,
				From:     chat.User{ID: r.FromID, Name: r.FromName},
				Text:     r.Text,
				TS:       r.TS,
				ClientID: r.ClientID,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading %q: %w", room, err)
	}
	slices.Reverse(out)
	return out, nil
}

// Close implements chat.History; it releases the file lock.
func (h *BoltHistory) Close() error { return h.db.Close() }

var _ chat.History = (*BoltHistory)(nil)
