#!/usr/bin/env node
// The reference server of the benchmarks: Node's socket.io 4.8 (from the
// repository's node_modules) serving the same /chat event protocol as the Go
// server (handlers/events.go and chat/), with the same ack and broadcast
// shapes, validation order, error codes and messages, and limits. It exists
// only to be measured against; it is not part of the product.
//
// What it keeps like the Go server:
//   - Engine.IO v4 and v3 (allowEIO3), WebSocket and polling, the same
//     heartbeat (25 s / 20 s), connect timeout (45 s) and max payload (1 MiB);
//   - register: trimmed name, 1-24 of [A-Za-z0-9_-], unique ignoring case,
//     repeatable with the same name, already_registered with another;
//   - join: room 1-32 of [a-z0-9-], at most 20 rooms per connection,
//     {ok, room, history (last 100, oldest first), members [{id,name}] sorted
//     by name then id}, "joined" to the others unless already a member;
//   - leave, with "left" to the others;
//   - message: clientId <= 64 characters, text trimmed 1-2000 characters,
//     membership, token bucket 5/s burst 10, global increasing ids, history
//     kept in memory (1000 per room, as chat.HistoryRetention), "message" to
//     the others and {ok, message} to the sender;
//   - mousemove: x, y numbers in [0,1], registered, member of the room, token
//     bucket 30/s burst 5, relayed volatile to the others as {id,name,room,x,y};
//   - rtt: {ok, ts}; unknown events with an ack: unknown_event; a first
//     argument that is not an object: bad_request;
//   - disconnect: leaves every room ("left" to each), frees the name.
//
// What differs, by nature: history lives in memory here, while the Go server
// (single node) keeps it in bbolt on disk (one fsync per batch of appends).
//
// Usage: node bench/reference/server.js [--port 3100] [--host 127.0.0.1]
// (or PORT and HOST in the environment). GET /healthz answers 200.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { attachChat, ioOptions, sioVersion, flag } = require('./chat');

const PORT = Number(flag('port', 'PORT', '3100'));
const HOST = flag('host', 'HOST', '127.0.0.1');

const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, { ...ioOptions, allowEIO3: true });
attachChat(io);

httpServer.listen(PORT, HOST, () => {
  console.log(`reference socket.io ${sioVersion()} on http://${HOST}:${PORT} (pid ${process.pid})`);
});

function shutdown() {
  io.close();
  httpServer.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
