// A Node socket.io 4.8 server with @socket.io/redis-adapter 8.x, and a
// @socket.io/redis-emitter 5.x, in the Redis cluster of interop_test.go,
// driven by the Go test over stdin/stdout, one JSON object per line:
//
//   in:  {"id": 1, "op": "emit", ...}       out: {"id": 1, "result": ...} or {"id": 1, "error": "..."}
//
// The first line out is {"ready": true, "url": ..., "uid": ...}. Binary
// travels as {"$bin": "<base64>"} both ways. Closing stdin stops it.
//
// Its /chat namespace: "join" (room, ack) joins and acks true; the
// server-side event "whoami" answers {node: "node", sockets}; "hello"
// (no ack) is recorded for the "serverEvents" op. It also reads every
// broadcast on socket.io#/chat#* as Node's adapter does (notepack) and
// keeps its raw bytes for the "wire" op.
//
// Usage: node node-peer.js redis://127.0.0.1:PORT
'use strict';
const http = require('node:http');
const readline = require('node:readline');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');
const notepack = require('notepack.io');

const REQUESTS_TIMEOUT = 3000;

function toJSON(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString('base64') };
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof Set) return [...v].map(toJSON);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, e] of Object.entries(v)) out[k] = toJSON(e);
    return out;
  }
  return v;
}

function fromJSON(v) {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v && typeof v === 'object') {
    if (typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    if (typeof v.$date === 'string') return new Date(v.$date);
    const out = {};
    for (const [k, e] of Object.entries(v)) out[k] = fromJSON(e);
    return out;
  }
  return v;
}

async function main() {
  const redisUrl = process.argv[2];
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  const emitterClient = pub.duplicate();
  const wire = pub.duplicate();
  for (const c of [pub, sub, emitterClient, wire]) c.on('error', (e) => process.stderr.write(`redis: ${e}\n`));
  await Promise.all([pub.connect(), sub.connect(), emitterClient.connect(), wire.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: REQUESTS_TIMEOUT }) });
  const chat = io.of('/chat');
  const emitter = new Emitter(emitterClient).of('/chat');

  chat.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(true);
    });
  });
  chat.on('whoami', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack({ node: 'node', sockets: chat.sockets.size, args: toJSON(args) });
  });
  const serverEvents = [];
  chat.on('hello', (...args) => serverEvents.push(toJSON(args)));

  const broadcasts = [];
  await wire.pSubscribe(
    'socket.io#/chat#*',
    (msg, channel) => broadcasts.push({ channel: channel.toString(), raw: msg, value: notepack.decode(msg) }),
    true,
  );

  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;

  const op = (b, p) => {
    let o = b.to(p.rooms || []);
    if (p.except && p.except.length) o = o.except(p.except);
    return o;
  };

  const ops = {
    async waitServers({ n }) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const count = await chat.adapter.serverCount();
        if (count === n) return count;
        if (Date.now() > deadline) throw new Error(`${count} servers, want ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    emit(p) {
      return op(chat, p).emit(p.event, ...fromJSON(p.args || []));
    },
    emitter(p) {
      return op(emitter, p).emit(p.event, ...fromJSON(p.args || []));
    },
    emitterJoin(p) {
      op(emitter, p).socketsJoin(p.join);
      return true;
    },
    async fetchSockets(p) {
      const list = await op(chat, p).fetchSockets();
      return list.map((s) => ({ id: s.id, rooms: [...s.rooms], data: toJSON(s.data), handshake: toJSON(s.handshake) }));
    },
    async allRooms() {
      return [...(await chat.adapter.allRooms())];
    },
    socketsJoin(p) {
      op(chat, p).socketsJoin(p.join);
      return true;
    },
    disconnectSockets(p) {
      op(chat, p).disconnectSockets(!!p.close);
      return true;
    },
    async serverSideEmitWithAck(p) {
      return toJSON(await chat.serverSideEmitWithAck(p.event, ...fromJSON(p.args || []))); // bounded by requestsTimeout
    },
    serverSideEmit(p) {
      return chat.serverSideEmit(p.event, ...fromJSON(p.args || []));
    },
    serverEvents() {
      return serverEvents.splice(0);
    },
    async emitWithAck(p) {
      return toJSON(await op(chat, p).timeout(p.timeout || REQUESTS_TIMEOUT).emitWithAck(p.event, ...fromJSON(p.args || [])));
    },
    socketRooms({ sid }) {
      const s = chat.sockets.get(sid);
      return s ? [...s.rooms] : null;
    },
    // wire: the first broadcast seen whose event is p.event, its raw bytes,
    // and notepack's encoding of what notepack decoded from them.
    wire(p) {
      const m = broadcasts.find((b) => b.value && b.value[1] && b.value[1].data && b.value[1].data[0] === p.event);
      if (!m) return null;
      return {
        channel: m.channel,
        raw: m.raw.toString('base64'),
        reencoded: notepack.encode(m.value).toString('base64'),
        value: toJSON(m.value),
      };
    },
  };

  const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  send({ ready: true, url, uid: chat.adapter.uid });

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      return send({ error: `bad line: ${line}` });
    }
    try {
      const fn = ops[req.op];
      if (!fn) throw new Error(`unknown op ${req.op}`);
      const result = await fn(req);
      send({ id: req.id, result: result === undefined ? null : result });
    } catch (e) {
      send({ id: req.id, error: String((e && e.message) || e) });
    }
  });
  rl.on('close', async () => {
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    await new Promise((resolve) => io.close(() => resolve()));
    await Promise.allSettled([pub.quit(), sub.quit(), emitterClient.quit(), wire.quit()]);
    process.exit(0);
  });
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
