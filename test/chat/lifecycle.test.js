// Process lifecycle with real clients: history survives a restart, and a
// graceful shutdown makes every client generation reconnect by itself.
'use strict';
const { within } = require('../lib/wait');
const test = require('node:test');
const assert = require('node:assert/strict');
const server = require('../lib/server');
const clients = { 2: require('sio-client-2'), 4: require('sio-client-4') };


function connect(url, gen, transports) {
  const s = clients[gen](url + '/chat', { forceNew: true, transports, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  return within(new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  }), `connect ${gen}/${transports}`);
}

const call = (s, ev, p) => within(new Promise((res) => s.emit(ev, p, res)), `ack of ${ev}`);

test('history survives a restart', async () => {
  let srv = await server.start();
  const dataDir = srv.dataDir;
  const port = srv.port;
  const a = await connect(srv.url, 4, ['websocket']);
  await call(a, 'register', { name: 'keeper' });
  await call(a, 'join', { room: 'persist' });
  const m = await call(a, 'message', { room: 'persist', text: 'still here?' });
  assert.equal(m.ok, true);
  a.close();
  assert.deepEqual(await srv.stop({ keepData: true }), { code: 0, signal: null });

  srv = await server.start({ dataDir, port });
  try {
    const b = await connect(srv.url, 4, ['websocket']);
    await call(b, 'register', { name: 'reader' });
    const j = await call(b, 'join', { room: 'persist' });
    assert.deepEqual(j.history.map((x) => [x.id, x.text]), [[m.message.id, 'still here?']]);
    b.close();
  } finally {
    await srv.stop();
  }
});

test('graceful shutdown: clients see "transport close" and reconnect to the restarted server', async () => {
  let srv = await server.start();
  const { port, dataDir } = srv;
  const modes = [];
  for (const gen of [2, 4]) for (const t of [['websocket'], ['polling']]) modes.push([gen, t]);
  const socks = await Promise.all(modes.map(([gen, t]) => connect(srv.url, gen, t)));
  const reasons = socks.map((s) => within(new Promise((res) => s.once('disconnect', res)), 'disconnect'));

  const started = Date.now();
  const exit = await srv.stop({ keepData: true });
  assert.deepEqual(exit, { code: 0, signal: null }, srv.output());
  assert.ok(Date.now() - started < 10000, 'shutdown took too long');
  const got = await Promise.all(reasons);
  // WebSocket clients get a close frame. A polling client gets the close
  // packet in its pending GET, unless a POST of its own was in flight, which
  // is cut ("transport error"); socket.io.js reconnects after either, while
  // "io server disconnect" would stop it.
  modes.forEach(([gen, t], i) => {
    const ok = t[0] === 'websocket' ? ['transport close'] : ['transport close', 'transport error'];
    assert.ok(ok.includes(got[i]), `client ${gen} over ${t}: ${got[i]}`);
  });
  assert.match(srv.output(), /shutdown complete/);

  // They come back by themselves once the server is up again.
  const back = socks.map((s) => within(new Promise((res) => s.once('connect', res)), 'reconnect', 10000));
  srv = await server.start({ port, dataDir });
  try {
    await Promise.all(back);
    for (const s of socks) assert.equal((await call(s, 'rtt', {})).ok, true);
  } finally {
    socks.forEach((s) => s.close());
    await srv.stop();
  }
});
