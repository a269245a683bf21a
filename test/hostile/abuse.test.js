// Namespace and room abuse, floods and connection limits against the real
// binary, started with --max-sessions-per-address 20 and
// --max-pending-connections 10 so that both limits are reached cheaply.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const io4 = require('sio-client-4');
const server = require('../lib/server');
const { within, waitUntil } = require('../lib/wait');
const { call, connected } = require('../lib/events');
const h = require('./lib');

const EIO = '/socket.io/?EIO=4&transport=polling';
let srv;
let base;
const open = [];
test.before(async () => {
  srv = await server.start({ args: ['--max-sessions-per-address', '20', '--max-pending-connections', '10'] });
  await h.normalUser(srv.url);
  base = h.stats(srv.pid);
});
test.after(async () => {
  for (const s of open) s.close();
  if (srv) await srv.stop();
});

async function client(localAddress) {
  const s = io4(srv.url + '/chat', { forceNew: true, reconnection: false, transports: ['websocket'], localAddress });
  open.push(s);
  return connected(s);
}
async function user(name) {
  const s = await client();
  const r = await call(s, 'register', { name });
  assert.equal(r.ok, true, JSON.stringify(r));
  return s;
}
// closeAll closes the clients opened so far and waits until the server has
// let go of their sessions (its descriptors back to what they were).
async function closeAll() {
  for (const s of open.splice(0)) s.close();
  await waitUntil(() => h.stats(srv.pid).fds <= base.fds + 2, 'the closed clients\' descriptors to be released', 5000, 50);
}

test('CONNECTs to unknown namespaces get CONNECT_ERROR; the 33rd refused one closes the connection', async () => {
  const w = await h.wsOpen(srv.port);
  for (let i = 0; i < 32; i++) w.send(`40/no-such-${i},`);
  await w.wait((m) => m.startsWith('44/no-such-31,'), 'the 32nd CONNECT_ERROR');
  const errors = w.msgs.filter((m) => m.startsWith('44/'));
  assert.equal(errors.length, 32);
  assert.deepEqual(JSON.parse(errors[0].slice('44/no-such-0,'.length)), { message: 'Invalid namespace' });
  assert.ok(w.isOpen(), 'still open after 32 refused CONNECTs');
  // The connection still works: it can join /chat.
  w.send('40/chat,');
  await w.wait((m) => m.startsWith('40/chat,{'), 'CONNECT to /chat');
  w.send('40/no-such-32,');
  const c = await within(w.closed, 'close after the 33rd refused CONNECT');
  assert.equal(c.code, 1000);
  assert.ok(w.msgs.some((m) => m.startsWith('44/no-such-32,')), 'the 33rd still gets its CONNECT_ERROR first');
  await h.normalUser(srv.url);
});

test('rooms beyond 20, invalid rooms and names, and markup in names are refused', async () => {
  const s = await user('roomhog');
  for (let i = 0; i < 20; i++) {
    const j = await call(s, 'join', { room: `hog-${i}` });
    assert.equal(j.ok, true, JSON.stringify(j));
  }
  const over = await call(s, 'join', { room: 'hog-20' });
  assert.equal(over.ok, false);
  assert.equal(over.error.code, 'too_many_rooms');
  assert.ok(over.error.message.length > 0);
  // Leaving one makes room for another.
  assert.deepEqual(await call(s, 'leave', { room: 'hog-0' }), { ok: true });
  assert.equal((await call(s, 'join', { room: 'hog-20' })).ok, true);

  for (const room of ['', ' ', 'Lobby', 'a'.repeat(33), '<b>x</b>', '../etc', 'room/x', 'ro om', 'caf\u00e9', 'a\u0000b', 42, null, ['lobby']]) {
    const j = await call(s, 'join', { room });
    assert.equal(j.ok, false, `room ${JSON.stringify(room)}`);
    assert.equal(j.error.code, 'room_invalid', `room ${JSON.stringify(room)}`);
  }
  const n = await client();
  for (const name of ['', 'a'.repeat(25), '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '"><b>', 'a&amp;b',
    'with space', '\u0430dmin', 'a\u0000b', 'x\u202e', 42, null, { name: 'x' }]) {
    const r = await call(n, 'register', { name });
    assert.equal(r.ok, false, `name ${JSON.stringify(name)}`);
    assert.equal(r.error.code, 'name_invalid', `name ${JSON.stringify(name)}`);
  }
  await closeAll();
  await h.normalUser(srv.url);
});

test('messages beyond the rate are rate_limited and not stored', async (t) => {
  const room = 'flood-1';
  const s = await user('flooder');
  assert.equal((await call(s, 'join', { room })).ok, true);
  const t0 = Date.now();
  const acks = await within(Promise.all(Array.from({ length: 40 }, (_, i) => new Promise((res) => {
    s.emit('message', { room, text: `flood ${i}`, clientId: `f-${i}` }, res);
  }))), '40 acks');
  const elapsed = Date.now() - t0;
  const ok = acks.filter((a) => a.ok);
  const limited = acks.filter((a) => !a.ok);
  assert.ok(limited.every((a) => a.error.code === 'rate_limited'), JSON.stringify(limited.find((a) => a.error.code !== 'rate_limited')));
  // A burst of 10, and 5 more per second while the burst went on.
  const allowed = 10 + Math.ceil((elapsed / 1000) * 5);
  assert.ok(ok.length >= 10 && ok.length <= allowed, `${ok.length} stored of 40 in ${elapsed} ms (at most ${allowed})`);
  t.diagnostic(`40 messages at once: ${ok.length} stored, ${limited.length} rate_limited, in ${elapsed} ms`);
  const stored = (await (await fetch(`${srv.url}/api/rooms/${room}/messages`)).json()).messages;
  assert.deepEqual(stored.map((m) => m.id).sort(), ok.map((a) => a.message.id).sort(), 'exactly the acknowledged messages are stored');
  await closeAll();
  await h.normalUser(srv.url);
});

test('register attempts beyond 5 are rate_limited', async () => {
  await user('taken-name');
  const s = await client();
  const codes = [];
  for (let i = 0; i < 8; i++) codes.push((await call(s, 'register', { name: 'taken-name' })).error.code);
  assert.deepEqual(codes, ['name_taken', 'name_taken', 'name_taken', 'name_taken', 'name_taken', 'rate_limited', 'rate_limited', 'rate_limited']);
  await closeAll();
  await h.normalUser(srv.url);
});

test('unknown events get unknown_event; payloads that are not objects get bad_request', async () => {
  const s = await user('oddball');
  for (const ev of ['shutdown', 'admin', '__proto__', 'constructor', 'x'.repeat(500)]) {
    const r = await call(s, ev, {});
    assert.equal(r.ok, false, ev);
    assert.equal(r.error.code, 'unknown_event', ev);
  }
  for (const payload of ['lobby', 42, null, ['room'], true]) {
    const r = await call(s, 'join', payload);
    assert.equal(r.ok, false, JSON.stringify(payload));
    assert.equal(r.error.code, 'bad_request', JSON.stringify(payload));
  }
  const ping = await call(s, 'rtt', {});
  assert.equal(ping.ok, true, 'the connection is still served');
  await closeAll();
  await h.normalUser(srv.url);
});

test('the 21st session from one address gets 429 with Retry-After', async () => {
  // From an address of their own, so that no other test's sessions count.
  const addr = '127.0.0.3';
  for (let i = 0; i < 20; i++) await client(addr);
  const refused = { code: 4, message: 'Too many sessions from this address' };
  const poll = await h.raw(srv.port, h.get(srv.port, EIO), { localAddress: addr });
  h.expectJSON(poll, 429, refused, 'polling handshake');
  assert.equal(poll.headers['retry-after'], '5');
  const ws = await h.raw(srv.port, h.get(srv.port, '/socket.io/?EIO=4&transport=websocket', {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': 13,
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  }), { localAddress: addr });
  h.expectJSON(ws, 429, refused, 'websocket handshake');
  assert.equal(ws.headers['retry-after'], '5');
  // Another address is counted apart.
  const other = await h.raw(srv.port, h.get(srv.port, EIO), { localAddress: '127.0.0.2' });
  assert.equal(other.status, 200, 'another address is not refused');
  const sid = JSON.parse(other.body.slice(1)).sid;
  await h.raw(srv.port, h.post(srv.port, `${EIO}&sid=${sid}`, '1'), { localAddress: '127.0.0.2' });
  await closeAll();
  await h.normalUser(srv.url);
});

test('handshakes that never CONNECT: beyond --max-pending-connections the next gets 503 with Retry-After: 1', async () => {
  const sids = [];
  for (let i = 0; i < 10; i++) sids.push(await h.handshake(srv.port));
  const res = await h.raw(srv.port, h.get(srv.port, EIO));
  h.expectJSON(res, 503, { code: 4, message: 'Too many connections waiting to join a namespace' }, 'the 11th pending handshake');
  assert.equal(res.headers['retry-after'], '1');
  // One that joins a namespace is no longer pending: room for one more.
  assert.equal((await h.raw(srv.port, h.post(srv.port, `${EIO}&sid=${sids[0]}`, '40/chat,'))).status, 200);
  assert.match((await h.raw(srv.port, h.get(srv.port, `${EIO}&sid=${sids[0]}`))).body, /^40\/chat,\{/);
  sids.push(await h.handshake(srv.port));
  for (const sid of sids) await h.raw(srv.port, h.post(srv.port, `${EIO}&sid=${sid}`, '1'));
  await h.normalUser(srv.url);
});

test('memory and descriptors come back', async (t) => {
  await h.normalUser(srv.url);
  await h.settle(t, srv.pid, base);
});
