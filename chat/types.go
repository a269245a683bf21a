package chat

// User is a registered connection. ID is the connection (socket) ID, so two
// tabs of one person are two users with different names.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Message is a stored chat message. ID is assigned by History and increases
// across all rooms, so clients can order and de-duplicate by it.
type Message struct {
	ID       int64  `json:"id"`
	Room     string `json:"room"`
	From     User   `json:"from"`
	Text     string `json:"text"`
	TS       int64  `json:"ts"` // unix milliseconds
	ClientID string `json:"clientId,omitempty"`
}

// Cursor is an ephemeral mouse position in a room; X and Y are fractions of
// the shared canvas in [0,1] so clients with different sizes agree.
type Cursor struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Room string  `json:"room"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
}

// RoomInfo is one entry of the room list.
type RoomInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// Member is a user in a room's member list, with whether they are in the
// room's call.
type Member struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	InCall bool   `json:"inCall"`
}

// Player is a room's shared media player: at server time UpdatedAt (unix
// milliseconds) the media at URL was at Position seconds, playing or not,
// so while it plays the position advances with time. By is who changed it
// last.
type Player struct {
	Room      string  `json:"room"`
	URL       string  `json:"url"`
	Playing   bool    `json:"playing"`
	Position  float64 `json:"position"`
	UpdatedAt int64   `json:"updatedAt"`
	By        User    `json:"by"`
}

// PositionAt returns where the media is at server time nowMs: Position
// plus the time since UpdatedAt while playing (never less than Position, so
// a clock step backwards does not rewind it).
func (p Player) PositionAt(nowMs int64) float64 {
	if !p.Playing || nowMs <= p.UpdatedAt {
		return p.Position
	}
	return p.Position + float64(nowMs-p.UpdatedAt)/1000
}

// JoinResult is what a join returns. History and Members are never nil so
// they encode as [] rather than null; Player is nil (null) when nothing
// was loaded in the room.
type JoinResult struct {
	Room    string    `json:"room"`
	History []Message `json:"history"`
	Members []Member  `json:"members"`
	Player  *Player   `json:"player"`
	// AlreadyMember reports a repeated join, which the wiring must not
	// announce to the room again.
	AlreadyMember bool `json:"-"`
}
