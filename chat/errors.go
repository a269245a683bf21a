package chat

import (
	"errors"
	"fmt"
)

// Error is a failure the client is allowed to see. Code is stable and meant
// for programs; Message is for people. It marshals straight into the
// {code,message} object of an error ack.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches on Code alone, so a copy carrying a more specific message (see
// WithMessage) or a value rebuilt by another backend still satisfies
// errors.Is(err, ErrNameTaken).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && e.Code == t.Code
}

// WithMessage returns a copy with a different human message and the same code.
func (e *Error) WithMessage(msg string) *Error {
	return &Error{Code: e.Code, Message: msg}
}

// The errors the chat API reports to clients.
var (
	ErrNameInvalid = &Error{"name_invalid",
		fmt.Sprintf("names are 1–%d characters of letters, digits, _ and -", MaxNameLen)}
	ErrNameTaken         = &Error{"name_taken", "that name is already in use"}
	ErrAlreadyRegistered = &Error{"already_registered", "this connection is already registered under another name"}
	ErrNotRegistered     = &Error{"not_registered", "register a name first"}
	ErrRoomInvalid       = &Error{"room_invalid",
		fmt.Sprintf("room names are 1–%d characters of lowercase letters, digits and -", MaxRoomLen)}
	ErrTooManyRooms = &Error{"too_many_rooms",
		fmt.Sprintf("you can be in at most %d rooms at once", MaxRoomsPerUser)}
	ErrNotInRoom   = &Error{"not_in_room", "join the room first"}
	ErrTextInvalid = &Error{"text_invalid",
		fmt.Sprintf("messages are 1–%d characters of valid UTF-8 (no U+FFFD)", MaxTextLen)}
	ErrRateLimited = &Error{"rate_limited", "you are sending messages too fast; slow down"}
	// ErrRegisterRateLimited refuses register attempts beyond RegisterRate.
	ErrRegisterRateLimited = &Error{"rate_limited", "too many attempts to register; wait a moment and try again"}
	ErrBadRequest          = &Error{"bad_request", "the request is malformed"}
	ErrURLInvalid          = &Error{"url_invalid",
		fmt.Sprintf("media URLs are http: or https: URLs of at most %d characters", MaxURLLen)}
	// ErrPlayerRateLimited refuses player actions beyond PlayerRate.
	ErrPlayerRateLimited = &Error{"rate_limited", "you are changing the player too fast; slow down"}
	// ErrSignalRateLimited refuses signalling messages beyond SignalRate.
	ErrSignalRateLimited = &Error{"rate_limited", "too many call signalling messages; slow down"}
	// ErrCallRateLimited refuses joining and leaving a call beyond CallRate.
	ErrCallRateLimited = &Error{"rate_limited", "you are joining and leaving the call too fast; wait a moment"}
	ErrPeerNotFound    = &Error{"peer_not_found", "that user is not in this room"}
	ErrCallFull        = &Error{"call_full",
		fmt.Sprintf("the call is full: at most %d people can be in it", MaxInCall)}
	ErrUnknownEvent = &Error{"unknown_event", "unknown event"}
	ErrInternal     = &Error{"internal", "something went wrong on the server; try again"}
	// ErrClosed is returned for actions that race with or follow Close; the
	// connection is gone, so the client will rarely see it.
	ErrClosed = &Error{"closed", "the connection is closing"}
)

// AsError picks the client-facing error out of err: the *Error in its chain,
// or ErrInternal for anything else, so storage details never reach a client.
// It returns nil for nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	return ErrInternal
}

// internal marks a backend failure as ErrInternal for the client while keeping
// the cause in the chain for logs and errors.Is(err, context.Canceled).
// Errors that already carry a client code (for example name_taken from a
// Names backend) pass through untouched.
func internal(op string, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("chat: %s: %w: %w", op, ErrInternal, err)
}
