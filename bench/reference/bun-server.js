// The benchmark's Bun reference: the same /chat protocol as server.js
// (bench/reference/chat.js), on socket.io 4.8 with @socket.io/bun-engine,
// served by Bun's own HTTP and WebSocket server: the fastest stock
// Socket.IO server a user can pick. Engine.IO v4 only (socket.io-client 3.x
// and later). It exists only to be measured against.
//
// Usage: node_modules/.bin/bun bench/reference/bun-server.js [--port 3100]
// [--host 127.0.0.1] (or PORT and HOST). GET /healthz answers 200.
'use strict';

const { Server } = require('socket.io');
const { Server: Engine } = require('@socket.io/bun-engine');
const { attachChat, ioOptions, sioVersion, flag } = require('./chat');

const PORT = Number(flag('port', 'PORT', '3100'));
const HOST = flag('host', 'HOST', '127.0.0.1');

const io = new Server({ ...ioOptions });
const engine = new Engine({
  path: '/socket.io/',
  pingInterval: ioOptions.pingInterval,
  pingTimeout: ioOptions.pingTimeout,
  maxHttpBufferSize: ioOptions.maxHttpBufferSize,
});
io.bind(engine);
attachChat(io);

const { fetch, websocket } = engine.handler();
const server = Bun.serve({
  port: PORT,
  hostname: HOST,
  idleTimeout: 30, // seconds; above the 25 s ping interval, as Bun's docs advise
  websocket,
  fetch(req, srv) {
    const { pathname } = new URL(req.url);
    if (pathname === '/healthz' || pathname === '/readyz') return new Response('ok\n');
    return fetch(req, srv);
  },
});
console.log(`reference socket.io ${sioVersion()} on @socket.io/bun-engine, Bun ${Bun.version}, http://${HOST}:${server.port} (pid ${process.pid})`);

function shutdown() {
  io.close();
  server.stop(true);
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
