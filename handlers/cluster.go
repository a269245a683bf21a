package handlers

import (
	"context"
	"time"

	"github.com/socketio-go/chatserver/realtime"
)

// NodeInfoEvent is the server-side event any server of the cluster (Go or
// Node, e.g. an operator's script with socket.io and the Redis adapter) can
// send to the chat namespace to see every node:
//
//	await io.of("/chat").timeout(2000).serverSideEmitWithAck("node-info")
//	// [{node: "host-x1y2...", sockets: 12}, ...], one answer per other server
const NodeInfoEvent = "node-info"

// nodeInfo is a node's answer to NodeInfoEvent.
type nodeInfo struct {
	Node    string `json:"node"`    // the node's ID, as in the presence keys in Redis
	Sockets int    `json:"sockets"` // sockets connected to the namespace on this node
}

// AttachNodeInfo answers NodeInfoEvent on nsp for this node.
func AttachNodeInfo(nsp *realtime.Namespace, node string) {
	nsp.OnServerEvent(NodeInfoEvent, func(_ []any, ack realtime.Ack) {
		if ack != nil {
			ack(nodeInfo{Node: node, Sockets: nsp.SocketCount()})
		}
	})
}

// ReclaimEvent asks the other nodes to end the session of a user whose
// connection dropped and who still holds a name (away, waiting for
// connection state recovery), because someone registers that name here:
// most often the same person, whose client came back through another node
// and could not recover. The answer is true from the node that freed it.
const ReclaimEvent = "chat:reclaim"

// reclaimWait bounds how long a registration waits for the other nodes'
// answers (a Node server of the cluster, which does not know the event,
// never answers).
const reclaimWait = 500 * time.Millisecond

// AttachReclaim answers ReclaimEvent on nsp for this node.
func (h ChatEvents) AttachReclaim(nsp *realtime.Namespace) {
	nsp.OnServerEvent(ReclaimEvent, func(args []any, ack realtime.Ack) {
		name, _ := firstString(args)
		ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
		defer cancel()
		freed := h.Chat.ReclaimAway(ctx, name)
		if ack != nil {
			ack(freed)
		}
	})
}

// reclaimElsewhere asks the other nodes to free name; it reports whether
// one did.
func reclaimElsewhere(ctx context.Context, nsp *realtime.Namespace, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, reclaimWait)
	defer cancel()
	answers, _ := nsp.ServerEmitWithAck(ctx, ReclaimEvent, name)
	for _, a := range answers {
		if a == true {
			return true
		}
	}
	return false
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}
