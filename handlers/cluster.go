package handlers

import "github.com/socketio-go/chatserver/realtime"

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
