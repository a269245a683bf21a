package admin

import (
	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// commands registers the UI's commands on an admin socket, with Socket.IO
// v4's arguments: a namespace, then what to do, then an optional filter
// (a room, or a socket's id) selecting the sockets, on every server of
// the cluster. Malformed arguments and unknown namespaces are ignored, as
// Node ignores them (the UI expects no answer).
func (a *Admin) commands(s *socketio.Socket) {
	s.On("emit", func(args []any, _ socketio.AckFunc) {
		if len(args) < 3 {
			return
		}
		op, ok := a.target(args[0], args[1])
		ev, isString := args[2].(string)
		if !ok || !isString || ev == "" {
			return
		}
		_ = op.Emit(ev, args[3:]...)
	})
	s.On("join", func(args []any, _ socketio.AckFunc) {
		if room, op, ok := a.roomCommand(args); ok {
			op.SocketsJoin(room)
		}
	})
	s.On("leave", func(args []any, _ socketio.AckFunc) {
		if room, op, ok := a.roomCommand(args); ok {
			op.SocketsLeave(room)
		}
	})
	s.On("_disconnect", func(args []any, _ socketio.AckFunc) {
		if len(args) < 2 {
			return
		}
		closeConn, isBool := args[1].(bool)
		var filter any
		if len(args) > 2 {
			filter = args[2]
		}
		if op, ok := a.target(args[0], filter); ok && isBool {
			op.DisconnectSockets(closeConn)
		}
	})
}

// roomCommand reads join's and leave's (nsp, room, filter).
func (a *Admin) roomCommand(args []any) (string, *socketio.BroadcastOperator, bool) {
	if len(args) < 2 {
		return "", nil, false
	}
	room, ok := args[1].(string)
	if !ok || room == "" {
		return "", nil, false
	}
	var filter any
	if len(args) > 2 {
		filter = args[2]
	}
	op, ok := a.target(args[0], filter)
	return room, op, ok
}

// target selects the sockets of an existing namespace, in the filter room
// when one is given (a string; null or absent: the whole namespace).
func (a *Admin) target(nspArg, filterArg any) (*socketio.BroadcastOperator, bool) {
	name, ok := nspArg.(string)
	if !ok {
		return nil, false
	}
	n := a.io.Lookup(name)
	if n == nil {
		return nil, false
	}
	switch f := filterArg.(type) {
	case nil:
		return n.Broadcast(), true
	case string:
		if f == "" {
			return n.Broadcast(), true
		}
		return n.To(f), true
	}
	return nil, false
}
