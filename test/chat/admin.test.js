// The Socket.IO Admin UI's server side, driven as the UI drives it (a real
// socket.io-client 4.x on the /admin namespace, the events and commands of
// @socket.io/admin-ui 0.5): login, the socket listing, live reports of
// sockets and rooms, the commands, read-only and development modes, and two
// nodes on one redis-server answering for each other's sockets.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const server = require('../lib/server');
const redisServer = require('../lib/redis');
const { call, next, connected, client, user } = require('../lib/events');
const { within } = require('../lib/wait');
const io = require('sio-client-4');

const PASSWORD = 'correct horse battery staple';
const HASH = execFileSync(server.BIN, ['hash-password'], { input: PASSWORD + '\n' }).toString().trim();
const adminArgs = (...more) => ['--admin-user', 'ops', '--admin-password-hash', HASH, ...more];

// admin connects as the UI does and resolves once connected, with the first
// config, session and all_sockets events it got (listeners are on before
// the CONNECT, so none is missed).
function admin(url, auth) {
  const s = io(url + '/admin', { forceNew: true, reconnection: false, auth });
  const seen = {
    config: new Promise((res) => s.once('config', res)),
    session: new Promise((res) => s.once('session', res)),
    allSockets: new Promise((res) => s.once('all_sockets', res)),
  };
  return connected(s, 'admin connect').then(() => ({ s, ...seen }));
}

// member is a chat user registered as name and in room.
const member = (url, name, room) => user(url, name, room);

test('admin UI: off unless configured', async () => {
  const srv = await server.start();
  try {
    const err = await within(new Promise((res) => {
      const s = io(srv.url + '/admin', { forceNew: true, reconnection: false, auth: { username: 'ops', password: PASSWORD } });
      s.once('connect_error', (e) => { s.close(); res(e); });
      s.once('connect', () => { s.close(); res(null); });
    }), 'refusal');
    assert.equal(err && err.message, 'Invalid namespace');
    assert.equal((await fetch(srv.url + '/admin/')).status, 404);
  } finally {
    await srv.stop();
  }
});

test('admin UI: login, listing, live reports and commands', async () => {
  const srv = await server.start({ args: adminArgs() });
  const open = [];
  try {
    // The UI's files are served, with their own CSP.
    const page = await fetch(srv.url + '/admin/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Socket\.IO Admin UI/);
    assert.match(page.headers.get('content-security-policy'), /script-src 'self';/);

    for (const auth of [{ username: 'ops', password: 'wrong' }, { username: 'root', password: PASSWORD }, {}, { sessionId: 'made-up' }]) {
      await assert.rejects(admin(srv.url, auth), { message: 'invalid credentials' }, JSON.stringify(auth));
    }

    const early = await member(srv.url, 'early', 'lobby');
    open.push(early);
    const a = await admin(srv.url, { username: 'ops', password: PASSWORD });
    open.push(a.s);
    const sessionId = await a.session;
    assert.match(sessionId, /^[0-9a-f]{16}$/);
    const { supportedFeatures } = await a.config;
    assert.deepEqual(supportedFeatures, ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS']);

    const listed = (await a.allSockets).find((x) => x.id === early.id);
    assert.ok(listed, 'the chat socket is listed');
    assert.equal(listed.nsp, '/chat');
    assert.equal(listed.transport, 'websocket');
    assert.equal(listed.clientId, early.io.engine.id.slice(0, 12));
    assert.ok(listed.rooms.includes(early.id) && listed.rooms.length >= 2, `rooms ${listed.rooms}`);
    assert.equal(listed.handshake.address, '127.0.0.1');
    const self = (await a.allSockets).find((x) => x.nsp === '/admin');
    assert.ok(self && !('auth' in self.handshake), 'the admin socket is listed, without its credentials');

    const stats = await next(a.s, 'server_stats', (st) => st.namespaces.some((n) => n.name === '/chat' && n.socketsCount >= 1));
    assert.ok(stats.serverId && stats.pid > 0 && stats.uptime >= 0);
    assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
    assert.ok(Array.isArray(stats.aggregatedEvents));

    // A new chat user appears, with its rooms.
    const connected = next(a.s, 'socket_connected', (x) => x.nsp === '/chat' && x.transport === 'polling');
    const late = await client(srv.url, { transports: ['polling'] });
    open.push(late);
    assert.equal((await connected).id, late.id);
    const joined = new Promise((res) => a.s.on('room_joined', (nsp, room, id) => nsp === '/chat' && id === late.id && res(room)));
    assert.equal((await call(late, 'register', { name: 'late' })).ok, true);
    assert.equal((await call(late, 'join', { room: 'lobby' })).ok, true);
    assert.ok(await within(joined, 'room_joined'));

    // Commands: make it join a room, then disconnect it.
    const made = new Promise((res) => a.s.on('room_joined', (nsp, room, id) => room === 'ops-room' && id === late.id && res()));
    a.s.emit('join', '/chat', 'ops-room', late.id);
    await within(made, 'room_joined after the join command');
    // The id is kept: the client forgets its own once disconnected, which
    // may be before the report arrives.
    const lateId = late.id;
    const gone = next(a.s, 'socket_disconnected', (nsp, id) => id === lateId);
    const reason = within(new Promise((res) => late.once('disconnect', res)), 'disconnect of the chat client');
    a.s.emit('_disconnect', '/chat', false, lateId);
    assert.equal(await reason, 'io server disconnect');
    await gone;
    assert.equal(early.connected, true, 'only the selected socket went');

    // Malformed commands are ignored; the admin stays connected.
    a.s.emit('_disconnect', 42, 'yes', {});
    a.s.emit('join', '/no-such-namespace', 'x');
    // A report counts them among the packets and bytes received (the next
    // one, or the one after if a report was on its way as they were sent).
    const kinds = (st) => st.aggregatedEvents.filter((e) => e.count > 0).map((e) => e.type);
    await next(a.s, 'server_stats', (st) => ['packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'].every((k) => kinds(st).includes(k)));
    assert.equal(a.s.connected, true);
    assert.equal(early.connected, true);

    // The session id logs in again without the password.
    const again = await admin(srv.url, { sessionId });
    open.push(again.s);
    assert.ok((await again.config).supportedFeatures.includes('EMIT'));
  } finally {
    open.forEach((s) => s.close());
    await srv.stop();
  }
});

test('admin UI: read-only offers no command, events mode reports events', async () => {
  const ro = await server.start({ args: adminArgs('--admin-readonly') });
  const ev = await server.start({ args: adminArgs('--admin-events') });
  const open = [];
  try {
    const a = await admin(ro.url, { username: 'ops', password: PASSWORD });
    open.push(a.s);
    assert.deepEqual((await a.config).supportedFeatures, ['AGGREGATED_EVENTS', 'ALL_EVENTS']);
    const u = await member(ro.url, 'watched', 'lobby');
    open.push(u);
    a.s.emit('_disconnect', '/chat', false, u.id);
    a.s.emit('join', '/chat', 'ops-room', u.id);
    // The commands are ignored: nothing joins, nothing goes, while reports
    // keep coming.
    let moved = false;
    a.s.on('room_joined', (nsp, room) => { if (room === 'ops-room') moved = true; });
    a.s.on('socket_disconnected', (nsp, id) => { if (id === u.id) moved = true; });
    await next(a.s, 'server_stats');
    assert.equal(moved, false);
    assert.equal((await call(u, 'rtt', {})).ok, true);

    const b = await admin(ev.url, { username: 'ops', password: PASSWORD });
    open.push(b.s);
    const x = await member(ev.url, 'sender', 'lobby');
    const y = await member(ev.url, 'receiver', 'lobby');
    open.push(x, y);
    const received = new Promise((res) => b.s.on('event_received', (nsp, id, args) => id === x.id && args[0] === 'message' && res(args)));
    const sent = new Promise((res) => b.s.on('event_sent', (nsp, id, args) => id === y.id && args[0] === 'message' && res(args)));
    assert.equal((await call(x, 'message', { room: 'lobby', text: 'seen by ops', clientId: 'c1' })).ok, true);
    assert.equal((await within(received, 'event_received'))[1].text, 'seen by ops');
    assert.equal((await within(sent, 'event_sent'))[1].text, 'seen by ops');
  } finally {
    open.forEach((s) => s.close());
    await ro.stop();
    await ev.stop();
  }
});

const noRedis = redisServer.haveRedis ? false : "no redis-server: install Debian's redis-server package (the cluster case needs a real Redis)";

test('admin UI: every node of a cluster answers for its own sockets', { skip: noRedis }, async () => {
  const redis = await redisServer.start();
  const args = adminArgs('--redis', `redis://127.0.0.1:${redis.port}`);
  const n1 = await server.start({ args });
  const n2 = await server.start({ args });
  const open = [];
  try {
    const a = await admin(n1.url, { username: 'ops', password: PASSWORD });
    open.push(a.s);
    // Both nodes' stats reach the admin on node 1.
    const servers = new Set();
    await within(new Promise((res) => a.s.on('server_stats', (st) => {
      servers.add(st.serverId);
      if (servers.size === 2) res();
    })), 'server_stats of both nodes');

    // A user on node 2 is reported to the admin on node 1.
    const connected = next(a.s, 'socket_connected', (x) => x.nsp === '/chat');
    const far = await member(n2.url, 'far', 'lobby');
    open.push(far);
    assert.equal((await connected).id, far.id);

    // A fresh login on node 1 lists it, with what only node 2 knows.
    const b = await admin(n1.url, { username: 'ops', password: PASSWORD });
    open.push(b.s);
    const listed = (await b.allSockets).find((x) => x.id === far.id);
    assert.ok(listed, 'node 2 socket listed on node 1');
    assert.equal(listed.transport, 'websocket');
    assert.equal(listed.clientId, far.io.engine.id.slice(0, 12));
    assert.ok(listed.rooms.length >= 2);

    // Node 1's command disconnects node 2's socket.
    const reason = within(new Promise((res) => far.once('disconnect', res)), 'disconnect on node 2');
    b.s.emit('_disconnect', '/chat', false, far.id);
    assert.equal(await reason, 'io server disconnect');

    // The login is shared: node 2 takes node 1's session id.
    const c = await admin(n2.url, { sessionId: await b.session });
    open.push(c.s);
    assert.ok((await c.config).supportedFeatures.includes('DISCONNECT'));
  } finally {
    open.forEach((s) => s.close());
    await n1.stop();
    await n2.stop();
    await redis.stop();
  }
});
