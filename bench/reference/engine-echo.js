#!/usr/bin/env node
// The Node reference for the Engine.IO-only benchmark (bench/engine-idle.sh):
// Node's engine.io server (from the repository's node_modules, the one
// socket.io depends on) alone, sending every message back to its sender, the
// counterpart of `go run ./cmd/conformance -engine`. Path /engine.io/,
// pingInterval 25 s, pingTimeout 20 s, allowEIO3, maxHttpBufferSize 1e6;
// permessage-deflate off (engine.io's default). It exists only to be measured
// against; it is not part of the product.
//
// Usage: node bench/reference/engine-echo.js [--port 3300] [--host 127.0.0.1]
// (or PORT and HOST in the environment). Anything outside /engine.io/ gets 404.
'use strict';

const http = require('node:http');
const engine = require('engine.io');

const { flag } = require('./chat');

const PORT = Number(flag('port', 'PORT', '3300'));
const HOST = flag('host', 'HOST', '127.0.0.1');

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});

const server = engine.attach(httpServer, {
  path: '/engine.io/',
  pingInterval: 25000,
  pingTimeout: 20000,
  allowEIO3: true,
  maxHttpBufferSize: 1e6,
});

server.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

httpServer.listen(PORT, HOST, () => {
  console.log(`engine.io echo server listening on http://${HOST}:${PORT}/engine.io/`);
});

function shutdown() {
  server.close(); // closes every session
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
