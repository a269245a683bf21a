// Package socketio is the project's Socket.IO protocol layer over its own
// Engine.IO (realtime/internal/engineio): protocol 5 (socket.io-client 3.x
// and 4.x) and protocol 4 (2.x).
//
// parser.go holds the packet codec: the text header (type, attachment
// count, namespace, ack id), the validation of each type's payload as Node's
// socket.io-parser does it, and binary attachments (binary.go), which travel
// as separate Engine.IO binary messages after the packet that names them.
package socketio
