// The /chat event protocol, driven by real socket.io-client 4.x and 2.x
// against the real server binary.
'use strict';
const { within } = require('../lib/wait');
const { call, next, client, user } = require('../lib/events');
const test = require('node:test');
const assert = require('node:assert/strict');
const server = require('../lib/server');


let srv;
const sockets = [];
test.before(async () => {
  srv = await server.start();
});
test.after(async () => {
  for (const s of sockets) s.close();
  if (srv) await srv.stop();
});
const track = (s) => (sockets.push(s), s);

test('register validates names and keeps them unique ignoring case', async () => {
  const a = track(await client(srv.url));
  for (const bad of ['', 'a'.repeat(25), '<img src=x onerror=alert(1)>', 'with space', 'é']) {
    const r = await call(a, 'register', { name: bad });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'name_invalid', `name ${JSON.stringify(bad)}`);
    assert.ok(r.error.message.length > 0);
  }
  assert.equal((await call(a, 'join', { room: 'lobby' })).error.code, 'not_registered');
  assert.equal((await call(a, 'message', { room: 'lobby', text: 'hi' })).error.code, 'not_registered');
  const ok = await call(a, 'register', { name: 'Alice_1' });
  assert.deepEqual(Object.keys(ok).sort(), ['id', 'name', 'ok']);
  assert.equal(ok.name, 'Alice_1');

  const b = track(await client(srv.url));
  const taken = await call(b, 'register', { name: 'alice_1' });
  assert.equal(taken.ok, false);
  assert.equal(taken.error.code, 'name_taken');

  // The name is free again once its owner is gone.
  a.close();
  const freed = await within((async () => {
    for (;;) {
      const r = await call(b, 'register', { name: 'ALICE_1' });
      if (r.ok) return r;
      await new Promise((res) => setTimeout(res, 20)); // the server sees the close asynchronously
    }
  })(), 'name to be freed');
  assert.equal(freed.name, 'ALICE_1');
});

test('join, message, leave between a 4.x websocket user and a 2.x polling user', async () => {
  const room = 'proto-1';
  const a = track(await user(srv.url, 'ann', room, { transports: ['websocket'] }));
  assert.deepEqual(a.joinReply.members.map((m) => m.name), ['ann']);
  assert.deepEqual(a.joinReply.history, []);

  const joined = next(a, 'joined');
  const b = track(await user(srv.url, 'bob', room, { gen: 2, transports: ['polling'] }));
  assert.deepEqual(await joined, { room, user: b.me });
  assert.deepEqual(b.joinReply.members.map((m) => m.name).sort(), ['ann', 'bob']);

  // The sender gets the stored copy in its ack and not the broadcast.
  let echoed = false;
  a.on('message', () => (echoed = true));
  const got = next(b, 'message');
  const ack = await call(a, 'message', { room, text: '  hello <b>bob</b>  ', clientId: 'c-1' });
  assert.equal(ack.ok, true);
  assert.equal(ack.message.text, 'hello <b>bob</b>');
  assert.equal(ack.message.clientId, 'c-1');
  assert.deepEqual(ack.message.from, a.me);
  assert.ok(Number.isInteger(ack.message.id) && ack.message.ts > 0);
  assert.deepEqual(await got, ack.message);

  const back = next(a, 'message');
  const ack2 = await call(b, 'message', { room, text: 'hi ann', clientId: 'c-2' });
  assert.deepEqual(await back, ack2.message);
  assert.equal(echoed, true); // only bob's message reached ann
  assert.ok(ack2.message.id > ack.message.id);

  // A lone surrogate reaches the server as U+FFFD, like invalid UTF-8 bytes.
  for (const [text, code] of [['   ', 'text_invalid'], ['x'.repeat(2001), 'text_invalid'], ['a\ud800b', 'text_invalid']]) {
    assert.equal((await call(a, 'message', { room, text })).error.code, code);
  }
  assert.equal((await call(a, 'message', { room: 'elsewhere', text: 'x' })).error.code, 'not_in_room');
  assert.equal((await call(a, 'join', { room: 'Bad Room' })).error.code, 'room_invalid');

  const left = next(b, 'left');
  assert.deepEqual(await call(a, 'leave', { room }), { ok: true });
  assert.deepEqual(await left, { room, user: a.me });
  assert.equal((await call(a, 'leave', { room })).error.code, 'not_in_room');
});

test('a late joiner gets the last 100 messages, oldest first, and paging goes further back', async () => {
  const room = 'history-1';
  const a = track(await user(srv.url, 'writer', room));
  const sent = [];
  for (let i = 0; i < 105; i++) {
    // Stay under the message rate limit by reading each ack before the next.
    let r = await call(a, 'message', { room, text: `m${i}` });
    while (!r.ok && r.error.code === 'rate_limited') {
      await new Promise((res) => setTimeout(res, 100));
      r = await call(a, 'message', { room, text: `m${i}` });
    }
    assert.equal(r.ok, true, JSON.stringify(r));
    sent.push(r.message);
  }
  const late = track(await user(srv.url, 'late', room));
  const h = late.joinReply.history;
  assert.equal(h.length, 100);
  assert.deepEqual(h.map((m) => m.text), sent.slice(5).map((m) => m.text));

  const page = await (await fetch(`${srv.url}/api/rooms/${room}/messages?before=${h[0].id}&limit=10`)).json();
  assert.deepEqual(page.messages.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4']);
  const rooms = await (await fetch(`${srv.url}/api/rooms`)).json();
  assert.deepEqual(rooms.rooms.find((r) => r.name === room), { name: room, members: 2 });
  const bad = await fetch(`${srv.url}/api/rooms/NO%20PE/messages`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 'room_invalid');
});

test('mousemove reaches the others with the name, is capped per second, and invalid ones are dropped', async () => {
  const room = 'cursors-1';
  const a = track(await user(srv.url, 'mover', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'watcher', room, { transports: ['websocket'] }));
  const seen = [];
  b.on('mousemove', (c) => seen.push(c));
  let self = 0;
  a.on('mousemove', () => self++);

  const first = next(b, 'mousemove');
  a.emit('mousemove', { room, x: 0.25, y: 0.75 });
  assert.deepEqual(await first, { id: a.me.id, name: 'mover', room, x: 0.25, y: 0.75 });

  for (const bad of [{ room, x: 2, y: 0 }, { room, x: -0.1, y: 0 }, { room, x: 'a', y: 0 }, { room: 'other', x: 0, y: 0 }, null]) {
    a.emit('mousemove', bad);
  }
  // A burst far above 30/s: most must be dropped, none queued.
  for (let i = 0; i < 200; i++) a.emit('mousemove', { room, x: i / 200, y: 0.5 });
  // Events of one socket are handled in order: once this message is relayed,
  // every mousemove before it has been relayed or dropped.
  const marker = next(b, 'message');
  await call(a, 'message', { room, text: 'done' });
  await marker;
  const relayed = seen.length - 1;
  assert.ok(relayed >= 1 && relayed <= 40, `relayed ${relayed} of a burst of 200`);
  assert.ok(seen.every((c) => c.x >= 0 && c.x <= 1 && c.room === room));
  assert.equal(self, 0);
});

// A cursor is a latest value, not a volatile one: a single move reaches a
// client that is between two polls (2.x and 4.x), where a volatile packet
// would be dropped.
test('a single mousemove reaches polling clients of both generations', async () => {
  const room = 'cursors-poll';
  const a = track(await user(srv.url, 'poller-mover', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'poll-watch-4', room, { transports: ['polling'] }));
  const c = track(await user(srv.url, 'poll-watch-2', room, { gen: 2, transports: ['polling'] }));
  const atB = next(b, 'mousemove');
  const atC = next(c, 'mousemove');
  a.emit('mousemove', { room, x: 0.5, y: 0.125 });
  const want = { id: a.me.id, name: 'poller-mover', room, x: 0.5, y: 0.125 };
  assert.deepEqual(await atB, want);
  assert.deepEqual(await atC, want);
});

// What a client sends right before disconnect() is still handled: the
// message is stored and relayed, then the user leaves.
test("a client's last message before disconnect() is delivered, then it leaves", async () => {
  for (const [gen, transports] of [[4, ['websocket']], [4, ['polling']], [2, ['polling']]]) {
    const room = `last-words-${gen}-${transports[0]}`;
    const a = track(await user(srv.url, `leaver${gen}${transports[0][0]}`, room, { gen, transports }));
    const b = track(await user(srv.url, `hearer${gen}${transports[0][0]}`, room));
    const said = next(b, 'message');
    const left = next(b, 'left');
    a.emit('message', { room, text: 'bye', clientId: 'last-1' });
    a.disconnect();
    const m = await said;
    assert.equal(m.text, 'bye', `${gen}/${transports[0]}`);
    assert.deepEqual((await left).user, a.me);
  }
});

test('a disconnect tells the rooms the user left', async () => {
  const room = 'drop-1';
  const a = track(await user(srv.url, 'dropper', room));
  const b = track(await user(srv.url, 'stayer', room));
  const left = next(b, 'left');
  a.close();
  assert.deepEqual(await left, { room, user: a.me });
});

test('unknown events and malformed payloads get clear errors', async () => {
  const a = track(await client(srv.url));
  const r = await call(a, 'no-such-event', {});
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'unknown_event');
  const bad = await call(a, 'register', 'not an object');
  assert.equal(bad.error.code, 'bad_request');
  const rtt = await call(a, 'rtt', {});
  assert.equal(rtt.ok, true);
  // The connection survives all of it.
  assert.equal((await call(a, 'register', { name: 'survivor' })).ok, true);
});
