// Interoperability with Node: a Node socket.io 4.8 server with
// @socket.io/redis-adapter (test/interop/node-server.js, in this process),
// a @socket.io/redis-emitter and two Go nodes (the real binary, --redis) in
// one cluster on a throwaway redis-server. Real socket.io-client 4.x clients
// on every server.
//
// "Did not receive" is checked with a sentinel: a later broadcast that
// travels the same way (Redis delivers in publish order); the event must not
// come before it. No fixed sleeps: readiness is polled, every wait bounded.
//
// Needs redis-server on PATH (or REDIS_SERVER); skips without it unless
// CI=true. Run: node --test test/interop/
'use strict';
const { within, waitUntil, STEP } = require('../lib/wait');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const server = require('../lib/server');
const { startNodeServer } = require('./node-server');
const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');
const notepack = require('notepack.io');
const io4 = require('sio-client-4');
const proxy = require('../lib/proxy');

const REQUESTS_TIMEOUT = 3000; // the Node adapter's bound on cluster requests

const redisServer = require('../lib/redis');
const { haveRedis, REDIS_BIN } = redisServer;
const skip = !haveRedis && process.env.CI !== 'true' ? `${REDIS_BIN} is not installed` : false;




describe('Go and Node servers in one Redis-adapter cluster', { skip, timeout: 120000 }, () => {
  let redis;
  let goA;
  let goB;
  let nodeSrv;
  let emitterClient;
  let emitter;
  let wire; // a pattern subscriber reading broadcasts as Node's adapter does
  const wireMessages = [];
  const sockets = [];

  // client connects to /chat on url; register and join optionally.
  async function client(url, { name, rooms = [] } = {}) {
    const s = io4(url + '/chat', { forceNew: true, reconnection: false, transports: ['websocket'] });
    sockets.push(s);
    await within(
      new Promise((res, rej) => {
        s.once('connect', res);
        s.once('connect_error', rej);
      }),
      `connect to ${url}`,
    );
    s.inbox = [];
    s.waiters = [];
    s.onAny((event, ...args) => {
      // The Go nodes run with connection state recovery: their events end
      // with the recovery offset (a string), which socket.io-client passes
      // on to handlers. Kept apart, so the checks see the payload alone.
      let offset;
      if (s._pid && typeof args[args.length - 1] === 'string' && /^\d+$/.test(args[args.length - 1])) offset = args.pop();
      s.inbox.push({ event, args, offset });
      for (const w of [...s.waiters]) w();
    });
    if (name) {
      const r = await call(s, 'register', { name });
      assert.equal(r.ok, true, JSON.stringify(r));
      s.user = { id: r.id, name: r.name };
    }
    for (const room of rooms) {
      const j = await call(s, 'join', { room });
      assert.equal(j.ok, true, JSON.stringify(j));
    }
    return s;
  }

  function call(s, event, payload) {
    return within(new Promise((res) => s.emit(event, payload, res)), `ack of ${event}`);
  }

  // take resolves with the first unread event named event (and matching
  // pred), removing it from the inbox.
  function take(s, event, pred = () => true) {
    return within(
      new Promise((res) => {
        const check = () => {
          const i = s.inbox.findIndex((m) => m.event === event && pred(...m.args));
          if (i < 0) return;
          const [m] = s.inbox.splice(i, 1);
          s.waiters = s.waiters.filter((w) => w !== check);
          res(m.args);
        };
        s.waiters.push(check);
        check();
      }),
      `event ${event}`,
    );
  }

  // receivedBefore waits for the sentinel tag and returns the names of the
  // events received before it (other sentinels left out), consuming them.
  async function receivedBefore(s, tag) {
    const isTag = (m) => m.event === 'sentinel' && m.args[0] === tag;
    await within(
      new Promise((res) => {
        const check = () => {
          if (!s.inbox.some(isTag)) return;
          s.waiters = s.waiters.filter((w) => w !== check);
          res();
        };
        s.waiters.push(check);
        check();
      }),
      `sentinel ${tag}`,
    );
    const got = s.inbox.splice(0, s.inbox.findIndex(isTag) + 1);
    return got.filter((m) => m.event !== 'sentinel').map((m) => m.event);
  }

  let sentinels = 0;
  // sentinel broadcasts to all /chat clients, through Redis, after
  // everything published so far.
  function sentinel() {
    const tag = `s${++sentinels}`;
    emitter.emit('sentinel', tag);
    return tag;
  }

  before(async () => {
    if (!haveRedis) throw new Error(`${REDIS_BIN} is not installed (CI=true: not skipping)`);
    redis = await redisServer.start();
    [goA, goB] = await Promise.all([
      server.start({ args: ['--redis', redis.url] }),
      server.start({ args: ['--redis', redis.url] }),
    ]);
    nodeSrv = await startNodeServer({ redisUrl: redis.url, requestsTimeout: REQUESTS_TIMEOUT });
    emitterClient = createClient({ url: redis.url });
    emitterClient.on('error', () => {});
    await emitterClient.connect();
    emitter = new Emitter(emitterClient).of('/chat');
    wire = emitterClient.duplicate();
    wire.on('error', () => {});
    await wire.connect();
    await wire.pSubscribe('socket.io#/chat#*', (msg, channel) => wireMessages.push({ channel: channel.toString(), msg: notepack.decode(msg) }), true);
    // The Go nodes subscribe before /readyz; Node's adapter subscribes in
    // the background: wait until Redis counts the three servers.
    await waitUntil(async () => (await nodeSrv.chat.adapter.serverCount()) === 3, 'three servers on socket.io-request#/chat#');
  });

  after(async () => {
    for (const s of sockets) s.close();
    const steps = [
      nodeSrv && nodeSrv.close(),
      wire && wire.quit(),
      emitterClient && emitterClient.quit(),
      goA && goA.stop(),
      goB && goB.stop(),
    ];
    await Promise.allSettled(steps);
    if (redis) await redis.stop();
  });

  it('a Go client\'s message reaches Node clients in the room, and another Go node\'s, not outsiders', async () => {
    const nina = await client(nodeSrv.url, { name: 'nina', rooms: ['r1'] });
    const otto = await client(nodeSrv.url, { name: 'otto' });
    const bea = await client(goB.url, { name: 'bea', rooms: ['r1'] });
    const gopher = await client(goA.url, { name: 'gopher' });
    await call(gopher, 'join', { room: 'r1' });
    const [joined] = await take(nina, 'joined', (j) => j.user.name === 'gopher');
    assert.deepEqual(joined, { room: 'r1', user: gopher.user }, 'Go -> Node "joined"');

    const sent = await call(gopher, 'message', { room: 'r1', text: 'hello from Go', clientId: 'c-1' });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    assert.deepEqual(Object.keys(sent.message).sort(), ['clientId', 'from', 'id', 'room', 'text', 'ts']);
    for (const s of [nina, bea]) {
      const [m] = await take(s, 'message');
      assert.deepEqual(m, sent.message, 'the payload as the sender\'s ack has it, json names and all');
    }
    const tag = sentinel();
    assert.deepEqual(await receivedBefore(otto, tag), [], 'outsider received nothing');
  });

  it('a Node client\'s message reaches Go clients on both Go nodes', async () => {
    const gopher = await client(goA.url, { name: 'gopher2', rooms: ['r2'] });
    const bea = await client(goB.url, { name: 'bea2', rooms: ['r2'] });
    const gOut = await client(goA.url, { name: 'outsider2' });
    const nate = await client(nodeSrv.url, { name: 'nate' });
    await call(nate, 'join', { room: 'r2' });
    for (const s of [gopher, bea]) {
      const [joined] = await take(s, 'joined', (j) => j.user.name === 'nate');
      assert.deepEqual(joined, { room: 'r2', user: nate.user }, 'Node -> Go "joined"');
    }
    const sent = await call(nate, 'message', { room: 'r2', text: 'hello from Node', clientId: 'n-1' });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    for (const s of [gopher, bea]) {
      const [m] = await take(s, 'message');
      assert.deepEqual(m, sent.message);
    }
    const tag = sentinel();
    assert.deepEqual(await receivedBefore(gOut, tag), [], 'outsider received nothing');
  });

  it('Go broadcasts with rooms, except and volatile flags are understood by Node', async () => {
    const gopher = await client(goA.url, { name: 'gopher3', rooms: ['r3'] });
    const nina = await client(nodeSrv.url, { name: 'nina3', rooms: ['r3'] });
    // shadow is in r3 and in the room named after gopher's socket, which a
    // broadcast from gopher's socket excludes (except: [its id]).
    const shadow = await client(nodeSrv.url, { name: 'shadow3', rooms: ['r3', gopher.user.id] });
    const volatileWrites = [];
    const nodeSock = nodeSrv.chat.sockets.get(nina.id);
    const write = nodeSock.client.writeToEngine.bind(nodeSock.client);
    nodeSock.client.writeToEngine = (packets, opts) => {
      volatileWrites.push(opts && opts.volatile);
      return write(packets, opts);
    };
    await take(nina, 'joined', (j) => j.user.name === 'shadow3');
    await take(gopher, 'joined', (j) => j.user.name === 'shadow3');

    wireMessages.length = 0;
    const sent = await call(gopher, 'message', { room: 'r3', text: 'except me' });
    assert.deepEqual((await take(nina, 'message'))[0], sent.message);
    let tag = sentinel();
    assert.deepEqual(await receivedBefore(shadow, tag), [], 'except: [sender id] excluded the Node socket in that room');

    const onWire = wireMessages.find((m) => m.msg[1] && m.msg[1].data && m.msg[1].data[0] === 'message');
    assert.ok(onWire, 'the Go broadcast, as notepack decodes it');
    assert.equal(onWire.channel, 'socket.io#/chat#r3#');
    const [uid, packet, opts] = onWire.msg;
    assert.equal(typeof uid, 'string');
    assert.deepEqual(packet, { type: 2, nsp: '/chat', data: ['message', sent.message] });
    assert.deepEqual(opts, { rooms: ['r3'], except: [gopher.user.id], flags: {} });

    // Volatile: dropped by design when a client is not ready, so retry.
    wireMessages.length = 0;
    volatileWrites.length = 0;
    let cursor;
    await waitUntil(async () => {
      gopher.emit('mousemove', { room: 'r3', x: 0.25, y: 0.75 });
      cursor = nina.inbox.find((m) => m.event === 'mousemove');
      return cursor;
    }, 'a volatile mousemove from Go', STEP, 100);
    assert.deepEqual(cursor.args[0], { id: gopher.user.id, name: 'gopher3', room: 'r3', x: 0.25, y: 0.75 });
    const vol = wireMessages.find((m) => m.msg[1] && m.msg[1].data && m.msg[1].data[0] === 'mousemove');
    // A cursor move is a latest-value broadcast: marked volatile for Node's
    // servers, with the key Go servers use to keep only the newest value.
    assert.deepEqual(vol.msg[2], {
      rooms: ['r3'],
      except: [gopher.user.id],
      flags: { volatile: true, latest: `mousemove:r3:${gopher.user.id}` },
    });
    assert.ok(volatileWrites.includes(true), `Node wrote it as volatile (writes: ${JSON.stringify(volatileWrites)})`);
    tag = sentinel();
    assert.ok(!(await receivedBefore(shadow, tag)).includes('mousemove'), 'except applies to the volatile broadcast too');
  });

  it('binary from Node (server and emitter) reaches Go clients as binary', async () => {
    const gopher = await client(goA.url, { name: 'gopher4', rooms: ['r4'] });
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    nodeSrv.chat.to('r4').emit('blob', bytes, { label: 'x', inner: Buffer.from('hi') });
    const [b, meta] = await take(gopher, 'blob');
    assert.ok(Buffer.isBuffer(b), `got ${typeof b}`);
    assert.deepEqual(b, bytes);
    assert.equal(meta.label, 'x');
    assert.deepEqual(meta.inner, Buffer.from('hi'));
    emitter.to('r4').emit('emitted-blob', Buffer.from([9, 9]));
    const [e] = await take(gopher, 'emitted-blob');
    assert.deepEqual(e, Buffer.from([9, 9]));
  });

  it('@socket.io/redis-emitter reaches Go clients: to a room, to all, except', async () => {
    const inA = await client(goA.url, { name: 'inA', rooms: ['r5'] });
    const inB = await client(goB.url, { name: 'inB', rooms: ['r5'] });
    const outA = await client(goA.url, { name: 'outA' });

    emitter.to('r5').emit('notice', { n: 1, date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 60)) });
    for (const s of [inA, inB]) {
      const [n] = await take(s, 'notice');
      assert.deepEqual(n, { n: 1, date: '2024-01-02T03:04:05.060Z' }, 'as a Node client would get it');
    }
    let tag = sentinel();
    assert.deepEqual(await receivedBefore(outA, tag), [], 'to(room) left the outsider out');

    emitter.emit('to-all', 'everyone');
    for (const s of [inA, inB, outA]) assert.deepEqual(await take(s, 'to-all'), ['everyone']);

    emitter.to('r5').except(inB.user.id).emit('not-inB');
    assert.deepEqual(await take(inA, 'not-inB'), []);
    tag = sentinel();
    assert.deepEqual(await receivedBefore(inB, tag), [], 'except(socket id) left inB out');

    emitter.volatile.emit('volatile-all', 1); // may be dropped: only check it does not break anything
    tag = sentinel();
    await receivedBefore(inA, tag);
  });

  it('fetchSockets and allRooms from Node return the Go nodes\' sockets with their rooms', async () => {
    const fA = await client(goA.url, { name: 'fA', rooms: ['r6'] });
    const fB = await client(goB.url, { name: 'fB', rooms: ['r6', 'r6b'] });
    const fOut = await client(goA.url, { name: 'fOut' });
    const fN = await client(nodeSrv.url, { name: 'fN', rooms: ['r6'] });

    const all = await within(nodeSrv.chat.fetchSockets(), 'fetchSockets');
    const byId = new Map(all.map((s) => [s.id, s]));
    for (const s of [fA, fB, fOut, fN]) assert.ok(byId.has(s.user.id), `fetchSockets has ${s.user.name}`);
    assert.deepEqual([...byId.get(fB.user.id).rooms].sort(), [fB.user.id, 'r6', 'r6b'].sort());
    const hs = byId.get(fA.user.id).handshake;
    assert.equal(typeof hs.address, 'string');
    assert.equal(hs.headers.upgrade, 'websocket', 'headers as Node has them: lower-case names, string values');
    assert.equal(hs.query.transport, 'websocket');
    assert.deepEqual(byId.get(fA.user.id).data, {});

    const inRoom = await within(nodeSrv.chat.in('r6').fetchSockets(), 'fetchSockets in r6');
    assert.deepEqual(inRoom.map((s) => s.id).sort(), [fA.user.id, fB.user.id, fN.user.id].sort());

    // An answer with no socket must still complete the request (before the
    // adapter's requestsTimeout would reject it).
    const t0 = Date.now();
    const none = await within(nodeSrv.chat.in('no-such-room').fetchSockets(), 'fetchSockets of an empty room');
    assert.deepEqual(none, []);
    assert.ok(Date.now() - t0 < REQUESTS_TIMEOUT, `answered in ${Date.now() - t0}ms`);

    const rooms = await within(nodeSrv.chat.adapter.allRooms(), 'allRooms');
    for (const r of ['r6', 'r6b', fA.user.id, fOut.user.id]) assert.ok(rooms.has(r), `allRooms has ${r}`);
  });

  it('emitWithAck from Node collects Go clients\' acknowledgements (binary too)', async () => {
    const names = ['ackA', 'ackB', 'ackN'];
    const urls = [goA.url, goB.url, nodeSrv.url];
    const cs = await Promise.all(names.map((name, i) => client(urls[i], { name, rooms: ['r7'] })));
    cs.forEach((s, i) => s.on('ping', (n, ack) => ack({ from: names[i], n: n + 1, bin: Buffer.from([i]) }, 'second argument')));
    const responses = await within(nodeSrv.chat.to('r7').timeout(STEP - 1000).emitWithAck('ping', 41), 'emitWithAck');
    responses.sort((a, b) => a.from.localeCompare(b.from));
    assert.deepEqual(responses, names.map((from, i) => ({ from, n: 42, bin: Buffer.from([i]) })).sort((a, b) => a.from.localeCompare(b.from)));
  });

  it('serverSideEmitWithAck("node-info") from Node gets one answer per Go node', async () => {
    const counts = new Map();
    for (const g of [goA, goB]) {
      const res = await fetch(g.url + '/readyz');
      assert.equal(res.status, 200);
    }
    const responses = await within(nodeSrv.chat.serverSideEmitWithAck('node-info'), 'serverSideEmitWithAck', REQUESTS_TIMEOUT + 1000);
    assert.equal(responses.length, 2, JSON.stringify(responses));
    for (const r of responses) {
      assert.deepEqual(Object.keys(r).sort(), ['node', 'sockets'], JSON.stringify(r));
      assert.equal(typeof r.node, 'string');
      counts.set(r.node, r.sockets);
    }
    assert.equal(counts.size, 2, 'two distinct nodes');
    // Each node counts its own /chat sockets: compare with fetchSockets.
    const all = await nodeSrv.chat.fetchSockets();
    const local = nodeSrv.chat.sockets.size;
    assert.equal([...counts.values()].reduce((a, b) => a + b, 0), all.length - local, 'the Go nodes\' counts add up to their sockets');
  });

  it('a user away on one Go node takes the name back through another at once', async () => {
    // goA is reached through a proxy that plays the network.
    const net = await proxy.start(new URL(goA.url).port);
    try {
      const nomad = await client(net.url, { name: 'nomad', rooms: ['r9'] });
      const watcher = await client(goB.url, { name: 'watcher', rooms: ['r9'] });
      const away = take(watcher, 'away');
      net.cut();
      const [ev] = await away;
      assert.deepEqual(ev, { room: 'r9', user: nomad.user });

      // The same person, on a client that cannot recover, through goB.
      const again = await client(goB.url, { name: 'nomad', rooms: ['r9'] });
      assert.notEqual(again.user.id, nomad.user.id);
      const [left] = await take(watcher, 'left', (e) => e.user.id === nomad.user.id);
      assert.deepEqual(left, { room: 'r9', user: nomad.user }, 'the away self left, announced by its node');
    } finally {
      await net.close();
    }
  });
});
