package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
//	ids/
//	  reserved           -> every ID up to this one may have been handed out, 8 bytes BE
//
// Big-endian IDs make bbolt's byte order the ID order, so "newest N" and
// "before ID" are cursor walks. The per-room count avoids walking a room to
// decide whether to prune.
var (
	messagesBucket = []byte("messages")
	countsBucket   = []byte("counts")
	idsBucket      = []byte("ids")
	reservedKey    = []byte("reserved")
)

// idBlock is how many IDs one reservation covers. A staged message may be
// delivered and then lost with the process before its write, so its ID must
// never be handed out again: IDs are handed out only up to the reserved one,
// which is on disk first. A crash skips what was left of the block; a clean
// Close gives the rest back. Clients de-duplicate by ID, so a reused ID
// would hide a new message from everyone who saw the lost one.
const idBlock = 1024

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
//
// It is a chat.StagedHistory: IDs are handed out in memory, so a message
// can be delivered while its write and fsync are under way. Until the
// write is done, the message is kept in memory and reads include it.
type BoltHistory struct {
	db *bolt.DB

	// idMu guards lastID and reserved, and is held while a message is
	// numbered and staged, so that staging stays in ID order.
	idMu     sync.Mutex
	lastID   int64 // the last ID handed out
	reserved int64 // the highest ID that may be handed out without a new reservation (on disk)

	mu      sync.Mutex
	staging map[string][]chat.Message // by room, in ID order: numbered, not yet written
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
	var last, reserved uint64
	err = db.Update(func(tx *bolt.Tx) error {
		msgs, err := tx.CreateBucketIfNotExists(messagesBucket)
		if err != nil {
			return err
		}
		last = msgs.Sequence()
		if _, err = tx.CreateBucketIfNotExists(countsBucket); err != nil {
			return err
		}
		ib, err := tx.CreateBucketIfNotExists(idsBucket)
		if err != nil {
			return err
		}
		if v := ib.Get(reservedKey); len(v) == 8 {
			reserved = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initialising history %s: %w", path, err)
	}
	db.MaxBatchDelay = maxBatchDelay
	// After a crash, IDs up to the reservation may have been delivered
	// without being written: numbering goes on above them.
	h := &BoltHistory{db: db, lastID: int64(max(last, reserved)), staging: map[string][]chat.Message{}}
	h.reserved = h.lastID
	return h, nil
}

// reserve puts on disk that IDs up to upTo may be handed out.
func (h *BoltHistory) reserve(upTo int64) error {
	err := h.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(idsBucket).Put(reservedKey, idKey(upTo))
	})
	if err != nil {
		return fmt.Errorf("store: reserving message IDs: %w", err)
	}
	h.reserved = upTo
	return nil
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
	m, write, err := h.Stage(ctx, m)
	if err != nil {
		return chat.Message{}, err
	}
	return m, write(ctx)
}

// Stage implements chat.StagedHistory: it numbers m at once and returns the
// write, which puts it on disk (fsynced) and must be called once. Reads
// include the message from now on; if the write fails they stop including
// it.
func (h *BoltHistory) Stage(ctx context.Context, m chat.Message) (chat.Message, func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, nil, err
	}
	if m.Room == "" {
		return chat.Message{}, nil, errEmptyRoom
	}
	val, err := json.Marshal(boltRecord{
		FromID: m.From.ID, FromName: m.From.Name, Text: m.Text, TS: m.TS, ClientID: m.ClientID,
	})
	if err != nil {
		return chat.Message{}, nil, err
	}
	h.idMu.Lock()
	if h.lastID >= h.reserved {
		if err := h.reserve(h.lastID + idBlock); err != nil {
			h.idMu.Unlock()
			return chat.Message{}, nil, err
		}
	}
	h.lastID++
	m.ID = h.lastID
	h.mu.Lock()
	h.staging[m.Room] = append(h.staging[m.Room], m)
	h.mu.Unlock()
	h.idMu.Unlock()
	return m, func(context.Context) error {
		// The write ignores cancellation: a numbered message may have been
		// delivered already, so it is stored whenever it can be.
		err := h.write(m, val)
		h.unstage(m)
		if err != nil {
			return fmt.Errorf("store: appending to %q: %w", m.Room, err)
		}
		return nil
	}, nil
}

// unstage forgets a staged message once its write is over.
func (h *BoltHistory) unstage(m chat.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.staging[m.Room]
	if i := slices.IndexFunc(list, func(x chat.Message) bool { return x.ID == m.ID }); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(h.staging, m.Room)
	} else {
		h.staging[m.Room] = list
	}
}

func (h *BoltHistory) write(m chat.Message, val []byte) error {
	room := []byte(m.Room)
	return h.db.Batch(func(tx *bolt.Tx) error {
		msgs := tx.Bucket(messagesBucket)
		// Writes may finish out of ID order; the sequence keeps the
		// highest, so a reopened file numbers on from there.
		if msgs.Sequence() < uint64(m.ID) {
			if err := msgs.SetSequence(uint64(m.ID)); err != nil {
				return err
			}
		}
		rb, err := msgs.CreateBucketIfNotExists(room)
		if err != nil {
			return err
		}
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
	return h.withStaged(out, room, beforeID, limit), nil
}

// withStaged merges the room's staged messages (below beforeID, when it is
// set) into page, a read from disk, and keeps the newest limit, oldest
// first. A message written meanwhile may be in both: it is kept once.
func (h *BoltHistory) withStaged(page []chat.Message, room string, beforeID int64, limit int) []chat.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	staged := h.staging[room]
	if len(staged) == 0 {
		return page
	}
	for _, m := range staged {
		if beforeID > 0 && m.ID >= beforeID {
			continue
		}
		if !slices.ContainsFunc(page, func(x chat.Message) bool { return x.ID == m.ID }) {
			page = append(page, m)
		}
	}
	slices.SortFunc(page, func(a, b chat.Message) int { return cmp.Compare(a.ID, b.ID) })
	if len(page) > limit {
		page = page[len(page)-limit:]
	}
	return page
}

// Close implements chat.History; it releases the file lock. It gives back
// the IDs reserved but not handed out, so that a clean restart numbers on
// from the last one.
func (h *BoltHistory) Close() error {
	var err error
	h.idMu.Lock()
	if h.reserved > h.lastID {
		err = h.reserve(h.lastID)
	}
	h.idMu.Unlock()
	if cerr := h.db.Close(); err == nil {
		err = cerr
	}
	return err
}

var _ chat.StagedHistory = (*BoltHistory)(nil)
