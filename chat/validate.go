package chat

import (
	"strings"
	"unicode/utf8"
)

// These validators run on every event, so they are plain byte loops: no
// regexp, no allocation. Each returns the normalised value to use from then
// on, so callers never store the untrimmed input.

// ValidateName trims surrounding white space and checks that the rest is 1 to
// MaxNameLen characters of A–Z, a–z, 0–9, _ and -. Restricting names to ASCII
// rules out look-alike impersonation (Cyrillic "а" for Latin "a") and markup.
func ValidateName(s string) (string, error) {
	s = strings.TrimSpace(s)
	// Every allowed character is one byte, so the byte length is the
	// character count.
	if len(s) == 0 || len(s) > MaxNameLen {
		return "", ErrNameInvalid
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "", ErrNameInvalid
		}
	}
	return s, nil
}

// FoldName is the key under which names are unique: names compare ignoring
// case, and valid names are ASCII, so lower-casing is enough.
func FoldName(name string) string { return strings.ToLower(name) }

// ValidateRoom trims surrounding white space and checks that the rest is 1 to
// MaxRoomLen characters of a–z, 0–9 and -. Room names are lowercase only, so
// "General" and "general" can never be two different rooms; they are not
// folded silently so the client learns the canonical spelling.
func ValidateRoom(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > MaxRoomLen {
		return "", ErrRoomInvalid
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", ErrRoomInvalid
		}
	}
	return s, nil
}

// ValidateText trims surrounding white space and checks that the rest is 1 to
// MaxTextLen runes of valid UTF-8. Invalid UTF-8 is refused rather than
// repaired because it would be altered anyway when the message is encoded as
// JSON for other clients. U+FFFD is refused too: it is what JSON decoding
// leaves of invalid bytes and of lone surrogates (`"\ud800"`) in what the
// client sent, so the text reached the server already altered.
func ValidateText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 {
		return "", ErrTextInvalid
	}
	n := 0
	for i := 0; i < len(s); {
		n++
		if n > MaxTextLen {
			// Stop early: the input may be megabytes long.
			return "", ErrTextInvalid
		}
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			return "", ErrTextInvalid
		}
		i += size
	}
	return s, nil
}

// validClientID reports whether id fits MaxClientIDLen characters.
func validClientID(id string) bool {
	// Anything up to MaxClientIDLen bytes is certainly short enough; only
	// longer strings need their runes counted.
	return len(id) <= MaxClientIDLen || utf8.RuneCountInString(id) <= MaxClientIDLen
}
