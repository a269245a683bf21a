package chat

import (
	"log/slog"
	"time"
)

// SetClock lets the external tests drive time, so rate limits are tested
// without sleeping.
func SetClock(s *Service, now func() time.Time) { s.now = now }

// SetLogger captures cleanup logs in tests.
func SetLogger(s *Service, l *slog.Logger) { s.logger = l }
