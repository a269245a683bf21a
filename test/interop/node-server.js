// A Node Socket.IO 4.8 server in the same Redis-adapter cluster as the Go
// nodes (@socket.io/redis-adapter, key "socket.io"), with a /chat namespace
// speaking enough of the chat protocol for the interoperability tests, in
// the payload shapes of the Go server (see README.md):
//
//   register {name}            -> ack {ok, id, name}
//   join {room}                -> ack {ok, room, history, members}; "joined" {room, user} to the room
//   leave {room}               -> ack {ok}; "left" {room, user} to the room
//   message {room, text, clientId} -> ack {ok, message}; "message" to the room
//   mousemove {room, x, y}     -> volatile "mousemove" {id, name, room, x, y} to the room
//   server-side "node-info"    -> answers {node, sockets}, as the Go nodes do
//
// It keeps no history and knows only its own members; message IDs come from
// the Go nodes' sequence in Redis (chat:msgseq) so they stay unique.
//
// In a test: const srv = await startNodeServer({redisUrl}); ...; await srv.close().
// By hand:   node test/interop/node-server.js redis://127.0.0.1:6379/0 [port]
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const MSG_SEQ_KEY = 'chat:msgseq'; // the Go nodes' message ID sequence

async function startNodeServer({ redisUrl, port = 0, host = '127.0.0.1', requestsTimeout = 5000 } = {}) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  const errors = [];
  for (const c of [pub, sub]) c.on('error', (e) => errors.push(e));
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout }) });
  const chat = io.of('/chat');
  const node = `node-${process.pid}`;

  chat.on('connection', (socket) => {
    const reply = (ack, v) => typeof ack === 'function' && ack(v);
    const fail = (ack, code, message) => reply(ack, { ok: false, error: { code, message } });
    const user = () => socket.data.user;

    socket.on('register', (p, ack) => {
      const name = p && typeof p.name === 'string' ? p.name.trim() : '';
      if (!name) return fail(ack, 'invalid_name', 'name required');
      socket.data.user = { id: socket.id, name };
      reply(ack, { ok: true, id: socket.id, name });
    });
    socket.on('join', (p, ack) => {
      const room = p && p.room;
      if (!user()) return fail(ack, 'not_registered', 'register first');
      if (typeof room !== 'string' || !room) return fail(ack, 'invalid_room', 'room required');
      if (!socket.rooms.has(room)) {
        socket.join(room);
        socket.to(room).emit('joined', { room, user: user() });
      }
      reply(ack, { ok: true, room, history: [], members: [user()] });
    });
    socket.on('leave', (p, ack) => {
      const room = p && p.room;
      if (!user() || !socket.rooms.has(room)) return fail(ack, 'not_member', 'not in that room');
      socket.leave(room);
      socket.to(room).emit('left', { room, user: user() });
      reply(ack, { ok: true });
    });
    socket.on('message', async (p, ack) => {
      const { room, text, clientId } = p || {};
      if (!user()) return fail(ack, 'not_registered', 'register first');
      if (!socket.rooms.has(room)) return fail(ack, 'not_member', 'not in that room');
      const message = { id: await pub.incr(MSG_SEQ_KEY), room, from: user(), text, ts: Date.now() };
      if (clientId) message.clientId = clientId;
      socket.to(room).emit('message', message);
      reply(ack, { ok: true, message });
    });
    socket.on('mousemove', (p) => {
      const { room, x, y } = p || {};
      if (!user() || !socket.rooms.has(room) || typeof x !== 'number' || typeof y !== 'number') return;
      socket.to(room).volatile.emit('mousemove', { id: user().id, name: user().name, room, x, y });
    });
    socket.on('disconnecting', () => {
      if (!user()) return;
      for (const room of socket.rooms) {
        if (room !== socket.id) socket.to(room).emit('left', { room, user: user() });
      }
    });
  });

  // Server-side events from the other servers of the cluster.
  chat.on('node-info', (ack) => typeof ack === 'function' && ack({ node, sockets: chat.sockets.size }));

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const url = `http://${host}:${httpServer.address().port}`;

  return {
    io,
    chat,
    node,
    url,
    errors,
    async close() {
      await new Promise((resolve) => io.close(() => resolve())); // closes the adapters too
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}

module.exports = { startNodeServer };

if (require.main === module) {
  const [redisUrl, port] = process.argv.slice(2);
  if (!redisUrl) {
    console.error('usage: node test/interop/node-server.js redis://127.0.0.1:6379/0 [port]');
    process.exit(2);
  }
  startNodeServer({ redisUrl, port: Number(port) || 0 }).then((srv) => {
    console.log(JSON.stringify({ ready: true, url: srv.url, node: srv.node }));
    const stop = () => srv.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}
