package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
	"github.com/socketio-go/chatserver/handlers"
	"github.com/socketio-go/chatserver/store"
	"github.com/socketio-go/chatserver/templates"
)

// The pages state and check the chat's limits from chat/limits.go: on
// <html> for common.js, and in the inputs' maxlength.
func TestPagesCarryTheLimits(t *testing.T) {
	t.Parallel()
	tmpl, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.SetHTMLTemplate(tmpl)
	p := handlers.Pages{Chat: chat.NewService(store.NewMemoryNames(), store.NewMemoryPresence(), store.NewMemoryHistory()), ICEServers: "[]"}
	r.GET("/", p.Index)
	r.GET("/rooms/:room", p.Room)
	r.GET("/legacy/rooms/:room", p.LegacyRoom)
	onHTML := fmt.Sprintf(`data-name-max="%d" data-room-max="%d" data-text-max="%d"`, chat.MaxNameLen, chat.MaxRoomLen, chat.MaxTextLen)
	for path, want := range map[string][]string{
		"/":                   {onHTML, fmt.Sprintf("Names are 1&ndash;%d letters", chat.MaxNameLen), fmt.Sprintf("rooms are 1&ndash;%d lowercase", chat.MaxRoomLen)},
		"/rooms/lobby":        {onHTML, fmt.Sprintf(`id="message-input" type="text" maxlength="%d"`, chat.MaxTextLen), fmt.Sprintf(`id="player-url" type="url" maxlength="%d"`, chat.MaxURLLen)},
		"/legacy/rooms/lobby": {onHTML, fmt.Sprintf(`maxlength="%d"`, chat.MaxTextLen)},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, w.Code)
		}
		for _, s := range want {
			if !strings.Contains(w.Body.String(), s) {
				t.Errorf("%s: no %q in the page", path, s)
			}
		}
	}
}
