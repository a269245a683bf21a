package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/socketio-go/chatserver/chat"
)

// clientError is what a client is told of err, in an ack and over HTTP
// alike: the domain's code and message (chat.AsError). A failure of the
// server's own (chat.ErrInternal, or an error the domain did not
// classify) is logged here with its cause and attrs, and told only as
// chat.ErrInternal (code "internal").
func clientError(log *slog.Logger, err error, attrs ...any) *chat.Error {
	ce := chat.AsError(err)
	if errors.Is(ce, chat.ErrInternal) && log != nil {
		log.Error("request failed", append(attrs, "err", err)...)
	}
	return ce
}

// httpStatus is the HTTP status of a client error: 500 for the server's
// own failures, 400 for the request's.
func httpStatus(ce *chat.Error) int {
	if errors.Is(ce, chat.ErrInternal) {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}
