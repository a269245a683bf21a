// Connection state recovery in the chat: a socket.io-client 4.8 user whose
// network drops for a moment comes back as the same user, in the same room,
// with the messages posted meanwhile, without registering or joining again;
// the others see them away and back, not leave and join. A TCP proxy on
// loopback plays the network: cutting it drops both ends at once.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { within } = require('../lib/wait');
const { call, next } = require('../lib/events');
const server = require('../lib/server');
const proxy = require('../lib/proxy');
const io4 = require('sio-client-4');

function connect(url, opts) {
  const s = io4(url + '/chat', { forceNew: true, ...opts });
  return within(new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  }), 'connect');
}

async function enter(s, name, room) {
  const r = await call(s, 'register', { name });
  assert.equal(r.ok, true, JSON.stringify(r));
  const j = await call(s, 'join', { room });
  assert.equal(j.ok, true, JSON.stringify(j));
  s.me = { id: r.id, name: r.name };
  return s;
}

// record keeps every event of the kinds given that s receives, in order.
function record(s, ...events) {
  const seen = [];
  for (const e of events) s.on(e, (ev) => seen.push({ event: e, ...ev }));
  return seen;
}

let srv;
const cleanups = [];
test.before(async () => {
  srv = await server.start();
});
test.after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  if (srv) await srv.stop();
});

for (const transport of ['websocket', 'polling']) {
  test(`a brief drop (${transport}) is recovered: same user and room, missed messages in order, away and back`, async () => {
    const room = `recover-${transport}`;
    // A polling client cut between two polls is noticed by the heartbeat
    // only; a short one keeps this test quick whenever the cut comes.
    let host = srv;
    if (transport === 'polling') {
      host = await server.start({ args: ['--ping-interval', '300ms', '--ping-timeout', '300ms'] });
      cleanups.push(() => host.stop());
    }
    const net = await proxy.start(host.port);
    cleanups.push(() => net.close());
    const a = await connect(net.url, { transports: [transport], reconnectionDelay: 50, reconnectionDelayMax: 50 });
    cleanups.push(() => a.close());
    await enter(a, `roamer-${transport}`, room);
    const b = await connect(host.url, { reconnection: false });
    cleanups.push(() => b.close());
    const bSaw = record(b, 'away', 'back', 'left', 'joined');
    await enter(b, `stayer-${transport}`, room);
    const aGot = record(a, 'message');
    const firstId = a.id;

    // The network goes away, and stays away until the server has noticed.
    net.hold();
    const dropped = next(a, 'disconnect');
    const away = next(b, 'away');
    net.cut();
    const reason = await dropped;
    // The cut, or (polling, with the 600 ms heartbeat above, on a loaded
    // machine) the client's own heartbeat noticing the silence first:
    // either way a network drop, which recovery covers.
    assert.match(reason, /^(transport (close|error)|ping timeout)$/);
    assert.deepEqual(await away, { room, user: a.me });

    const sent = [];
    for (const text of ['one', 'two', 'three']) {
      const r = await call(b, 'message', { room, text, clientId: `missed-${text}` });
      assert.equal(r.ok, true, JSON.stringify(r));
      sent.push(r.message);
    }

    const back = next(b, 'back');
    const reconnected = next(a, 'connect');
    net.release();
    await reconnected;
    assert.equal(a.recovered, true, 'socket.recovered');
    assert.equal(a.id, firstId, 'same socket id');
    assert.deepEqual(await back, { room, user: a.me });
    // The missed messages came with the recovery, before 'connect'.
    assert.deepEqual(aGot.map((m) => m.id), sent.map((m) => m.id));
    assert.deepEqual(aGot.map((m) => m.text), ['one', 'two', 'three']);

    // Still registered and in the room: it posts without register or join.
    const heard = next(b, 'message', (m) => m.text === 'still here');
    const r = await call(a, 'message', { room, text: 'still here', clientId: 'after-1' });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual((await heard).from, a.me);
    const members = (await call(b, 'join', { room })).members.map((m) => m.name);
    assert.ok(members.includes(a.me.name), `${a.me.name} in ${members}`);

    assert.deepEqual(
      bSaw.filter((e) => e.user.id === a.me.id).map((e) => e.event),
      ['away', 'back'],
      'the others see the user away and back, never leave and join',
    );
  });
}

test('a message whose ack was lost with the connection is stored once when sent again', async () => {
  const room = 'recover-resend';
  const net = await proxy.start(srv.port);
  cleanups.push(() => net.close());
  const a = await connect(net.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 50 });
  cleanups.push(() => a.close());
  await enter(a, 'resender', room);
  const first = await call(a, 'message', { room, text: 'only once', clientId: 'once-1' });
  assert.equal(first.ok, true);

  net.hold();
  const dropped = next(a, 'disconnect');
  net.cut();
  await dropped;
  const reconnected = next(a, 'connect');
  net.release();
  await reconnected;
  assert.equal(a.recovered, true);

  const again = await call(a, 'message', { room, text: 'only once', clientId: 'once-1' });
  assert.equal(again.ok, true);
  assert.deepEqual(again.message, first.message, 'the stored copy, not a second message');
  const history = (await (await fetch(`${srv.url}/api/rooms/${room}/messages`)).json());
  const list = Array.isArray(history) ? history : history.messages;
  assert.equal(list.filter((m) => m.clientId === 'once-1').length, 1, JSON.stringify(list));
});

test('a user who cannot recover takes the name back at once; the old self leaves', async () => {
  const room = 'recover-not';
  const net = await proxy.start(srv.port);
  cleanups.push(() => net.close());
  const old = await connect(net.url, { transports: ['websocket'], reconnection: false });
  cleanups.push(() => old.close());
  await enter(old, 'phoenix', room);
  const b = await connect(srv.url, { reconnection: false });
  cleanups.push(() => b.close());
  await enter(b, 'witness', room);

  const away = next(b, 'away');
  net.cut();
  await away;

  // A new page (no recovery state) registers the same name.
  const left = next(b, 'left', (ev) => ev.user.id === old.me.id);
  const fresh = await connect(srv.url, { reconnection: false });
  cleanups.push(() => fresh.close());
  const joined = next(b, 'joined');
  await enter(fresh, 'phoenix', room);
  assert.deepEqual(await left, { room, user: old.me }, 'the old self leaves');
  assert.equal((await joined).user.id, fresh.me.id, 'the new self joins');
});

test('a user who does not come back within the window leaves', async () => {
  const short = await server.start({ args: ['--recovery-window', '1s'] });
  cleanups.push(() => short.stop());
  const room = 'recover-late';
  const net = await proxy.start(short.port);
  cleanups.push(() => net.close());
  const gone = await connect(net.url, { transports: ['websocket'], reconnection: false });
  cleanups.push(() => gone.close());
  await enter(gone, 'wanderer', room);
  const b = await connect(short.url, { reconnection: false });
  cleanups.push(() => b.close());
  await enter(b, 'waiter', room);

  const away = next(b, 'away');
  const left = next(b, 'left', () => true, 5000);
  const t0 = Date.now();
  net.cut();
  await away;
  assert.deepEqual(await left, { room, user: gone.me });
  const waited = Date.now() - t0;
  assert.ok(waited >= 1000, `left after ${waited} ms, before the 1 s window`);
  // The name is free again.
  const again = await connect(short.url, { reconnection: false });
  cleanups.push(() => again.close());
  await enter(again, 'wanderer', room);
});
