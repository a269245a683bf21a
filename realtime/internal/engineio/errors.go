package engineio

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ErrorCode is one of Engine.IO's HTTP error codes, the same numbers and
// messages as Node's engine.io so clients and tools read them alike.
type ErrorCode int

const (
	ErrTransportUnknown    ErrorCode = 0
	ErrUnknownSID          ErrorCode = 1
	ErrBadHandshakeMethod  ErrorCode = 2
	ErrBadRequest          ErrorCode = 3
	ErrForbidden           ErrorCode = 4
	ErrUnsupportedProtocol ErrorCode = 5
)

var errorTable = [...]struct {
	status  int
	message string
}{
	ErrTransportUnknown:    {http.StatusBadRequest, "Transport unknown"},
	ErrUnknownSID:          {http.StatusBadRequest, "Session ID unknown"},
	ErrBadHandshakeMethod:  {http.StatusBadRequest, "Bad handshake method"},
	ErrBadRequest:          {http.StatusBadRequest, "Bad request"},
	ErrForbidden:           {http.StatusForbidden, "Forbidden"},
	ErrUnsupportedProtocol: {http.StatusBadRequest, "Unsupported protocol version"},
}

// Status is the HTTP status the code is answered with.
func (c ErrorCode) Status() int { return errorTable[c].status }

// Message is the code's text, as Node's engine.io words it.
func (c ErrorCode) Message() string { return errorTable[c].message }

// writeError answers an Engine.IO error: {"code":N,"message":"..."}.
// message, when not empty, replaces the standard text (used for the reason
// a request was forbidden).
func writeError(w http.ResponseWriter, c ErrorCode, message string) {
	writeErrorStatus(w, c.Status(), c, message)
}

// writeErrorStatus is writeError with another HTTP status than the code's.
func writeErrorStatus(w http.ResponseWriter, status int, c ErrorCode, message string) {
	if message == "" {
		message = c.Message()
	}
	body := make([]byte, 0, 48+len(message))
	body = append(body, `{"code":`...)
	body = strconv.AppendInt(body, int64(c), 10)
	body = append(body, `,"message":`...)
	quoted, _ := json.Marshal(message) // a string always marshals
	body = append(body, quoted...)
	body = append(body, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
