package realtime

import (
	"github.com/zishang520/socket.io/servers/socket/v3"
)

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
	if socket.NAMESPACE_RESERVED_EVENTS.Has(event) {
		panic("realtime: OnServerEvent: " + event + " is a reserved event name")
	}
	// The adapter hands server-side events to the namespace
	// (Namespace.OnServerSideEmit), which emits them to its listeners with
	// the answer callback, if any, as the last argument.
	n.nsp.On(event, func(args ...any) {
		in := append([]any(nil), args...)
		var ack Ack
		if k := len(in); k > 0 {
			if fn, ok := in[k-1].(socket.Ack); ok {
				in = in[:k-1]
				ack = func(out ...any) { fn(outgoing(out), nil) }
			}
		}
		for i, a := range in {
			in[i] = incoming(a)
		}
		go h(in, ack)
	})
}
