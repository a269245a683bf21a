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

// JoinResult is what a join returns. History and Members are never nil so
// they encode as [] rather than null.
type JoinResult struct {
	Room    string    `json:"room"`
	History []Message `json:"history"`
	Members []User    `json:"members"`
	// AlreadyMember reports a repeated join, which the wiring must not
	// announce to the room again.
	AlreadyMember bool `json:"-"`
}
