package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

var allErrors = []*chat.Error{
	chat.ErrNameInvalid, chat.ErrNameTaken, chat.ErrAlreadyRegistered, chat.ErrNotRegistered,
	chat.ErrRoomInvalid, chat.ErrTooManyRooms, chat.ErrNotInRoom, chat.ErrTextInvalid,
	chat.ErrRateLimited, chat.ErrBadRequest, chat.ErrUnknownEvent, chat.ErrInternal, chat.ErrClosed,
}

func TestErrorCodes(t *testing.T) {
	want := map[*chat.Error]string{
		chat.ErrNameInvalid: "name_invalid", chat.ErrNameTaken: "name_taken",
		chat.ErrAlreadyRegistered: "already_registered", chat.ErrNotRegistered: "not_registered",
		chat.ErrRoomInvalid: "room_invalid", chat.ErrTooManyRooms: "too_many_rooms",
		chat.ErrNotInRoom: "not_in_room", chat.ErrTextInvalid: "text_invalid",
		chat.ErrRateLimited: "rate_limited", chat.ErrBadRequest: "bad_request",
		chat.ErrUnknownEvent: "unknown_event", chat.ErrInternal: "internal",
	}
	seen := map[string]bool{}
	for _, e := range allErrors {
		if w, ok := want[e]; ok && e.Code != w {
			t.Errorf("code %q, want %q", e.Code, w)
		}
		if seen[e.Code] {
			t.Errorf("duplicate code %q", e.Code)
		}
		seen[e.Code] = true
		if e.Message == "" {
			t.Errorf("%s has no message", e.Code)
		}
	}
	if m := chat.ErrNameInvalid.Message; m != "names are 1–24 characters of letters, digits, _ and -" {
		t.Errorf("name_invalid message = %q", m)
	}
}

func TestErrorIsMatchesByCode(t *testing.T) {
	copied := &chat.Error{Code: "name_taken", Message: "someone else's words"}
	if !errors.Is(copied, chat.ErrNameTaken) {
		t.Error("copy with the same code does not match")
	}
	if !errors.Is(chat.ErrNameTaken.WithMessage("Alice is taken"), chat.ErrNameTaken) {
		t.Error("WithMessage copy does not match")
	}
	if !errors.Is(fmt.Errorf("claim: %w", chat.ErrNameTaken), chat.ErrNameTaken) {
		t.Error("wrapped error does not match")
	}
	if errors.Is(chat.ErrNameTaken, chat.ErrNameInvalid) {
		t.Error("different codes match")
	}
	if errors.Is(errors.New("name_taken"), chat.ErrNameTaken) {
		t.Error("plain error matches")
	}
}

func TestAsError(t *testing.T) {
	if chat.AsError(nil) != nil {
		t.Error("AsError(nil) != nil")
	}
	if got := chat.AsError(fmt.Errorf("x: %w", chat.ErrNotInRoom)); got != chat.ErrNotInRoom {
		t.Errorf("wrapped: got %v", got)
	}
	if got := chat.AsError(context.DeadlineExceeded); got != chat.ErrInternal {
		t.Errorf("foreign error: got %v, want internal", got)
	}
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(chat.ErrRateLimited)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"code":"rate_limited","message":"you are sending messages too fast; slow down"}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
