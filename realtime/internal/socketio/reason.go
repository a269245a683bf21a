package socketio

// Disconnect reasons of a socket, as Node's socket.io names them. Those of
// the transport come from engineio.Reason.String().
const (
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonForcedServerClose         = "forced server close"
)
