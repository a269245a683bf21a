package realtime

import (
	"context"

	"github.com/socketio-go/chatserver/realtime/internal/socketio"
)

// reservedServerEvents are the namespace's own event names, which no
// server-side event may use (as in Node).
var reservedServerEvents = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// OnServerEvent registers the handler for a server-side event: one that
// another Socket.IO server of the cluster (Go or Node, on the same Redis)
// sent with serverSideEmit, such as Node's
//
//	io.of("/chat").timeout(2000).serverSideEmitWithAck("node-info")
//
// args are JSON values. ack is nil unless the sender waits for an answer;
// then call it once: the first argument is the answer (Socket.IO servers
// answer a server-side event with one value; further arguments are not
// sent). The handler runs on its own goroutine. Without Options.Redis no
// server-side event ever arrives.
//
// event must not be one of the namespace's own events ("connect",
// "connection", "new_namespace"); OnServerEvent panics if it is.
func (n *Namespace) OnServerEvent(event string, h Handler) {
	if reservedServerEvents[event] {
		panic("realtime: OnServerEvent: " + event + " is a reserved event name")
	}
	n.nsp.OnServerSideEmit(event, func(args []any, ack socketio.AckFunc) {
		var a Ack
		if ack != nil {
			a = Ack(ack)
		}
		go h(args, a)
	})
}

// ServerEmitWithAck sends a server-side event to the other Socket.IO
// servers of the cluster (the counterpart of OnServerEvent) and returns
// their answers, one per server that answered before ctx ended; the error
// is ctx's when some did not. Without Options.Redis there is no other
// server: no answers, no error.
func (n *Namespace) ServerEmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	return n.nsp.ServerSideEmitWithAck(ctx, event, outgoing(args)...)
}
