package engineio

// Reason says why a session closed. Its String is the reason Socket.IO
// reports for it ("transport close", "ping timeout", ...), so the layer
// above can pass it on unchanged.
type Reason uint8

const (
	// ReasonTransportClose: the client closed the connection or sent a close
	// packet.
	ReasonTransportClose Reason = iota + 1
	// ReasonTransportError: the connection failed (read or write error,
	// overlapping poll requests, a poll abandoned mid-request).
	ReasonTransportError
	// ReasonParseError: the client sent something that is not Engine.IO.
	ReasonParseError
	// ReasonPingTimeout: the heartbeat went unanswered.
	ReasonPingTimeout
	// ReasonForcedClose: the server closed the session (Session.Close).
	ReasonForcedClose
	// ReasonServerShutdown: Server.Close.
	ReasonServerShutdown
	// ReasonSlowClient: the session's write queue went over its byte cap.
	// Socket.IO has no name of its own for it and reports "transport error".
	ReasonSlowClient
)

func (r Reason) String() string {
	switch r {
	case ReasonTransportClose:
		return "transport close"
	case ReasonTransportError, ReasonSlowClient:
		return "transport error"
	case ReasonParseError:
		return "parse error"
	case ReasonPingTimeout:
		return "ping timeout"
	case ReasonForcedClose:
		return "forced close"
	case ReasonServerShutdown:
		return "server shutting down"
	}
	return "unknown"
}
