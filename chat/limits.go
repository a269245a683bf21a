package chat

// Limits of the chat product. They are constants rather than configuration
// because clients and documentation rely on them; change them here only.
const (
	// MaxNameLen bounds user names so they fit in member lists and message
	// headers without truncation.
	MaxNameLen = 24

	// MaxRoomLen bounds room names; they appear in URLs and storage keys.
	MaxRoomLen = 32

	// MaxTextLen is the longest message in runes (not bytes), so that
	// non-Latin scripts get the same allowance as ASCII.
	MaxTextLen = 2000

	// MaxClientIDLen bounds the client-chosen correlation ID echoed back in
	// the stored message; it is only for matching optimistic UI entries.
	MaxClientIDLen = 64

	// PostedRemembered is how many of a connection's recent messages are
	// remembered by clientId, so that one sent again because its ack was
	// lost with the connection is answered with the stored copy instead of
	// being stored twice.
	PostedRemembered = 32

	// HistoryOnJoin is how many recent messages a join returns, enough to
	// fill a screen without making the join ack large.
	HistoryOnJoin = 100

	// HistoryRetention is how many messages each room keeps; older ones are
	// pruned on append so storage stays bounded per room.
	HistoryRetention = 1000

	// MaxPageSize caps one page of the history API.
	MaxPageSize = 100

	// MaxRoomsPerUser caps the rooms one connection may be in, which bounds
	// the fan-out and the cleanup work on disconnect.
	MaxRoomsPerUser = 20

	// MessageRate is the sustained messages per second per user and
	// MessageBurst the number that may be sent back to back, so a quick
	// paste of a few lines works while flooding does not.
	MessageRate  = 5
	MessageBurst = 10

	// CursorRate is the sustained mouse-move events per second per user.
	// CursorBurst is kept small so that even right after an idle period a
	// client cannot exceed the rate by much; cursors are ephemeral and
	// dropped, never queued, so a small burst costs nothing visible.
	CursorRate  = 30
	CursorBurst = 5

	// RegisterRate is the sustained register attempts per second per
	// connection and RegisterBurst how many may come back to back: enough
	// to retry a few taken names by hand, too few to probe the names in
	// use (each attempt asks the names backend, Redis in a cluster).
	RegisterRate  = 1
	RegisterBurst = 5

	// PlayerRate and PlayerBurst bound a user's player actions (load, play,
	// pause, seek) like messages: each is one broadcast to the room.
	PlayerRate  = 5
	PlayerBurst = 10

	// MaxURLLen bounds the media URL a player loads, in characters.
	MaxURLLen = 2048

	// SignalRate and SignalBurst bound a user's WebRTC signalling messages.
	// They are generous because ICE candidates come in bursts: a few dozen
	// per peer right after an offer, for up to MaxInCall-1 peers at once.
	SignalRate  = 50
	SignalBurst = 200

	// MaxSignalBytes bounds one signalling message's data, JSON-encoded: an
	// SDP offer with several media sections is a few KiB.
	MaxSignalBytes = 64 << 10

	// SignalByteRate and SignalByteBurst bound the bytes of a user's
	// signalling data: offers and answers to five peers and their
	// candidates fit in the burst many times over, while a stream of
	// maximal messages (which, like every event, are kept for a while for
	// connection state recovery) is cut to SignalByteRate.
	SignalByteRate  = 64 << 10
	SignalByteBurst = 256 << 10

	// MaxInCall is the most members one room's call holds: every member
	// sends their media to every other one (a full mesh), which a browser's
	// uplink carries for a handful of peers.
	MaxInCall = 6

	// CallRate and CallBurst bound joining and leaving a call.
	CallRate  = 1
	CallBurst = 5
)
