package handlers

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
)

// API serves the JSON endpoints under /api.
type API struct {
	Chat *chat.Service
	Log  *slog.Logger // where failures of the server's own are logged
}

// Rooms answers GET /api/rooms: {"rooms":[{"name","members"}]}.
func (a API) Rooms(c *gin.Context) {
	rooms, err := a.Chat.Rooms(c.Request.Context())
	if err != nil {
		a.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"rooms": rooms})
}

// Messages answers GET /api/rooms/:room/messages?before=ID&limit=N:
// {"messages":[...]} oldest first, for paging back through history.
func (a API) Messages(c *gin.Context) {
	before, err := optionalInt(c.Query("before"))
	if err != nil {
		a.writeError(c, chat.ErrBadRequest.WithMessage("before must be a message id"))
		return
	}
	limit, err := optionalInt(c.Query("limit"))
	if err != nil {
		a.writeError(c, chat.ErrBadRequest.WithMessage("limit must be a number"))
		return
	}
	msgs, err := a.Chat.Messages(c.Request.Context(), c.Param("room"), before, int(limit))
	if err != nil {
		a.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"messages": msgs})
}

func optionalInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// writeError answers {"error":{"code","message"}} with the status that
// fits (see clientError and httpStatus).
func (a API) writeError(c *gin.Context, err error) {
	ce := clientError(a.Log, err, "method", c.Request.Method, "path", c.Request.URL.Path)
	c.JSON(httpStatus(ce), gin.H{"error": ce})
}
