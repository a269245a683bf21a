package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/socketio-go/chatserver/chat"
)

// Client bundles the pages load (served by the realtime package).
const (
	ModernClientScript = "/socket.io/socket.io.min.js"
	LegacyClientScript = "/socket.io/socket.io.v2.js"
)

// DemoClip is the short clip the room's player offers for trying it out
// without a network (generated at build time by cmd/democlip).
const DemoClip = "/static/media/demo.wav"

// Pages renders the HTML pages from templates/.
type Pages struct {
	Chat *chat.Service
	// ICEServers is the JSON array of STUN/TURN servers the room page's
	// calls use ("[]": host candidates only).
	ICEServers string
}

// limits are the chat's limits as the pages state and check them; the
// templates write them into the text, the inputs' maxlength and <html>'s
// data-*-max attributes, which common.js reads.
type limits struct {
	Name int // chat.MaxNameLen
	Room int // chat.MaxRoomLen
	Text int // chat.MaxTextLen
	URL  int // chat.MaxURLLen (the player's link)
	// Typed is the maxlength of the name and room inputs. It is above Name
	// and Room on purpose: a name pasted too long is then explained by the
	// page ("at most 24 characters; ... has 30") instead of cut silently.
	Typed int
}

// pageLimits are the limits every page receives.
var pageLimits = limits{Name: chat.MaxNameLen, Room: chat.MaxRoomLen, Text: chat.MaxTextLen, URL: chat.MaxURLLen, Typed: 64}

// pageData is what every template receives.
type pageData struct {
	Title        string
	Room         string
	Legacy       bool
	ClientScript string
	Rooms        []chat.RoomInfo
	Error        string
	ICEServers   string
	DemoClip     string
}

// Limits are the same for every page (base.html puts them on <html>).
func (pageData) Limits() limits { return pageLimits }

// Index renders the start page: pick a name and a room.
func (p Pages) Index(c *gin.Context) {
	p.index(c, http.StatusOK, c.Query("room"), "")
}

func (p Pages) index(c *gin.Context, status int, room, errMsg string) {
	rooms, err := p.Chat.Rooms(c.Request.Context())
	if err != nil {
		rooms = nil
	}
	c.HTML(status, "index.html", pageData{Title: "Rooms", Room: room, Rooms: rooms, Error: errMsg})
}

// Room renders a room with the 4.x client (polling upgraded to WebSocket).
func (p Pages) Room(c *gin.Context) { p.room(c, false) }

// LegacyRoom renders a room with the 2.x client over long-polling only.
func (p Pages) LegacyRoom(c *gin.Context) { p.room(c, true) }

func (p Pages) room(c *gin.Context, legacy bool) {
	room, err := chat.ValidateRoom(c.Param("room"))
	if err != nil {
		p.index(c, http.StatusBadRequest, "", err.Error())
		return
	}
	script := ModernClientScript
	if legacy {
		script = LegacyClientScript
	}
	ice := p.ICEServers
	if ice == "" {
		ice = "[]"
	}
	c.HTML(http.StatusOK, "room.html", pageData{Title: room, Room: room, Legacy: legacy, ClientScript: script, ICEServers: ice, DemoClip: DemoClip})
}
