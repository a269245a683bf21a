package store

import bolt "go.etcd.io/bbolt"

// OpenBoltHistoryNoSync skips fsync and the batching delay so the suites,
// which append thousands of messages one at a time, stay fast. The data
// written and every code path in BoltHistory are the production ones.
func OpenBoltHistoryNoSync(path string) (*BoltHistory, error) {
	h, err := OpenBoltHistory(path)
	if err != nil {
		return nil, err
	}
	h.db.NoSync = true
	h.db.MaxBatchDelay = 0
	return h, nil
}

// Crash copies the file as a crash now would leave it: what the last
// commit put on disk, without what Close does.
func (h *BoltHistory) Crash(path string) error {
	return h.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) })
}
